package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/stopsignal"
)

// Judge says what came of a run of scenario name as the one error its
// command exits with, given what Run returned and err, Run's error or else
// that of reporting the run:
//   - err itself, when the run or its report failed;
//   - a reports.Failed judgement when a variant failed a threshold or one of
//     the scenario's thresholds failed, a reports.NotJudged one when its
//     thresholds could not be judged (nothing recorded, say);
//   - nil when every threshold passed, or there are none.
//
// Whatever it was, a run stopped by a signal (ctx is stopsignal.Context's)
// is a *stopsignal.Interrupted once it failed in any way, and a run
// canceled otherwise says it stopped early; both say where what was
// measured is.
func Judge(ctx context.Context, name string, res *Result, err error) error {
	if res != nil && err == nil {
		err = judgeThresholds(name, res)
	}
	if sig, ok := stopsignal.Of(ctx); ok && err != nil {
		where := ""
		if res != nil {
			where = fmt.Sprintf("; every request measured so far is in %s", res.Dir)
		}
		return &stopsignal.Interrupted{Signal: sig, Err: fmt.Errorf("interrupted by %s: the run stopped early%s", stopsignal.Name(sig), where)}
	}
	if res != nil && errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: the run stopped early; every request measured so far is in %s", res.Dir)
	}
	return err
}

// judgeThresholds judges the thresholds of a run that did not fail: its
// variants' first, then its own.
func judgeThresholds(name string, res *Result) error {
	if r := res.Ranking; r != nil {
		for _, e := range r.Entries {
			if len(e.Failed) > 0 {
				return reports.Judged(reports.Failed, fmt.Errorf("variant %s failed thresholds: %s", e.Variant, strings.Join(e.Failed, ", ")))
			}
		}
	}
	a := res.Analysis
	switch {
	case a == nil || len(a.Gates) == 0:
		return nil
	case len(a.Unjudged()) > 0:
		return reports.Judged(reports.NotJudged, fmt.Errorf("the thresholds of scenario %s were not judged: %s", name, strings.Join(a.Unjudged(), "; ")))
	case len(a.Failed()) > 0:
		return reports.Judged(reports.Failed, fmt.Errorf("%d threshold(s) of scenario %s failed (see the FAIL lines above)", len(a.Failed()), name))
	}
	return nil
}
