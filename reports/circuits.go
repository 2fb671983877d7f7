package reports

import (
	"fmt"

	"github.com/relaybench/relaybench/measure"
)

// circuitSuccessCell is a step's circuit success rate for steps.csv (a
// fraction), empty when no circuit was attempted.
func circuitSuccessCell(s measure.StepResult, num func(float64) string) string {
	if s.CircuitSuccess == nil {
		return ""
	}
	return num(*s.CircuitSuccess)
}

// circuitSuccessText is "built/attempted (rate %)", "-" without attempts.
func circuitSuccessText(s measure.StepResult) string {
	if s.CircuitSuccess == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", s.CircuitsBuilt, s.CircuitsBuilt+s.CircuitsFailed, *s.CircuitSuccess*100)
}

// hasCircuitSuccess reports whether any step saw a circuit attempted:
// the terminal table shows the column only then.
func hasCircuitSuccess(a *measure.Analysis) bool {
	for _, s := range a.Steps {
		if s.CircuitSuccess != nil {
			return true
		}
	}
	return false
}
