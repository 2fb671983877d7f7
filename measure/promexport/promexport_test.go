package promexport

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/relaybench/relaybench/runner/rundir"
)

const ms = int64(time.Millisecond)

// feed plays a small run into a new Exporter: two steps of one endpoint,
// with a success on a new connection, one on a reused connection, a
// timeout, a request cut while waiting for its first byte and one that
// reached no endpoint, three circuit records and a relay signal.
// Latencies are powers of two in seconds, so the expected sums are exact;
// TTFB counts from the request written (WroteNS, or the connect).
func feed(t *testing.T) *Exporter {
	t.Helper()
	e := New()
	e.SetRun(Run{Scenario: "s", LoadUnit: "streams", Endpoints: 1, RelaySignals: []string{"oom", "rate-limit"}})
	t0 := time.Unix(1_700_000_000, 500_000_000)
	e.StepStarted(rundir.StepSummary{StepKey: rundir.StepKey{Repetition: 0, Step: 0}, Load: 2, Start: t0})
	if got := testutil.ToFloat64(e.curStep.WithLabelValues("s", "", "1/1")); got != 1 {
		t.Errorf("relaybench_step during step 1 = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.offered.WithLabelValues("s", "", "1/1", "streams")); got != 2 {
		t.Errorf("relaybench_offered_load during step 1 = %v, want 2", got)
	}
	recs := []rundir.Record{
		{StepKey: rundir.StepKey{Step: 0}, Load: 2, Endpoint: 0, ConnectNS: 125 * ms / 4, WroteNS: 125 * ms / 4, TTFBNS: 375 * ms / 4, TTLBNS: 1500 * ms, Bytes: 1000},
		{StepKey: rundir.StepKey{Step: 0}, Load: 2, Endpoint: 0, TTFBNS: 125 * ms / 4, TTLBNS: 250 * ms, Bytes: 500},
		{StepKey: rundir.StepKey{Step: 0}, Load: 2, Endpoint: 0, TTLBNS: 20_000 * ms, Error: rundir.ClassTimeout, Detail: "first byte timeout after 20s via http://127.0.0.1:1234/bytes"},
		{StepKey: rundir.StepKey{Step: 0}, Load: 2, Endpoint: 0, ConnectNS: 500 * ms, WroteNS: 500 * ms, TTLBNS: 7500 * ms, Bytes: 0, Error: rundir.ClassStepEnd},
		{StepKey: rundir.StepKey{Step: 0}, Load: 2, Endpoint: -1, Error: rundir.ClassSocksUnreachable, Detail: "no live endpoint"},
	}
	for i := range recs {
		e.Observe(&recs[i])
	}
	for _, ev := range []string{rundir.CircuitBuilt, rundir.CircuitBuilt, rundir.CircuitFailed, rundir.CircuitUsed} {
		e.Circuit(rundir.CircuitRecord{Event: ev, ID: "7", Client: "load0"})
	}
	e.RelaySignal("oom")
	e.StepDone(rundir.StepSummary{StepKey: rundir.StepKey{Step: 0}})
	e.StepStarted(rundir.StepSummary{StepKey: rundir.StepKey{Repetition: 0, Step: 1}, Load: 4, Start: t0.Add(20 * time.Second)})
	e.Observe(&rundir.Record{StepKey: rundir.StepKey{Step: 1}, Load: 4, Endpoint: 0, ConnectNS: 500 * ms, TTFBNS: 1500 * ms, TTLBNS: 2000 * ms, Bytes: 4096})
	e.Circuit(rundir.CircuitRecord{Event: rundir.CircuitBuilt})
	return e
}

func TestCountersAndGauges(t *testing.T) {
	e := feed(t)
	want := `
# HELP relaybench_requests_total Requests ended, by result class: "ok", "step-end" (cut by the step's end, not a failure) or the error class.
# TYPE relaybench_requests_total counter
relaybench_requests_total{class="ok",endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""} 2
relaybench_requests_total{class="step-end",endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""} 1
relaybench_requests_total{class="timeout",endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""} 1
relaybench_requests_total{class="socks-unreachable",endpoint="none",load="2",scenario="s",segment="1/1",step="1",variant=""} 1
relaybench_requests_total{class="ok",endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""} 1
# HELP relaybench_received_bytes_total Body bytes received, counted when their request ends.
# TYPE relaybench_received_bytes_total counter
relaybench_received_bytes_total{endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""} 1500
relaybench_received_bytes_total{endpoint="none",load="2",scenario="s",segment="1/1",step="1",variant=""} 0
relaybench_received_bytes_total{endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""} 4096
# HELP relaybench_circuits_total Circuits the pool's tor clients built ("built") or lost before they were built ("failed"), from their control ports' CIRC events.
# TYPE relaybench_circuits_total counter
relaybench_circuits_total{load="2",result="built",scenario="s",segment="1/1",step="1",variant=""} 2
relaybench_circuits_total{load="2",result="failed",scenario="s",segment="1/1",step="1",variant=""} 1
relaybench_circuits_total{load="4",result="built",scenario="s",segment="1/1",step="2",variant=""} 1
# HELP relaybench_relay_overload_signal 1 once the relay under test declared this overload signal on its MetricsPort during the run (relaybench's onset rules, live), else 0.
# TYPE relaybench_relay_overload_signal gauge
relaybench_relay_overload_signal{scenario="s",segment="1/1",signal="oom",variant=""} 1
relaybench_relay_overload_signal{scenario="s",segment="1/1",signal="rate-limit",variant=""} 0
# HELP relaybench_step The running ramp step, 1-based; 0 between steps and after the run.
# TYPE relaybench_step gauge
relaybench_step{scenario="s",segment="1/1",variant=""} 2
# HELP relaybench_offered_load The running step's load: concurrent streams (unit streams) or requests per second (unit req/s); 0 between steps.
# TYPE relaybench_offered_load gauge
relaybench_offered_load{scenario="s",segment="1/1",unit="streams",variant=""} 4
# HELP relaybench_step_start_timestamp_seconds Unix time the running step began; one series, labelled with the step, replaced at each step boundary (dashboard annotations).
# TYPE relaybench_step_start_timestamp_seconds gauge
relaybench_step_start_timestamp_seconds{load="4",rep="1",scenario="s",segment="1/1",step="2",variant=""} 1.7000000205e+09
`
	names := []string{"relaybench_requests_total", "relaybench_received_bytes_total", "relaybench_circuits_total",
		"relaybench_relay_overload_signal", "relaybench_step", "relaybench_offered_load", "relaybench_step_start_timestamp_seconds"}
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	e.StepDone(rundir.StepSummary{StepKey: rundir.StepKey{Step: 1}})
	if got := testutil.ToFloat64(e.curStep.WithLabelValues("s", "", "1/1")); got != 0 {
		t.Errorf("relaybench_step after the last step = %v, want 0", got)
	}
	if got := testutil.ToFloat64(e.offered.WithLabelValues("s", "", "1/1", "streams")); got != 0 {
		t.Errorf("relaybench_offered_load after the last step = %v, want 0", got)
	}
}

// TestHistograms checks the classic buckets against the observations fed:
// TTFB counts the cut request's 7 s wait after its request was written and
// leaves out the timeout (no first byte); connect only new connections;
// TTLB only successes.
func TestHistograms(t *testing.T) {
	e := feed(t)
	want := `
# HELP relaybench_ttfb_seconds Time from the request written on the attached stream to the first response byte; a request cut by its step's end before any byte counts with the time it waited (a lower bound), as in the report.
# TYPE relaybench_ttfb_seconds histogram
` + bucketLines("relaybench_ttfb_seconds", `endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""`, 0.03125, 0.0625, 7) +
		bucketLines("relaybench_ttfb_seconds", `endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""`, 1) + `
# HELP relaybench_connect_seconds SOCKS connect time of requests on a new connection: tor's circuit build and stream attach; a request cut by its step's end while connecting counts with the time it waited (a lower bound), as in the report.
# TYPE relaybench_connect_seconds histogram
` + bucketLines("relaybench_connect_seconds", `endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""`, 0.03125, 0.5) +
		bucketLines("relaybench_connect_seconds", `endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""`, 0.5) + `
# HELP relaybench_ttlb_seconds Time to the last body byte of successful requests.
# TYPE relaybench_ttlb_seconds histogram
` + bucketLines("relaybench_ttlb_seconds", `endpoint="0",load="2",scenario="s",segment="1/1",step="1",variant=""`, 0.25, 1.5) +
		bucketLines("relaybench_ttlb_seconds", `endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""`, 2)
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), "relaybench_ttfb_seconds", "relaybench_connect_seconds", "relaybench_ttlb_seconds"); err != nil {
		t.Error(err)
	}

	// The same histograms are native ones too, for scrapers that ask.
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.Schema == nil || h.GetSampleCount() > 0 && len(h.GetPositiveSpan()) == 0 {
				t.Errorf("%s %v: no native histogram (schema %v, %d spans)", mf.GetName(), m.GetLabel(), h.Schema, len(h.GetPositiveSpan()))
			}
		}
	}
}

