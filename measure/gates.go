package measure

import (
	"cmp"
	"fmt"
	"time"

	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// Gate is the outcome of one `thresholds:` entry of the scenario: the CI
// gate a run passes or fails.
type Gate struct {
	// Name is the scenario key: min_capacity, max_p95_ttfb,
	// max_error_rate or no_overload_before_step.
	Name string `json:"name"`
	// Limit and Value are the threshold and the measured value, as text
	// in the unit of the threshold.
	Limit string `json:"limit"`
	Value string `json:"value"`
	// Passed is false when the run missed the threshold.
	Passed bool `json:"passed"`
	// Detail says what was measured where, for the failure message.
	Detail string `json:"detail"`
}

// Failed returns the gates a did not pass.
func (a *Analysis) Failed() []Gate {
	var out []Gate
	for _, g := range a.Gates {
		if !g.Passed {
			out = append(out, g)
		}
	}
	return out
}

// gates evaluates th on a. What each threshold measures:
//   - min_capacity: the capacity's mean goodput (see Capacity); its
//     Detail says when that is a lower bound and whose limit it is;
//   - max_p95_ttfb: the p95 time to first byte on the attached stream
//     (StepResult.TTFB) at every step up to and including the capacity
//     step, the load the relay is said to carry (steps beyond it are
//     overloaded by design);
//   - max_error_rate: failed requests over all requests of the run (cut
//     requests excluded);
//   - no_overload_before_step N: no onset at a step before the 1-based
//     step N.
func gates(a *Analysis, th scenarios.Thresholds) []Gate {
	var out []Gate
	if th.MinCapacity != nil {
		limit := float64(*th.MinCapacity)
		g := Gate{Name: "min_capacity", Limit: th.MinCapacity.String()}
		if c := a.Capacity; c != nil {
			g.Value = units.MiBps(c.Goodput.Mean)
			g.Passed = c.Goodput.Mean >= limit
			g.Detail = fmt.Sprintf("capacity %s at step %d (%d %s)", g.Value, c.Step+1, c.Load, a.LoadUnit)
			if c.LowerBound {
				// Passing on a lower bound is sound (the relay carries at
				// least that); failing on one says only that the limit
				// hit first was someone else's.
				g.Detail += fmt.Sprintf(", a lower bound (%s): not the relay's own capacity", c.Bound())
			}
		} else {
			g.Value = "none"
			g.Detail = cmp.Or(a.NoCapacity, "no step carried any bytes")
		}
		out = append(out, g)
	}
	if th.MaxP95TTFB != nil {
		limit := th.MaxP95TTFB.Std().Seconds()
		g := Gate{Name: "max_p95_ttfb", Limit: th.MaxP95TTFB.String(), Passed: true}
		last := len(a.Steps) - 1
		if a.Capacity != nil {
			last = a.Capacity.Step
		}
		worst, at := -1.0, -1
		for _, s := range a.Steps {
			if s.Step > last || s.TTFB.N == 0 {
				continue
			}
			if s.TTFB.P95 > worst {
				worst, at = s.TTFB.P95, s.Step
			}
		}
		if at < 0 {
			g.Value, g.Passed, g.Detail = "none", false, "no request received a first byte"
		} else {
			g.Value = durationText(worst)
			g.Passed = worst <= limit
			g.Detail = fmt.Sprintf("highest p95 time to first byte up to the capacity step: %s at step %d", g.Value, at+1)
		}
		out = append(out, g)
	}
	if th.MaxErrorRate != nil {
		ok, failed := 0, 0
		for _, s := range a.Steps {
			f := s.Requests - s.OK - s.Cut
			ok += s.OK
			failed += f
		}
		rate := 0.0
		if ok+failed > 0 {
			rate = float64(failed) / float64(ok+failed)
		}
		out = append(out, Gate{
			Name: "max_error_rate", Limit: fmt.Sprintf("%.2f%%", *th.MaxErrorRate*100), Value: fmt.Sprintf("%.2f%%", rate*100),
			Passed: rate <= *th.MaxErrorRate,
			Detail: fmt.Sprintf("%d of %d requests failed over the run", failed, ok+failed),
		})
	}
	if th.NoOverloadBeforeStep != nil {
		n := *th.NoOverloadBeforeStep
		g := Gate{Name: "no_overload_before_step", Limit: fmt.Sprintf("step %d", n), Passed: true, Value: "no onset", Detail: "no overload signal fired"}
		if o := a.Onset; o != nil {
			g.Value = fmt.Sprintf("step %d", o.Step+1)
			g.Passed = o.Step+1 >= n
			g.Detail = fmt.Sprintf("overload onset at step %d (%d %s), cause %s", o.Step+1, o.Load, a.LoadUnit, o.Cause)
		}
		out = append(out, g)
	}
	return out
}

func durationText(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(time.Millisecond).String()
}
