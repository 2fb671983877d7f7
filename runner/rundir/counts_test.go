package rundir

import (
	"maps"
	"testing"
	"time"
)

// TestCountsByWhereRequestsEnded: a request counts in the window where it
// ended: one that started in the warm-up and failed after it is a failure;
// one that ended in the warm-up counts only as warm-up.
func TestCountsByWhereRequestsEnded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	warmEnd := t0.Add(2 * time.Second)
	end := func(start, d time.Duration) *Record {
		return &Record{Start: t0.Add(start), TTLBNS: int64(d)}
	}
	var c Counts
	for _, tc := range []struct {
		rec  *Record
		errs string
		want Counted
	}{
		{end(0, time.Second), "", CountedWarmup},                     // ended in the warm-up
		{end(0, time.Second), ClassTimeout, CountedWarmup},           // failed in the warm-up
		{end(time.Second, 3*time.Second), ClassStall, CountedFailed}, // started in, failed after it
		{end(3*time.Second, time.Second), "", CountedOK},             // after it
		{end(3*time.Second, time.Second), ClassStepEnd, CountedCut},  // cut by the step's end
		{end(3*time.Second, time.Second), "socks-ttl-expired", CountedFailed},
	} {
		tc.rec.Error = tc.errs
		if got := c.Count(tc.rec, warmEnd); got != tc.want {
			t.Errorf("%+v: counted %d, want %d", tc.rec, got, tc.want)
		}
	}
	want := Counts{Requests: 4, Warmup: 2, OK: 1, Cut: 1, Errors: map[string]int{ClassStall: 1, "socks-ttl-expired": 1}}
	if c.Requests != want.Requests || c.Warmup != want.Warmup || c.OK != want.OK || c.Cut != want.Cut || !maps.Equal(c.Errors, want.Errors) {
		t.Errorf("counts %+v, want %+v", c, want)
	}
}

// TestStepKeyOrder: keys sort as the ramp runs: repetition, then step.
func TestStepKeyOrder(t *testing.T) {
	rec := Record{StepKey: StepKey{Repetition: 1, Step: 0}}
	sum := StepSummary{StepKey: StepKey{Repetition: 0, Step: 3}}
	if rec.StepKey.Compare(sum.StepKey) <= 0 || sum.StepKey.Compare(rec.StepKey) >= 0 || rec.StepKey.Compare(StepKey{1, 0}) != 0 {
		t.Errorf("%v vs %v: repetition 1 step 0 must come after repetition 0 step 3", rec.StepKey, sum.StepKey)
	}
}
