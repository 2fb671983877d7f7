package reports

import (
	"errors"
	"fmt"
	"strings"
)

// Judgement is what a check concluded: the thresholds of a run or of its
// variants, or compare's regression check. The command turns it into its
// exit code, and nothing else decides it there.
type Judgement int

const (
	// Passed: the check ran on intact input and passed.
	Passed Judgement = iota
	// Failed: the check ran on intact input and failed (exit 1); the
	// measurement itself succeeded.
	Failed
	// NotJudged: the input is damaged, missing or cut short, so the check
	// could not be judged (exit 4). It fails closed: never a pass.
	NotJudged
)

// JudgementError is the error of a check that did not pass: Judgement is
// Failed or NotJudged, and Err says which check and why.
type JudgementError struct {
	Judgement Judgement
	Err       error
}

func (e *JudgementError) Error() string { return e.Err.Error() }
func (e *JudgementError) Unwrap() error { return e.Err }

// Judged is err as the error of a check that concluded j.
func Judged(j Judgement, err error) error { return &JudgementError{Judgement: j, Err: err} }

// JudgementOf is the judgement err carries, wrapped or not: Passed for nil
// and for an error that is no check's (a run that failed, say), since no
// check concluded anything; the caller tells those apart by err.
func JudgementOf(err error) Judgement {
	var je *JudgementError
	if errors.As(err, &je) {
		return je.Judgement
	}
	return Passed
}

// Err is the judgement of the check as an error: nil when it passes, a
// NotJudged one when some run cannot be judged (fail closed, whatever the
// regressions say), a Failed one when there are regressions.
func (rc RegressionCheck) Err() error {
	switch {
	case len(rc.Unjudged) > 0:
		return Judged(NotJudged, fmt.Errorf("compare: %d run(s) cannot be judged for regressions: %s", len(rc.Unjudged), strings.Join(rc.Unjudged, "; ")))
	case len(rc.Regressions) > 0:
		return Judged(Failed, fmt.Errorf("compare: %d significant regression(s) beyond %g%%", len(rc.Regressions), rc.Pct))
	}
	return nil
}
