package measure

import (
	"fmt"

	"github.com/relaybench/relaybench/runner/rundir"
)

// circuitSuccess counts the circuits the pool's clients built and failed
// to build within the steps' windows (repetitions pooled), and returns
// built / (built + failed), nil without any attempt. The whole step counts,
// warm-up included: a step's new streams need their circuits built as it
// begins, which is when building is hardest. A failure counts in the step
// where it ended, as requests do.
func circuitSuccess(circs []rundir.CircuitRecord, windows []rundir.StepSummary) (built, failed int, rate *float64) {
	for _, c := range circs {
		if c.Event != rundir.CircuitBuilt && c.Event != rundir.CircuitFailed {
			continue
		}
		for _, w := range windows {
			if !c.Time.Before(w.Start) && c.Time.Before(w.End) {
				if c.Event == rundir.CircuitBuilt {
					built++
				} else {
					failed++
				}
				break
			}
		}
	}
	if built+failed > 0 {
		r := float64(built) / float64(built+failed)
		rate = &r
	}
	return built, failed, rate
}

// circuitGate is thresholds.min_circuit_success: the circuits built over
// those attempted in all steps of the run, pooled like max_error_rate. A
// run without circuit events fails it: nothing showed the circuits being
// built (scenario validation keeps the gate off socks targets, whose
// circuits relaybench cannot see).
func circuitGate(a *Analysis, limit float64) Gate {
	g := Gate{Name: "min_circuit_success", Limit: fmt.Sprintf("%.1f%%", limit*100)}
	built, failed, worst, worstStep := 0, 0, 2.0, -1
	for _, s := range a.Steps {
		built += s.CircuitsBuilt
		failed += s.CircuitsFailed
		if s.CircuitSuccess != nil && *s.CircuitSuccess < worst {
			worst, worstStep = *s.CircuitSuccess, s.Step
		}
	}
	if built+failed == 0 {
		g.Value, g.Detail = "none", "no circuit was built or failed during the steps: no circuit events from the clients' control ports"
		return g
	}
	rate := float64(built) / float64(built+failed)
	g.Value = fmt.Sprintf("%.1f%%", rate*100)
	g.Passed = rate >= limit
	g.Detail = fmt.Sprintf("%d of %d circuits built over the run; lowest at step %d: %.1f%%", built, built+failed, worstStep+1, worst*100)
	return g
}
