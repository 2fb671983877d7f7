package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
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

// TestRankMarksLowerBoundsAndWhoseLimit: a variant whose capacity is a
// machine-bound lower bound still ranks by it, marked "≥" with its limit;
// a relay-bound one says so.
func TestRankMarksLowerBoundsAndWhoseLimit(t *testing.T) {
	relay := synthetic(map[int][2][]float64{1: {series(6, 2e6, 1e4), series(6, 0.1, 0)}})
	relay.Capacity.Attribution = measure.AttributionRelay
	machine := synthetic(map[int][2][]float64{1: {series(6, 3e6, 1e4), series(6, 0.1, 0)}})
	machine.Capacity.LowerBound, machine.Capacity.Attribution = true, measure.AttributionMachine
	r := Rank([]NamedAnalysis{{Name: "quota", Analysis: relay}, {Name: "free", Analysis: machine}})
	var b bytes.Buffer
	if err := r.Text(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	row := func(variant string) string {
		for _, l := range lines {
			if strings.Contains(l, " "+variant+" ") {
				return l
			}
		}
		return ""
	}
	if free := row("free"); !strings.Contains(free, "≥ 2.88 ± 0.02") || !strings.Contains(free, "machine-bound") {
		t.Errorf("free's row %q: want its capacity marked ≥ and machine-bound", free)
	}
	if quota := row("quota"); !strings.Contains(quota, "relay-bound") || strings.Contains(quota, "≥") {
		t.Errorf("quota's row %q: want relay-bound, not a lower bound", quota)
	}
}

// TestRunOutcomeOfVariants: a run with variants ends with its ranking,
// pointing at the variants' reports, then where its results are; it has
// no analysis of its own to show.
func TestRunOutcomeOfVariants(t *testing.T) {
	a := synthetic(map[int][2][]float64{1: {series(6, 2e6, 1e4), series(6, 0.1, 0)}})
	r := Rank([]NamedAnalysis{{Name: "only", Analysis: a}})
	var ranking, b bytes.Buffer
	if err := r.Text(&ranking); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := RunOutcome(&b, dir, r, nil); err != nil {
		t.Fatal(err)
	}
	want := "\nvariants ranked by capacity (each variant's report is in " + dir + "/variants/<name>/):\n" +
		ranking.String() + "\nnothing was measured; the run directory is " + dir + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
