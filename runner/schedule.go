package runner

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// WithStartAt puts the run's steps on the wall clock, so that workers on
// several machines (`relaybench run --segment i/N --start-at T`) load the
// relay together: Run waits until at before the first step (after the
// SocksPort check), and step i ends at at + (i+1)·step_duration instead
// of step_duration after it began. A step that begins late (the previous
// one took a few milliseconds to drain, or the worker reached at after
// it passed) is that much shorter, so the lateness never adds up over
// the ramp. A step whose scheduled end has passed before it begins is
// idled through with no time at all. The zero time switches this off.
func WithStartAt(at time.Time) Option { return func(c *config) { c.startAt = at } }

// waitForStart blocks until the WithStartAt time, or returns why the run
// stopped waiting: ctx canceled, or Abort.
func (e *Engine) waitForStart(ctx context.Context) (stoppedBy string, err error) {
	wait := time.Until(e.cfg.startAt)
	if e.cfg.startAt.IsZero() || wait <= 0 {
		return "", nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return "", nil
	case <-ctx.Done():
		return "canceled", ctx.Err()
	case <-e.aborted:
		return "aborted", fmt.Errorf("run aborted while waiting for the start time %s: %w", e.cfg.startAt.Format(time.RFC3339), e.abortErr)
	}
}

// stepLength is how long step index runs from now: step_duration, or up
// to its scheduled end with WithStartAt.
func (e *Engine) stepLength(index int) time.Duration {
	dur := e.sc.Ramp.StepDuration.Std()
	if e.cfg.startAt.IsZero() {
		return dur
	}
	return time.Until(e.cfg.startAt.Add(time.Duration(index+1) * dur))
}

// idleStep runs step st without load: a worker whose share of the step is
// 0 streams (or requests per second), or a step with no time left on the
// schedule. It keeps the step's timing, so that the next step begins when
// the other workers' does, and leaves a step summary without requests.
func (e *Engine) idleStep(st *step, dur time.Duration) *step {
	dur = max(dur, 0)
	st.secondBytes = make([]atomic.Int64, int(dur/time.Second)+2)
	st.start = time.Now()
	st.warmEnd = st.start.Add(e.sc.Ramp.Warmup.Std())
	e.cur.Store(st)
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-st.ctx.Done():
	}
	st.end = time.Now()
	return st
}
