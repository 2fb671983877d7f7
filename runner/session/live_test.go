package session

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// TestRunFeedsMetrics runs a socks target through fake SocksPorts and a
// fake MetricsPort (no tor) with Options.Metrics and checks the exporter
// against the run directory: requests by class, bytes and TTFB counts
// equal what requests.jsonl holds, the step gauges are back at 0, and the
// rate limit the fake relay declares during the run shows as a fired
// relay signal while the others stay 0.
func TestRunFeedsMetrics(t *testing.T) {
	socks := []*testkit.SOCKSServer{testkit.StartSOCKS(t), testkit.StartSOCKS(t)}
	mp := testkit.StartMetricsPort(t)
	mp.FollowSOCKS(socks...)
	sc := shortScenario(t, "local", 1, 2)
	sc.Ramp.StepDuration = scenarios.Duration(2 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(500 * time.Millisecond)
	sc.Sampling.Interval = scenarios.Duration(200 * time.Millisecond)
	sc.Payload.Size = 256 << 10
	sc.Clients = 0
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{
		Addresses: []string{socks[0].Addr(), socks[1].Addr()}, MetricsURLs: []string{mp.URL()},
	}}
	exp := promexport.New()
	opts := testOptions(t)
	opts.Metrics = exp
	// The relay's rate limiter trips during the second step.
	go func() {
		time.Sleep(3 * time.Second)
		mp.AddRateLimitReached(0, 5)
	}()
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	var bytes float64
	classes := map[string]float64{}
	ttfbs := 0
	for _, r := range lines.Records {
		bytes += float64(r.Bytes)
		c := r.Error
		if c == "" {
			c = promexport.ClassOK
		}
		classes[c]++
		if _, ttfb := measure.RequestLatencies(r); ttfb > 0 {
			ttfbs++
		}
	}
	mfs, err := exp.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	gotTTFB := 0
	steps := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			switch mf.GetName() {
			case "relaybench_received_bytes_total":
				bytes -= m.GetCounter().GetValue()
			case "relaybench_requests_total":
				got[l["class"]] += m.GetCounter().GetValue()
				steps[l["step"]+"/"+l["load"]] = true
				if l["scenario"] != "local" || l["segment"] != "1/1" {
					t.Errorf("request series labelled %v", l)
				}
			case "relaybench_ttfb_seconds":
				gotTTFB += int(m.GetHistogram().GetSampleCount())
			case "relaybench_relay_overload_signal":
				want := 0.0
				if l["signal"] == string(metricsport.SignalRateLimit) {
					want = 1
				}
				if v := m.GetGauge().GetValue(); v != want {
					t.Errorf("relay signal %s = %v, want %v", l["signal"], v, want)
				}
			case "relaybench_step", "relaybench_offered_load":
				if v := m.GetGauge().GetValue(); v != 0 {
					t.Errorf("%s = %v after the run, want 0", mf.GetName(), v)
				}
			}
		}
	}
	if bytes != 0 {
		t.Errorf("the bytes counters and requests.jsonl differ by %.0f bytes", bytes)
	}
	for c, n := range classes {
		if got[c] != n {
			t.Errorf("class %s: %v requests counted, requests.jsonl has %v", c, got[c], n)
		}
	}
	if len(got) != len(classes) && !(len(got) == len(classes)+1 && got[promexport.ClassOK] == 0) {
		t.Errorf("classes counted %v, requests.jsonl has %v", got, classes)
	}
	if gotTTFB != ttfbs || ttfbs == 0 {
		t.Errorf("%d TTFB observations, requests.jsonl has %d", gotTTFB, ttfbs)
	}
	if !steps["1/1"] || !steps["2/2"] || len(steps) != 2 {
		t.Errorf("request series of step/load %v, want 1/1 and 2/2", steps)
	}
	if n := testutil.CollectAndCount(exp.Registry(), "relaybench_circuits_total"); n != 0 {
		t.Errorf("%d circuit series for a socks target, which has no clients to ask", n)
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetLabel() {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

// TestLiveSignalsFollowOnsetRules feeds liveSignals scrapes of a relay
// whose rate limiter trips and whose MetricsPort then stops answering: the
// baseline fires nothing, the rise fires rate-limit once, and two failed
// scrapes in a row fire metricsport-unreachable only under load.
func TestLiveSignalsFollowOnsetRules(t *testing.T) {
	mp := testkit.StartMetricsPort(t)
	mp.AddRateLimitReached(3, 3) // before the run: the baseline
	s := &liveSignals{url: mp.URL(), fired: map[metricsport.SignalName]bool{}}
	sampler := func(n int) []metricsport.SignalName {
		t.Helper()
		var fired []metricsport.SignalName
		out := &discard{}
		smp := &metricsport.Sampler{URLs: []string{mp.URL()}, Interval: 150 * time.Millisecond, Out: out,
			OnScrape: func(r metricsport.ScrapeRecord) { fired = append(fired, s.scrape(r)...) }}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*150*time.Millisecond-50*time.Millisecond)
		defer cancel()
		if err := smp.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return fired
	}
	if fired := sampler(2); len(fired) != 0 {
		t.Fatalf("fired %v on a quiet relay", fired)
	}
	mp.AddRateLimitReached(0, 1)
	if fired := sampler(2); len(fired) != 1 || fired[0] != metricsport.SignalRateLimit {
		t.Fatalf("fired %v after the rate-limit counter rose, want [rate-limit]", fired)
	}
	mp.AddRateLimitReached(0, 1)
	if fired := sampler(2); len(fired) != 0 {
		t.Fatalf("fired %v again; a signal fires once per run", fired)
	}
	if err := mp.SetFailure(testkit.MetricsRefuse); err != nil {
		t.Fatal(err)
	}
	if fired := sampler(3); len(fired) != 0 {
		t.Fatalf("fired %v for failed scrapes between steps", fired)
	}
	s.loading.Store(true)
	if fired := sampler(3); len(fired) != 1 || fired[0] != metricsport.SignalMetricsPortUnreachable {
		t.Fatalf("fired %v for failed scrapes under load, want [metricsport-unreachable]", fired)
	}
	// Scrapes of another URL (a client's MetricsPort) are not the relay's.
	if fired := s.scrape(metricsport.ScrapeRecord{URL: "http://127.0.0.1:1/metrics"}); fired != nil {
		t.Errorf("fired %v for another URL", fired)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestCircuitStates checks how CIRC events become circuits.jsonl events:
// BUILT is built; FAILED is failed once, whatever CLOSED follows; CLOSED of
// a circuit seen launched but never built is failed; CLOSED of a circuit
// built, or of one the watch never saw launched, is nothing.
func TestCircuitStates(t *testing.T) {
	s := circuitStates{}
	var got []string
	for _, ev := range []struct{ client, id, status string }{
		{"c0", "1", "LAUNCHED"}, {"c0", "1", "EXTENDED"}, {"c0", "1", "BUILT"}, {"c0", "1", "CLOSED"},
		{"c0", "2", "LAUNCHED"}, {"c0", "2", "FAILED"}, {"c0", "2", "CLOSED"},
		{"c0", "3", "LAUNCHED"}, {"c0", "3", "CLOSED"},
		{"c0", "4", "CLOSED"}, // built before the watch began
		{"c1", "1", "LAUNCHED"}, {"c1", "1", "FAILED"},
		{"c1", "5", "FAILED"}, // launched before the watch began: failed all the same
	} {
		got = append(got, s.event(ev.client, chutney.Circuit{ID: ev.id, Status: ev.status}))
	}
	want := []string{"", "", "built", "", "", "failed", "", "", "failed", "", "", "failed", "failed"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if len(s) != 2 {
		t.Errorf("%d circuits still followed, want 2 (the failed ones whose CLOSED did not come)", len(s))
	}
}
