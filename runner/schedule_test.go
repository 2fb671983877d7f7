package runner

import (
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// A step of load 0 (a worker's share of a small step) is idled through:
// no request, but its full duration, so that the steps after it begin
// when the other workers' do. Both loops, since churn's pacer cannot run
// at 0 requests per second.
func TestZeroLoadStepIdles(t *testing.T) {
	for _, kind := range []scenarios.WorkloadKind{scenarios.WorkloadBulk, scenarios.WorkloadChurn} {
		t.Run(string(kind), func(t *testing.T) {
			sc := scenario(kind, 64<<10, time.Second, 0, 0, 2, 0)
			f := newFixture(t, sc, 1)
			sum, err := Run(t.Context(), f.plan)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Steps) != 3 || sum.StoppedBy != "completed" {
				t.Fatalf("%d steps, stopped by %s; want 3, completed", len(sum.Steps), sum.StoppedBy)
			}
			perStep := map[int]int{}
			for _, r := range f.recs.records(t) {
				perStep[r.Step]++
			}
			for _, i := range []int{0, 2} {
				st := sum.Steps[i]
				if d := st.End.Sub(st.Start); d < 950*time.Millisecond || d > 1500*time.Millisecond {
					t.Errorf("idle step %d lasted %s, want the step duration, 1 s", i+1, d)
				}
				if perStep[i] != 0 || st.Requests != 0 || st.Bytes != 0 || st.Load != 0 {
					t.Errorf("idle step %d: %d records, summary %+v; want none", i+1, perStep[i], st)
				}
			}
			if perStep[1] == 0 {
				t.Errorf("step 2 (load 2) made no request")
			}
		})
	}
}

// WithStartAt waits for the start time and ends every step on the
// schedule at + (i+1)·duration, however long the previous one took to
// drain: the steps of workers started with one time stay together.
func TestStartAtAlignsSteps(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 256<<10, time.Second, 0, 1, 2, 3)
	f := newFixture(t, sc, 1)
	at := time.Now().Add(1200 * time.Millisecond)
	sum, err := Run(t.Context(), f.plan, WithStartAt(at))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(sum.Steps))
	}
	// A busy machine's timer and drain (seen: 180 ms at load 12 on 2
	// cores); without the schedule the lateness would add up over steps.
	const slack = 400 * time.Millisecond
	for i, st := range sum.Steps {
		start, end := at.Add(time.Duration(i)*time.Second), at.Add(time.Duration(i+1)*time.Second)
		if st.Start.Before(start) || st.Start.Sub(start) > slack {
			t.Errorf("step %d began %s after its scheduled start, want 0 to %s", i+1, st.Start.Sub(start), slack)
		}
		if d := st.End.Sub(end); d < 0 || d > slack {
			t.Errorf("step %d ended %s after its scheduled end, want 0 to %s", i+1, d, slack)
		}
	}

	// A worker that reaches the start time late runs a shorter first step
	// and is on the schedule from the second on.
	f = newFixture(t, sc, 1)
	late := time.Now().Add(-500 * time.Millisecond)
	sum, err = Run(t.Context(), f.plan, WithStartAt(late))
	if err != nil {
		t.Fatal(err)
	}
	if d := sum.Steps[0].End.Sub(sum.Steps[0].Start); d > 500*time.Millisecond+slack {
		t.Errorf("late first step lasted %s, want about 0.5 s (the rest of its scheduled second)", d)
	}
	if d := sum.Steps[1].End.Sub(late.Add(2 * time.Second)); d < 0 || d > slack {
		t.Errorf("step 2 of the late worker ended %s off its schedule", d)
	}
}

// StepLatencies on a step's own records gives the percentiles the runner
// wrote for it.
func TestStepLatenciesMatchTheRunner(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 64<<10, 1500*time.Millisecond, 500*time.Millisecond, 3)
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	want := sum.Steps[0]
	got := rundir.StepSummary{WarmupEnd: want.WarmupEnd}
	StepLatencies(&got, f.recs.records(t))
	if got.TTFBP50 == 0 || got.ConnectP95 != want.ConnectP95 || got.TTFBP50 != want.TTFBP50 || got.TTFBP95 != want.TTFBP95 ||
		got.TTLBP50 != want.TTLBP50 || got.TTLBP95 != want.TTLBP95 || got.ConnectP50 != want.ConnectP50 {
		t.Errorf("from the records %+v, the runner wrote %+v", got, want)
	}
}
