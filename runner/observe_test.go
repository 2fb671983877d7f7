package runner

import (
	"cmp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// TestObserverHooks checks that WithRecordDone sees exactly the records
// written to requests.jsonl and that WithStepStart announces every step
// before its first request, with the boundaries steps.jsonl gets later.
func TestObserverHooks(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 256<<10, 700*time.Millisecond, 100*time.Millisecond, 1, 2)
	f := newFixture(t, sc, 1)
	var (
		mu     sync.Mutex
		seen   []rundir.Record
		starts []rundir.StepSummary
	)
	sum, err := Run(t.Context(), f.plan,
		WithStepStart(func(s rundir.StepSummary) {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, s)
		}),
		WithRecordDone(func(rec *rundir.Record) {
			mu.Lock()
			defer mu.Unlock()
			if len(starts) == 0 || starts[len(starts)-1].Step != rec.Step {
				t.Errorf("record of step %d before that step's start was announced", rec.Step)
			}
			seen = append(seen, *rec)
		}))
	if err != nil {
		t.Fatal(err)
	}
	written := f.recs.records(t)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(written) || len(seen) == 0 {
		t.Fatalf("the hook saw %d records, %d were written; want the same, more than 0", len(seen), len(written))
	}
	// The hook runs on each request's goroutine right after its write:
	// records ending together reach it in either order. Compare them in
	// one order: by start, then worker.
	byStart := func(a, b rundir.Record) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Worker, b.Worker)
	}
	slices.SortFunc(seen, byStart)
	slices.SortFunc(written, byStart)
	for i := range seen {
		a, b := seen[i], written[i]
		if a.Step != b.Step || a.Worker != b.Worker || a.Bytes != b.Bytes || a.TTFBNS != b.TTFBNS || a.Error != b.Error || !a.Start.Equal(b.Start) {
			t.Errorf("record %d: the hook saw %+v, the file has %+v", i, a, b)
		}
	}
	if len(starts) != len(sum.Steps) {
		t.Fatalf("%d step starts for %d steps", len(starts), len(sum.Steps))
	}
	for i, s := range starts {
		done := sum.Steps[i]
		if s.Step != done.Step || s.Load != done.Load || !s.Start.Equal(done.Start) || !s.WarmupEnd.Equal(done.WarmupEnd) || s.Requests != 0 {
			t.Errorf("step start %d = %+v; the step's summary has step %d load %d start %v warm-up end %v", i, s, done.Step, done.Load, done.Start, done.WarmupEnd)
		}
	}
}
