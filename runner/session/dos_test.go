package session

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// The tests here run a churn ramp through fake SocksPorts and a fake
// MetricsPort that defends itself as tor's circuit creation defence does
// (testkit.MetricsPort.DefendCircuits: 3 circuits a second, burst 10, for
// relaybench's one client address), no tor. Without a circuit-rate cap the
// second step's 8 new circuits a second empty the relay's bucket about 2 s
// in: the run reports a dos onset with the counters as evidence, and no
// capacity from that step. With a cap below the relay's, the same ramp
// never trips the defence: the cap holds the load back instead, and the
// run says so.

// dosScenario is the ramp: 2 then 8 requests a second of 16 KiB, 3 s
// steps with 500 ms of warm-up, through socks and scraping mp.
func dosScenario(t *testing.T, socks []*testkit.SOCKSServer, mp *testkit.MetricsPort, limits string) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: dos
target: {kind: socks, socks: {addresses: [%q, %q], metrics_urls: [%q]}}
payload: {size: 16KiB}
workload: {kind: churn}
ramp: {steps: [2, 8], step_duration: 3s, warmup: 500ms}
sampling: {interval: 200ms}
limits: {%s}
`, socks[0].Addr(), socks[1].Addr(), mp.URL(), limits)
	sc, err := scenarios.Parse([]byte(src), "dos.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// defendedRelay starts two fake SocksPorts and a fake MetricsPort that
// follows them and defends itself against their circuits.
func defendedRelay(t *testing.T) ([]*testkit.SOCKSServer, *testkit.MetricsPort) {
	socks := []*testkit.SOCKSServer{testkit.StartSOCKS(t), testkit.StartSOCKS(t)}
	mp := testkit.StartMetricsPort(t)
	mp.FollowSOCKS(socks...)
	mp.DefendCircuits(3, 10)
	return socks, mp
}

func TestDoSDefenceTripsWithoutTheCap(t *testing.T) {
	socks, mp := defendedRelay(t)
	res, err := Run(context.Background(), dosScenario(t, socks, mp, ""), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	a := res.Analysis
	verdict := reports.Verdict(a)
	t.Logf("\n%s", verdict)
	o := a.Onset
	if o == nil || o.Step != 1 || o.Cause != string(metricsport.SignalDoS) || o.Attribution != measure.AttributionDoSDefence {
		t.Fatalf("onset %+v, want dos at step 2, attributed to the DoS defence", o)
	}
	dos := mp.State().DoS
	if dos["marked_address"] != 1 || dos["circuit_rejected"] < 3 {
		t.Fatalf("the fake relay's counters %v: the test no longer trips the defence", dos)
	}
	if !strings.Contains(o.Signals[0].Evidence, "over the measured window: circuit_rejected +") || !strings.Contains(o.Signals[0].Evidence, "marked_address +1") {
		t.Errorf("dos evidence %q, want the increases by type", o.Signals[0].Evidence)
	}
	if c := a.Capacity; c == nil || c.Step != 0 || !c.LowerBound {
		t.Errorf("capacity %+v (%s), want step 1 as a lower bound: step 2 measured the defence", c, a.NoCapacity)
	}
	for _, want := range []string{"cause dos, dos-defence-bound", "what to do: the relay's DoS defence refused relaybench's client address", "limits.circuit_rate"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("verdict lacks %q", want)
		}
	}
}

func TestCircuitCapKeepsTheDefenceQuiet(t *testing.T) {
	socks, mp := defendedRelay(t)
	res, err := Run(context.Background(), dosScenario(t, socks, mp, "circuit_rate: 2, circuit_burst: 5"), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	a := res.Analysis
	verdict := reports.Verdict(a)
	t.Logf("\n%s", verdict)
	if dos := mp.State().DoS; dos["marked_address"] != 0 || dos["circuit_rejected"] != 0 {
		t.Fatalf("the fake relay's counters %v: the cap (2/s, burst 5) kept under its defence (3/s, burst 10)", dos)
	}
	for _, s := range a.Steps {
		for _, sig := range s.Signals {
			if sig.Name == string(metricsport.SignalDoS) {
				t.Errorf("step %d: dos signal %+v", s.Step+1, sig)
			}
		}
	}
	top := a.Steps[1]
	if top.Attribution != measure.AttributionCircuitCap || top.CircuitCap == nil || top.CircuitCap.WaitShare < measure.CapWaitShareMin {
		t.Fatalf("step 2 attributed %q, cap %+v; want the circuit-rate cap", top.Attribution, top.CircuitCap)
	}
	if st := res.Reps[0].Steps[1]; st.CapWaited == 0 || st.CapWait <= 0 || st.CapWaitMean <= 0 {
		t.Errorf("steps.jsonl step 2 %+v: want its waits for circuit tokens", st)
	}
	for _, want := range []string{"circuit-rate-cap-bound", "limited by relaybench's circuit-rate cap (limits.circuit_rate), not the relay", "Raise limits.circuit_rate"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("verdict lacks %q", want)
		}
	}
}
