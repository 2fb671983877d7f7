package measure

import (
	"testing"

	"github.com/relaybench/relaybench/runner/rundir"
)

// TestAttributionConfinedJitterIsNotTheLimit: a relay under a 0.15-core
// quota at 80 % of it on average, its per-second CPU jittering between
// 0.10 and 0.14 cores as /proc's 10 ms ticks make it, throttled in 3 or 4
// of every 10 periods: p90 is 93 % of the quota, yet the quota did not
// bind (in the run this mimics, goodput grew by 77 % at the next step).
// Not relay-bound. At the next step, throttled in 8 of 10 periods, it is.
func TestAttributionConfinedJitterIsNotTheLimit(t *testing.T) {
	r := flatRun(t)
	jitter := []float64{0.10, 0.12, 0.14, 0.11, 0.13, 0.14, 0.10, 0.12, 0.12, 0.12}
	rate := func(sec int) float64 {
		if stepOf(sec) == 0 {
			return jitter[sec%len(jitter)]
		}
		return 0.15
	}
	throttled := func(sec int) int64 {
		if stepOf(sec) == 0 {
			return 3 + int64(sec%2)
		}
		return 8
	}
	sampleEverySecond(r, idleMachine, proc{name: "rbtarget", role: rundir.RoleTarget, rate: rate, quota: 0.15, throttled: throttled})
	a := Analyze(r)
	st := a.Steps[0]
	if st.TargetCPU.P90 < BottleneckUtilisation || st.TargetCPU.Mean >= BottleneckUtilisation || st.TargetThrottledShare >= ThrottledShareMin {
		t.Fatalf("step 1: target CPU %+v of its quota, throttled %.2f: the synth run should have p90 ≥ 90 %%, mean and throttling below their limits", st.TargetCPU, st.TargetThrottledShare)
	}
	if hasSignal(st, SignalRelayCPU) || st.Attribution == AttributionRelay {
		t.Errorf("step 1 (mean %.0f%% of the quota, throttled in %.0f%% of periods): signals %+v, attribution %q; want no relay-cpu",
			st.TargetCPU.Mean*100, st.TargetThrottledShare*100, st.Signals, st.Attribution)
	}
	if st := a.Steps[1]; !hasSignal(st, SignalRelayCPU) || st.Attribution != AttributionRelay {
		t.Errorf("step 2 (throttled in %.0f%% of periods): signals %+v, attribution %q; want relay-cpu, the relay's", st.TargetThrottledShare*100, st.Signals, st.Attribution)
	}
}
