package reports

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckRegressions: a slower run's goodput drops are regressions named
// after both runs; a lower bound's capacity drop and a comparison with
// too few repetitions are said, not counted.
func TestCheckRegressions(t *testing.T) {
	slower := compareRuns(t, "rate4mb-a", "rate1mb-a", torrcBW4, torrcBW1)
	tooFew := compareRuns(t, "bw4", "rate1mb-a", torrcBW4, torrcBW1)
	rc := CheckRegressions([]*Comparison{slower, tooFew}, 10)
	if len(rc.Regressions) != len(slower.Regressions(10)) || len(rc.Regressions) < 4 {
		t.Fatalf("regressions %q, want the slower run's %d", rc.Regressions, len(slower.Regressions(10)))
	}
	for _, r := range rc.Regressions {
		if !strings.HasPrefix(r, "rate1mb-a vs rate4mb-a: ") {
			t.Errorf("regression %q does not name the runs, other first", r)
		}
	}
	if len(rc.Untested) != 1 || rc.Untested[0] != tooFew.TooFewText() {
		t.Errorf("untested %q, want the too-few comparison's note", rc.Untested)
	}
	if len(rc.Ungated) == 0 || rc.Ungated[0] != slower.LowerBoundText() {
		t.Errorf("ungated %q, want the lower bound's note first", rc.Ungated)
	}

	var text, md bytes.Buffer
	rc.Render(&text, false)
	rc.Render(&md, true)
	for _, want := range []string{"\nregressions beyond 10%:\n", "  - " + rc.Regressions[0] + "\n", "not tested (too few repetitions; not counted as regressions):\n  - "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"\n### regressions beyond 10%\n\n", "- " + rc.Regressions[0] + "\n", "\ncapacities not gated (a lower bound"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}

	var none bytes.Buffer
	RegressionCheck{Pct: 5}.Render(&none, false)
	if got := none.String(); got != "\nregressions beyond 5%:\n  none\n" {
		t.Errorf("no regression renders %q", got)
	}
}

// TestUnjudgedCheckRendersOnlyWhy: a check with unjudged runs says it was
// not judged and why, and nothing of its regressions (they would read as a
// verdict it did not reach).
func TestUnjudgedCheckRendersOnlyWhy(t *testing.T) {
	rc := RegressionCheck{Pct: 10, Regressions: []string{"b vs a: goodput -30%"}, Unjudged: []string{"runs/b: it carried no byte"}}
	for _, markdown := range []bool{false, true} {
		var b bytes.Buffer
		rc.Render(&b, markdown)
		if got, want := b.String(), "\nregressions beyond 10%: NOT JUDGED (fail closed)\n  - runs/b: it carried no byte\n"; got != want {
			t.Errorf("markdown %v: %q, want %q", markdown, got, want)
		}
	}
}
