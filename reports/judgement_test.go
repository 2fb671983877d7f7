package reports

import (
	"errors"
	"fmt"
	"testing"
)

// TestRegressionCheckErr: unjudged runs fail closed whatever the
// regressions say; regressions fail; the rest passes.
func TestRegressionCheckErr(t *testing.T) {
	for _, tc := range []struct {
		rc   RegressionCheck
		want Judgement
		says string
	}{
		{RegressionCheck{Pct: 10, Untested: []string{"too few"}, Ungated: []string{"lower bound"}}, Passed, ""},
		{RegressionCheck{Pct: 10, Regressions: []string{"a", "b"}}, Failed, "compare: 2 significant regression(s) beyond 10%"},
		{RegressionCheck{Pct: 2.5, Regressions: []string{"a"}, Unjudged: []string{"b: it carried no byte", "c: damaged"}}, NotJudged,
			"compare: 2 run(s) cannot be judged for regressions: b: it carried no byte; c: damaged"},
	} {
		err := tc.rc.Err()
		if got := JudgementOf(err); got != tc.want || tc.says == "" && err != nil || tc.says != "" && (err == nil || err.Error() != tc.says) {
			t.Errorf("%+v: judgement %d, %v; want %d, %q", tc.rc, got, err, tc.want, tc.says)
		}
	}
}

// TestJudgementOf finds a judgement however deep it is wrapped, and none
// in an error that is no check's.
func TestJudgementOf(t *testing.T) {
	wrapped := fmt.Errorf("analyze: %w", Judged(NotJudged, errors.New("damaged")))
	if got := JudgementOf(wrapped); got != NotJudged || wrapped.Error() != "analyze: damaged" {
		t.Errorf("wrapped: %d, %q", got, wrapped)
	}
	if got := JudgementOf(errors.New("tor did not start")); got != Passed {
		t.Errorf("an error that is no check's: %d, want Passed", got)
	}
	if got := JudgementOf(nil); got != Passed {
		t.Errorf("nil: %d", got)
	}
}
