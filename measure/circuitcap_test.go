package measure

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

// dosScrapes returns metrics.jsonl records of url, one a second from
// t0 - 1 s to t0 + secs, of an idle relay whose tor_relay_dos_total
// counters have the values dos(sec) gives at second sec from t0.
func dosScrapes(t *testing.T, url string, t0 time.Time, secs int, dos func(sec int) map[string]int) []metricsport.ScrapeRecord {
	t.Helper()
	idle, err := os.ReadFile(filepath.Join(fixtureDir, "relay-idle.prom"))
	if err != nil {
		t.Fatal(err)
	}
	var out []metricsport.ScrapeRecord
	for sec := -1; sec <= secs; sec++ {
		body := string(idle)
		for typ, n := range dos(sec) {
			line := fmt.Sprintf("tor_relay_dos_total{type=%q} 0\n", typ)
			if !strings.Contains(body, line) {
				t.Fatalf("fixture has no line %q", line)
			}
			body = strings.Replace(body, line, fmt.Sprintf("tor_relay_dos_total{type=%q} %d\n", typ, n), 1)
		}
		sc, err := metricsport.ParseScrapeBytes([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, metricsport.ScrapeRecord{URL: url, At: t0.Add(time.Duration(sec) * time.Second), OK: true, Families: sc.Families})
	}
	return out
}

// TestDoSOnsetIsNotCapacity: goodput grows healthily over 1, 2, 4, 8
// streams (10 s steps, 2 s warm-up), while the relay's DoS counters rise
// twice: an onion-service type during step 2's measured window (not
// relaybench's: ignored), then circuit_rejected by 120 and marked_address
// by 1 between the scrapes at 25 s and 26 s, in step 3's measured window
// (20-30 s, from 22 s), and circuit_rejected by 80 more at 28 s. The onset
// is dos at step 3 with those increases as evidence and advice; step 3 is
// never the capacity although it carried more than step 2, and the
// capacity at step 2 is a lower bound saying the defence, not overload,
// ended the ramp.
func TestDoSOnsetIsNotCapacity(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := synth{t0: t0, loads: []int{1, 2, 4, 8},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 20 * time.Millisecond }}.run(t)
	r.Info = &rundir.RunInfo{Metrics: []rundir.MetricsEndpoint{{URL: url, Name: "relay", Role: rundir.RoleTarget}}}
	r.Metrics = dosScrapes(t, url, t0, 40, func(sec int) map[string]int {
		m := map[string]int{}
		if sec >= 15 {
			m["introduce2_rejected"] = 40
		}
		switch {
		case sec >= 28:
			m["circuit_rejected"], m["marked_address"] = 200, 1
		case sec >= 26:
			m["circuit_rejected"], m["marked_address"] = 120, 1
		}
		return m
	})
	a := Analyze(r)

	for _, s := range a.Steps[:2] {
		if len(s.Signals) != 0 {
			t.Errorf("step %d signals %+v: an onion-service counter is not relaybench's", s.Step+1, s.Signals)
		}
	}
	o := a.Onset
	if o == nil || o.Step != 2 || o.Cause != string(metricsport.SignalDoS) || o.Attribution != AttributionDoSDefence {
		t.Fatalf("onset %+v, want dos at step 3 attributed to the DoS defence", o)
	}
	sig := o.Signals[0]
	// Over step 3's window (from the scrape at 22 s to the one at 30 s):
	// circuit_rejected 0 -> 200, marked_address 0 -> 1.
	for _, want := range []string{url, "over the measured window: circuit_rejected +200, marked_address +1"} {
		if !strings.Contains(sig.Evidence, want) {
			t.Errorf("dos evidence %q lacks %q", sig.Evidence, want)
		}
	}
	if strings.Contains(sig.Evidence, "introduce2") || !strings.Contains(sig.Advice, "limits.circuit_rate") || !strings.Contains(sig.Advice, "workload.isolation: worker") {
		t.Errorf("dos signal %+v: want the load's types only and advice naming the cap and worker isolation", sig)
	}
	if rs := a.Steps[2].Relay; rs == nil || rs.DoS["circuit_rejected"] != 200 || rs.DoS["introduce2_rejected"] != 0 {
		t.Errorf("step 3 relay DoS %+v, want circuit_rejected 200 and no onion-service increase in the window", rs)
	}
	c := a.Capacity
	if c == nil || c.Step != 1 || !c.LowerBound || c.Attribution != AttributionDoSDefence {
		t.Fatalf("capacity %+v, want step 2, a lower bound attributed to the DoS defence", c)
	}
	if !strings.Contains(strings.Join(c.Reasons, "\n"), "DoS defence refusing relaybench's client address, not overload") {
		t.Errorf("capacity reasons %v do not say the defence ended the ramp", c.Reasons)
	}
	if c.Bound() != "dos-defence-bound" {
		t.Errorf("Bound() = %q", c.Bound())
	}
}

