package rundir

import "time"

// Counts are a step's requests counted by the rule StepSummary states:
// each request counts in the window where it ended, wherever it started,
// so a stream that fails after the warm-up is a failure of the step even
// if it started in the warm-up. The runner counts as requests end
// (StepSummary) and the analysis counts again from requests.jsonl, both
// with Count.
type Counts struct {
	// Requests ended after the warm-up: OK + Cut + the sum of Errors.
	Requests int
	// Warmup ended within the warm-up.
	Warmup int
	// OK succeeded, Cut were cut by the step's end (not failures).
	OK, Cut int
	// Errors counts failed requests by class; nil when none failed.
	Errors map[string]int
}

// Counted is where Count counted a request.
type Counted int

// Where a request counts.
const (
	CountedWarmup Counted = iota
	CountedOK
	CountedCut
	CountedFailed
)

// Count counts rec, a request of a step whose warm-up ended at warmEnd,
// and says where. A request the run's stop canceled (ClassCanceled) is
// not the step's: callers count it apart and do not pass it.
func (c *Counts) Count(rec *Record, warmEnd time.Time) Counted {
	if rec.End().Before(warmEnd) {
		c.Warmup++
		return CountedWarmup
	}
	c.Requests++
	switch rec.Error {
	case "":
		c.OK++
		return CountedOK
	case ClassStepEnd:
		c.Cut++
		return CountedCut
	}
	if c.Errors == nil {
		c.Errors = map[string]int{}
	}
	c.Errors[rec.Error]++
	return CountedFailed
}
