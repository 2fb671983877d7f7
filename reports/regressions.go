package reports

import (
	"fmt"
	"io"
)

// RegressionCheck is compare --fail-on-regression's judgment of
// comparisons of runs with their baseline; each entry names the runs.
type RegressionCheck struct {
	// Pct is the threshold: a significant change worse than Pct percent
	// is a regression.
	Pct float64
	// Regressions are the significant changes worse than Pct.
	Regressions []string
	// Untested say which metrics had too few repetitions to be tested:
	// that is not damage and not a regression, so the check passes on
	// what it could test and says what it could not.
	Untested []string
	// Ungated say which capacities were lower bounds: a lower bound's
	// drop may be another limit's, so it is not a regression either.
	Ungated []string
	// Unjudged say which runs cannot be judged at all (damaged, cut
	// short, empty): then the check fails closed, whatever the
	// regressions say.
	Unjudged []string
}

// CheckRegressions judges comps against a threshold of pct percent
// (Comparison.Regressions).
func CheckRegressions(comps []*Comparison, pct float64) RegressionCheck {
	rc := RegressionCheck{Pct: pct}
	for _, c := range comps {
		for _, r := range c.Regressions(pct) {
			rc.Regressions = append(rc.Regressions, fmt.Sprintf("%s vs %s: %s", c.B.Name, c.A.Name, r.Message))
		}
		if note := c.TooFewText(); note != "" {
			rc.Untested = append(rc.Untested, note)
		}
		if note := c.LowerBoundText(); note != "" {
			rc.Ungated = append(rc.Ungated, note)
		}
	}
	return rc
}

// Render writes the check as a list, in Markdown or as text: the
// regressions ("none" when there is none), then what was not tested and
// what was not gated; or, when runs are unjudged, only that the check was
// not judged and why.
func (rc RegressionCheck) Render(w io.Writer, markdown bool) {
	title := fmt.Sprintf("regressions beyond %g%%", rc.Pct)
	if len(rc.Unjudged) > 0 {
		fmt.Fprintf(w, "\n%s: NOT JUDGED (fail closed)\n", title)
		for _, why := range rc.Unjudged {
			fmt.Fprintf(w, "  - %s\n", why)
		}
		return
	}
	if markdown {
		fmt.Fprintf(w, "\n### %s\n\n", title)
	} else {
		fmt.Fprintf(w, "\n%s:\n", title)
	}
	list := func(items []string) {
		for _, it := range items {
			if markdown {
				fmt.Fprintf(w, "- %s\n", it)
			} else {
				fmt.Fprintf(w, "  - %s\n", it)
			}
		}
	}
	if len(rc.Regressions) == 0 {
		fmt.Fprintln(w, "  none")
	}
	list(rc.Regressions)
	for _, notes := range []struct {
		head  string
		items []string
	}{
		{"not tested (too few repetitions; not counted as regressions):", rc.Untested},
		{"capacities not gated (a lower bound is not the relay's capacity; not counted as regressions):", rc.Ungated},
	} {
		if len(notes.items) == 0 {
			continue
		}
		if markdown {
			fmt.Fprintf(w, "\n%s\n\n", notes.head)
		} else {
			fmt.Fprintln(w, notes.head)
		}
		list(notes.items)
	}
}
