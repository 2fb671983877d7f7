package measure

import (
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// TestCircuitSuccess counts built and failed circuits per step by hand:
// step 1 built 3 and lost 1 (75 %, one in the warm-up), step 2 built 1
// and lost 3 (25 %); first-use records and events outside the steps do
// not count. The gate pools the run: 4 of 8 = 50 %.
func TestCircuitSuccess(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 10 * time.Millisecond }}
	r := s.run(t)
	ev := func(sec float64, event string) rundir.CircuitRecord {
		return rundir.CircuitRecord{Time: t0.Add(time.Duration(sec * float64(time.Second))), Client: "load0", Event: event, ID: "1"}
	}
	built, failed, used := rundir.CircuitBuilt, rundir.CircuitFailed, rundir.CircuitUsed
	r.Circuits = []rundir.CircuitRecord{
		ev(-1, failed), // before the run's first step
		ev(0.5, built), ev(1, failed), ev(3, built), ev(9.9, built), ev(4, used),
		ev(10, built), ev(11, failed), ev(15, failed), ev(19.9, failed), ev(12, used),
		ev(20, failed), // after the last step ended
	}
	a := Analyze(r)
	for i, want := range []struct {
		built, failed int
		rate          float64
	}{{3, 1, 0.75}, {1, 3, 0.25}} {
		st := a.Steps[i]
		if st.CircuitsBuilt != want.built || st.CircuitsFailed != want.failed || st.CircuitSuccess == nil || *st.CircuitSuccess != want.rate {
			t.Errorf("step %d: built %d failed %d success %v; want %d, %d, %v", i+1, st.CircuitsBuilt, st.CircuitsFailed, st.CircuitSuccess, want.built, want.failed, want.rate)
		}
	}
	for _, c := range []struct {
		limit  float64
		passed bool
	}{{0.5, true}, {0.7, false}} {
		g := circuitGate(a, c.limit)
		if g.Passed != c.passed || g.Value != "50.0%" || g.Detail != "4 of 8 circuits built over the run; lowest at step 2: 25.0%" {
			t.Errorf("gate at %v: %+v; want passed %v at 50.0%%", c.limit, g, c.passed)
		}
	}

	// Without circuit events (a socks target): no rate, and the gate
	// cannot pass.
	r.Circuits = nil
	a = Analyze(r)
	if st := a.Steps[0]; st.CircuitSuccess != nil || st.CircuitsBuilt != 0 {
		t.Errorf("without circuit events: step 1 success %v, built %d; want none", st.CircuitSuccess, st.CircuitsBuilt)
	}
	if g := circuitGate(a, 0); g.Passed || g.Value != "none" {
		t.Errorf("gate without circuit events: %+v; want failed with value none", g)
	}
}