// bucketLines writes the text exposition of a classic histogram over
// LatencyBuckets holding obs, counting by hand.
func bucketLines(name, labels string, obs ...float64) string {
	var b strings.Builder
	sum := 0.0
	for _, o := range obs {
		sum += o
	}
	for _, le := range append(LatencyBuckets, 0) {
		n := 0
		for _, o := range obs {
			if le == 0 || o <= le {
				n++
			}
		}
		leText := "+Inf"
		if le != 0 {
			leText = formatFloat(le)
		}
		b.WriteString(name + "_bucket{" + labels + `,le="` + leText + `"} ` + formatFloat(float64(n)) + "\n")
	}
	b.WriteString(name + "_sum{" + labels + "} " + formatFloat(sum) + "\n")
	b.WriteString(name + "_count{" + labels + "} " + formatFloat(float64(len(obs))) + "\n")
	return b.String()
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestSetRunStartsSeries checks that a run's series exist before anything
// happened: the relay signals and step gauges at 0, and at a step's start
// each endpoint's request, byte and latency series at 0, so that rate()
// sees a step's first request.
func TestSetRunStartsSeries(t *testing.T) {
	e := New()
	e.SetRun(Run{Scenario: "s", Variant: "v", Segment: "2/3", LoadUnit: "req/s", Endpoints: 2, RelaySignals: []string{"oom"}})
	if n := testutil.CollectAndCount(e.relaySignal); n != 1 {
		t.Errorf("%d relay signal series, want 1", n)
	}
	if n := testutil.CollectAndCount(e.requests); n != 0 {
		t.Errorf("%d request series before the first step, want 0", n)
	}
	e.StepStarted(rundir.StepSummary{StepKey: rundir.StepKey{Step: 0}, Load: 5, Start: time.Unix(1, 0)})
	for _, c := range []struct {
		name string
		n    int
	}{{"relaybench_requests_total", 2}, {"relaybench_received_bytes_total", 2}, {"relaybench_ttfb_seconds", 2}, {"relaybench_connect_seconds", 2}, {"relaybench_ttlb_seconds", 2}} {
		if n, err := testutil.GatherAndCount(e.Registry(), c.name); err != nil || n != c.n {
			t.Errorf("%s: %d series (%v) after the step started, want %d", c.name, n, err, c.n)
		}
	}
	if got := testutil.ToFloat64(e.requests.WithLabelValues("s", "v", "2/3", "1", "5", "1", ClassOK)); got != 0 {
		t.Errorf("requests of endpoint 1 at the step's start = %v, want 0", got)
	}
}

func TestListenServesMetrics(t *testing.T) {
	e := feed(t)
	srv, err := Listen("127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `relaybench_received_bytes_total{endpoint="0",load="4",scenario="s",segment="1/1",step="2",variant=""} 4096`) {
		t.Errorf("GET %s: %s\n%s", srv.URL(), resp.Status, body)
	}
	if strings.Contains(string(body), "127.0.0.1:1234") || strings.Contains(string(body), "first byte timeout") {
		t.Errorf("an error's detail text reached the metrics:\n%s", body)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(srv.URL()); err == nil {
		t.Errorf("still serving after Close")
	}
}

// TestLingerServesUntilCanceled: Linger keeps serving while it lingers and
// stops when ctx ends, saying both.
func TestLingerServesUntilCanceled(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", New())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var progress strings.Builder
	done := make(chan struct{})
	go func() { srv.Linger(ctx, time.Hour, &progress); close(done) }()
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatalf("not served while lingering: %v", err)
	}
	resp.Body.Close()
	cancel()
	<-done
	if !strings.Contains(progress.String(), "serving the final metrics at "+srv.URL()+" for 1h0m0s") {
		t.Errorf("progress %q", progress.String())
	}
	if _, err := http.Get(srv.URL()); err == nil {
		t.Error("still served after Linger returned")
	}
}