// TestEngineCircuitCapBound: 16 KiB objects at 16 kB/s, so each request
// takes about a second, through a cap of 3 new circuits per second (burst
// 3). At 2 streams the load needs 2 circuits a second: the cap never holds
// it back. At 8 streams it needs 8: a worker's cycle becomes 8/3 s, of
// which its download is 1 s, so the requests spend about 1 - 3/8 = 62 %
// of their time waiting for tokens. That step is cap-bound, and its
// goodput, about 3 × 16 KiB/s, the cap's, a lower bound of the relay's.
func TestEngineCircuitCapBound(t *testing.T) {
	sc := parseScenario(t, `name: capped
target: {kind: socks, socks: {addresses: ["127.0.0.1:9050"]}}
payload: {size: 16KiB}
workload: {kind: bulk}
ramp: {steps: [2, 8], step_duration: 4s, warmup: 1s}
limits: {circuit_rate: 3, circuit_burst: 3}
thresholds: {min_capacity: 1MiB/s}
`)
	r := engineRun(t, sc, []testkit.SOCKSOption{testkit.WithBehavior(testkit.Behavior{Rate: 16_000})})
	a := Analyze(r)
	s1, s2 := a.Steps[0], a.Steps[1]
	if s1.CircuitCap == nil || s2.CircuitCap == nil {
		t.Fatalf("circuit cap per step %+v, %+v: want both", s1.CircuitCap, s2.CircuitCap)
	}
	t.Logf("wait shares %.2f and %.2f; %d and %d of %d and %d requests waited", s1.CircuitCap.WaitShare, s2.CircuitCap.WaitShare,
		s1.CircuitCap.Waited, s2.CircuitCap.Waited, s1.Requests, s2.Requests)
	if c := s1.CircuitCap; c.WaitShare >= CapWaitShareMin || s1.Attribution == AttributionCircuitCap {
		t.Errorf("step 1 (2 circuits/s under a 3/s cap): wait share %.2f, attribution %q; want no cap limit", c.WaitShare, s1.Attribution)
	}
	if c := s2.CircuitCap; c.WaitShare < 0.4 || c.WaitShare > 0.8 || c.Waited == 0 || c.Rate != 3 || c.Burst != 3 {
		t.Errorf("step 2 (8 circuits/s wanted): %+v, want about 62%% of the time waiting", c)
	}
	if s2.Attribution != AttributionCircuitCap || !s2.LoadGeneratorBound {
		t.Errorf("step 2 attribution %q (%v), load-generator bound %v; want the circuit-rate cap", s2.Attribution, s2.AttributionEvidence, s2.LoadGeneratorBound)
	}
	// About 3 requests of 16 KiB a second, whatever the 8 streams.
	if g := s2.Goodput.Mean; g < 2*16<<10 || g > 4*16<<10 {
		t.Errorf("step 2 goodput %.0f B/s, want about 3 × 16 KiB/s", g)
	}
	// No onset (3 requests a second is 50 % more goodput than 2 for four
	// times the streams, above the 20 % saturation asks): the capacity is
	// the capped step's, the cap's, and the gate says so.
	c := a.Capacity
	if c == nil || c.Step != 1 || !c.LowerBound || c.Attribution != AttributionCircuitCap || c.Bound() != "circuit-rate-cap-bound" ||
		!strings.Contains(strings.Join(c.Reasons, "\n"), "the cap, not the relay, limited the load") {
		t.Errorf("capacity %+v (%s): want step 2, a lower bound attributed to the cap, with the cap's evidence", c, a.NoCapacity)
	}
	if g := a.Gates; len(g) != 1 || g[0].Passed || !strings.Contains(g[0].Detail, "a lower bound (circuit-rate-cap-bound)") {
		t.Errorf("gates %+v: want min_capacity failed on a lower bound the cap set", g)
	}
	for _, rec := range r.Records {
		if rec.Error != "" && rec.Error != rundir.ClassStepEnd {
			t.Errorf("failed record %+v: the cap must hold back, not fail", rec)
		}
	}
}

// TestDoSFromTheFirstStep: a relay that refuses relaybench from the first
// step on leaves no step to take a capacity from, and says why.
func TestDoSFromTheFirstStep(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := synth{t0: t0, loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 20 * time.Millisecond }}.run(t)
	r.Info = &rundir.RunInfo{Metrics: []rundir.MetricsEndpoint{{URL: url, Name: "relay", Role: rundir.RoleTarget}}}
	r.Metrics = dosScrapes(t, url, t0, 20, func(sec int) map[string]int {
		if sec >= 5 {
			return map[string]int{"concurrent_conn_rejected": 3 * (sec - 4)}
		}
		return nil
	})
	a := Analyze(r)
	if a.Onset == nil || a.Onset.Step != 0 || a.Onset.Cause != string(metricsport.SignalDoS) {
		t.Fatalf("onset %+v, want dos at step 1", a.Onset)
	}
	if a.Capacity != nil || !strings.Contains(a.NoCapacity, "DoS defence refused relaybench's client address from the first step on") {
		t.Errorf("capacity %+v, no capacity %q: want none, and why", a.Capacity, a.NoCapacity)
	}
}
