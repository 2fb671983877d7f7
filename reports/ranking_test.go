package reports

import (
	"bytes"
	"strings"
	"testing"
)

// TestRankTestsRepetitions: variants rank by capacity; each is compared
// with the best over its repetitions' capacities, and a variant with too
// few repetitions says so instead of a p-value.
func TestRankTestsRepetitions(t *testing.T) {
	fast := synthetic(map[int][2][]float64{1: {series(6, 3e6, 1e4), series(6, 0.1, 0)}})
	slow := synthetic(map[int][2][]float64{1: {series(6, 1e6, 1e4), series(6, 0.1, 0)}})
	few := synthetic(map[int][2][]float64{1: {series(2, 2e6, 1e4), series(2, 0.1, 0)}})
	r := Rank([]NamedAnalysis{{Name: "slow", Analysis: slow}, {Name: "fast", Analysis: fast}, {Name: "few", Analysis: few}})
	var order []string
	for _, e := range r.Entries {
		order = append(order, e.Variant)
	}
	if strings.Join(order, " ") != "fast few slow" {
		t.Fatalf("ranking %v, want fast few slow", order)
	}
	if v := r.Entries[2].VsBest; v == nil || v.Verdict != OutcomeWorse || !v.Tested || v.A.N != 6 || v.B.N != 6 {
		t.Errorf("slow vs fast: %+v, want tested and worse over 6 repetitions", v)
	}
	if v := r.Entries[1].VsBest; v == nil || v.Verdict != OutcomeTooFew || v.Tested {
		t.Errorf("few vs fast: %+v, want too few to test", v)
	}
	var b bytes.Buffer
	if err := r.Text(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"too few repetitions to test", "p=0.002 n=6", "(n = repetitions)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("ranking text lacks %q:\n%s", want, b.String())
		}
	}
}
