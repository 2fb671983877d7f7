package segment

import (
	"strings"
	"testing"
)

// The shares of every step add up to its load for every N, differ by at
// most one, the larger ones go to the first workers, and FirstWorker
// numbers the workers without gap or overlap.
func TestSharesSplitExactly(t *testing.T) {
	for n := 1; n <= 9; n++ {
		for load := 0; load <= 40; load++ {
			sum, lo, hi := 0, load, 0
			for i := range n {
				s := Segment{Index: i, Count: n}
				share := s.Share(load)
				if got := s.FirstWorker(load); got != sum {
					t.Fatalf("%s of %d: first worker %d, want %d", s, load, got, sum)
				}
				sum += share
				lo, hi = min(lo, share), max(hi, share)
				if i > 0 && share > (Segment{Index: i - 1, Count: n}).Share(load) {
					t.Fatalf("%s of %d: share %d larger than the previous worker's", s, load, share)
				}
			}
			if sum != load || hi-lo > 1 {
				t.Fatalf("N=%d load %d: shares add to %d, spread %d..%d", n, load, sum, lo, hi)
			}
		}
	}
	// By hand: 8 streams over 3 workers are 3, 3, 2.
	if got := (Segment{2, 3}).Shares([]int{1, 2, 8}); got[0] != 0 || got[1] != 0 || got[2] != 2 {
		t.Errorf("2/3 of [1 2 8] = %v, want [0 0 2]", got)
	}
}

func TestParse(t *testing.T) {
	if s, err := Parse("2/3"); err != nil || s != (Segment{2, 3}) {
		t.Errorf("Parse(2/3) = %v, %v", s, err)
	}
	for in, want := range map[string]string{
		"3/3":    "the index must be 0 to 2",
		"-1/3":   "the index must be 0 to 2",
		"0/0":    "must be 1 to 1000",
		"0/1001": "must be 1 to 1000",
		"1":      "is not i/N",
		"a/3":    `the index "a" is not a whole number`,
		"1/b":    `the count "b" is not a whole number`,
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}
