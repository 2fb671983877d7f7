// Package promexport owns relaybench's live Prometheus metrics: what
// `relaybench run --metrics-addr` serves on /metrics while a run goes. It
// turns each finished request record, each step boundary, each circuit the
// pool's clients built or failed to build and each overload signal the
// relay declared into relaybench_* series of a registry of its own, and
// serves that registry over HTTP. It computes nothing the analysis
// computes: the series are raw counts and histograms that Prometheus can
// aggregate across steps, segments and machines (percentiles cannot be).
//
// Labels are few and bounded: scenario, variant, segment, step (1-based, as
// in the reports), load, endpoint (the SOCKS endpoint's index), and on
// requests the error class, a small closed set (rundir's Class constants,
// socks-<reply>, http-<code>, "ok" for success). URLs, error text and
// circuit IDs never become labels. The relay's own MetricsPort series are
// not re-exported: Prometheus scrapes the relay itself (see
// deploy/prometheus/prometheus.yml).
//
// Where the series differ from the report: they count every request,
// warm-up included (the report leaves warm-up requests out of its
// statistics), and they count a request's bytes when it ends, so a long
// download shows as one step in the bytes counter.
package promexport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
)

// Namespace prefixes every series name.
const Namespace = "relaybench"

// LatencyBuckets are the classic histogram buckets of connect, TTFB and
// TTLB, in seconds: 1-2-5 steps from 1 ms (a loopback test network) to
// 10 min (a bulk download through a congested relay), past tor's own time
// scales (a circuit build times out after 60 s, a stream after 120 s).
var LatencyBuckets = []float64{
	0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
	1, 2, 5, 10, 20, 30, 60, 120, 300, 600,
}

// Native histograms (sparse, exponential buckets) are served beside the
// classic buckets to scrapers that ask for them (protobuf exposition,
// Prometheus with native histograms enabled): bucket boundaries grow by
// at most 10 %, in at most 160 buckets, reset at most once an hour.
const (
	nativeBucketFactor    = 1.1
	nativeMaxBuckets      = 160
	nativeMinResetSeconds = 3600
)

// ClassOK is the class label of a successful request.
const ClassOK = "ok"

// Circuit results, the result label of relaybench_circuits_total.
const (
	CircuitBuilt  = "built"
	CircuitFailed = "failed"
)

// Run names the run whose metrics follow; it labels every series.
type Run struct {
	Scenario string
	// Variant is the variant being run, empty without variants.
	Variant string
	// Segment is this process's share of a scaled-out run ("i/N"); empty
	// means "1/1", the whole run.
	Segment string
	// LoadUnit is what a step's load counts: "streams" or "req/s".
	LoadUnit string
	// Endpoints is the number of SOCKS endpoints: each step starts their
	// request, byte and latency series at 0, so that rate() sees the
	// first request of a step.
	Endpoints int
	// RelaySignals are the names of the relay-declared overload signals,
	// started at 0 so that "not fired" reads as 0, not as no data.
	RelaySignals []string
}

// Exporter holds a run's live metrics. Create it with New; its methods are
// safe for concurrent use.
type Exporter struct {
	reg *prometheus.Registry

	mu  sync.Mutex
	run Run
	// step and load label what happens between two step boundaries
	// (circuits); empty outside a step.
	step, load string

	connect, ttfb, ttlb *prometheus.HistogramVec
	requests            *prometheus.CounterVec
	bytes               *prometheus.CounterVec
	circuits            *prometheus.CounterVec
	curStep             *prometheus.GaugeVec
	offered             *prometheus.GaugeVec
	stepStart           *prometheus.GaugeVec
	relaySignal         *prometheus.GaugeVec
}

var (
	runLabels     = []string{"scenario", "variant", "segment"}
	stepLabels    = with(runLabels, "step", "load")
	requestLabels = with(stepLabels, "endpoint")
)

// with returns base followed by more, never sharing base's array.
func with(base []string, more ...string) []string {
	return append(base[:len(base):len(base)], more...)
}

// New returns an Exporter with every relaybench_* series registered in a
// registry of its own.
func New() *Exporter {
	e := &Exporter{reg: prometheus.NewRegistry()}
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: name, Help: help,
			Buckets:                         LatencyBuckets,
			NativeHistogramBucketFactor:     nativeBucketFactor,
			NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
			NativeHistogramMinResetDuration: nativeMinResetSeconds * time.Second,
		}, requestLabels)
	}
	e.connect = hist("connect_seconds", "SOCKS connect time of requests on a new connection: tor's circuit build and stream attach; a request cut by its step's end while connecting counts with the time it waited (a lower bound), as in the report.")
	e.ttfb = hist("ttfb_seconds", "Time from the request written on the attached stream to the first response byte; a request cut by its step's end before any byte counts with the time it waited (a lower bound), as in the report.")
	e.ttlb = hist("ttlb_seconds", "Time to the last body byte of successful requests.")
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	e.requests = counter("requests_total",
		`Requests ended, by result class: "ok", "step-end" (cut by the step's end, not a failure) or the error class.`,
		with(requestLabels, "class"))
	e.bytes = counter("received_bytes_total", "Body bytes received, counted when their request ends.", requestLabels)
	e.circuits = counter("circuits_total",
		`Circuits the pool's tor clients built ("built") or lost before they were built ("failed"), from their control ports' CIRC events.`,
		with(stepLabels, "result"))
	e.curStep = gauge("step", "The running ramp step, 1-based; 0 between steps and after the run.", runLabels)
	e.offered = gauge("offered_load",
		"The running step's load: concurrent streams (unit streams) or requests per second (unit req/s); 0 between steps.",
		with(runLabels, "unit"))
	e.stepStart = gauge("step_start_timestamp_seconds",
		"Unix time the running step began; one series, labelled with the step, replaced at each step boundary (dashboard annotations).",
		with(stepLabels, "rep"))
	e.relaySignal = gauge("relay_overload_signal",
		"1 once the relay under test declared this overload signal on its MetricsPort during the run (relaybench's onset rules, live), else 0.",
		with(runLabels, "signal"))
	e.reg.MustRegister(e.connect, e.ttfb, e.ttlb, e.requests, e.bytes, e.circuits, e.curStep, e.offered, e.stepStart, e.relaySignal)
	return e
}

// Registry is the registry the series live in (for tests and for serving
// it with other collectors).
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Handler serves the registry in the format the scraper asks for (text,
// OpenMetrics or protobuf with native histograms).
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// SetRun starts the series of a run: the labels every later series gets,
// the step gauges at 0 and the relay signals at 0. Call it before the
// run's first step (session.Run does, for each variant).
func (e *Exporter) SetRun(r Run) {
	if r.Segment == "" {
		r.Segment = "1/1"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.run, e.step, e.load = r, "", ""
	rl := e.runValues()
	e.curStep.WithLabelValues(rl...).Set(0)
	e.offered.WithLabelValues(with(rl, r.LoadUnit)...).Set(0)
	for _, s := range r.RelaySignals {
		e.relaySignal.WithLabelValues(with(rl, s)...).Set(0)
	}
}

// runValues are the run's label values; e.mu held.
func (e *Exporter) runValues() []string {
	return []string{e.run.Scenario, e.run.Variant, e.run.Segment}
}

func stepLabel(step int) string { return strconv.Itoa(step + 1) }

// StepStarted marks a step boundary: s carries the step's Repetition,
// Step (0-based, as in the records), Load and Start.
func (e *Exporter) StepStarted(s rundir.StepSummary) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.step, e.load = stepLabel(s.Step), strconv.Itoa(s.Load)
	rl := e.runValues()
	e.curStep.WithLabelValues(rl...).Set(float64(s.Step + 1))
	e.offered.WithLabelValues(with(rl, e.run.LoadUnit)...).Set(float64(s.Load))
	e.stepStart.Reset()
	e.stepStart.WithLabelValues(with(rl, e.step, e.load, strconv.Itoa(s.Repetition+1))...).Set(float64(s.Start.UnixNano()) / 1e9)
	for i := range e.run.Endpoints {
		l := with(rl, e.step, e.load, strconv.Itoa(i))
		e.requests.WithLabelValues(with(l, ClassOK)...)
		e.bytes.WithLabelValues(l...)
		e.connect.WithLabelValues(l...)
		e.ttfb.WithLabelValues(l...)
		e.ttlb.WithLabelValues(l...)
	}
}

// StepDone marks the end of a step: the step gauges go back to 0 until
// the next step starts.
func (e *Exporter) StepDone(rundir.StepSummary) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.step, e.load = "", ""
	rl := e.runValues()
	e.curStep.WithLabelValues(rl...).Set(0)
	e.offered.WithLabelValues(with(rl, e.run.LoadUnit)...).Set(0)
}

// Observe counts one finished request. The latencies are the report's
// (measure.RequestLatencies): connect for a new connection, TTFB on the
// attached stream, a cut request's wait as its lower bound; TTLB of
// successes.
func (e *Exporter) Observe(rec *rundir.Record) {
	e.mu.Lock()
	rl := e.runValues()
	e.mu.Unlock()
	endpoint := "none"
	if rec.Endpoint >= 0 {
		endpoint = strconv.Itoa(rec.Endpoint)
	}
	l := with(rl, stepLabel(rec.Step), strconv.Itoa(rec.Load), endpoint)
	class := rec.Error
	if class == "" {
		class = ClassOK
	}
	e.requests.WithLabelValues(with(l, class)...).Inc()
	e.bytes.WithLabelValues(l...).Add(float64(rec.Bytes))
	connect, ttfb := measure.RequestLatencies(*rec)
	if connect > 0 {
		e.connect.WithLabelValues(l...).Observe(connect)
	}
	if ttfb > 0 {
		e.ttfb.WithLabelValues(l...).Observe(ttfb)
	}
	if rec.Error == "" {
		e.ttlb.WithLabelValues(l...).Observe(seconds(rec.TTLBNS))
	}
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// Circuit counts one circuit record of circuits.jsonl: built or failed
// (first-use records are not counted), labelled with the step running
// when it happened.
func (e *Exporter) Circuit(rec rundir.CircuitRecord) {
	var result string
	switch rec.Event {
	case rundir.CircuitBuilt:
		result = CircuitBuilt
	case rundir.CircuitFailed:
		result = CircuitFailed
	default:
		return
	}
	e.mu.Lock()
	l := with(e.runValues(), e.step, e.load, result)
	e.mu.Unlock()
	e.circuits.WithLabelValues(l...).Inc()
}

// RelaySignal records that the relay under test declared the overload
// signal name (a metricsport.SignalName) during the run.
func (e *Exporter) RelaySignal(name string) {
	e.mu.Lock()
	l := with(e.runValues(), name)
	e.mu.Unlock()
	e.relaySignal.WithLabelValues(l...).Set(1)
}

// Server serves an Exporter's /metrics on one address.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen starts serving e on addr (host:port; port 0 picks one) at
// /metrics, until Close.
func Listen(addr string, e *Exporter) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve metrics on %s: %w: pick a free port, e.g. --metrics-addr 127.0.0.1:9464", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.Handler())
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address served, with the port picked.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the metrics URL, http://Addr/metrics.
func (s *Server) URL() string { return "http://" + s.Addr() + "/metrics" }

// Close stops serving, letting a scrape in flight finish for up to 5 s.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Linger keeps serving for linger (or until ctx ends), so that Prometheus
// scrapes a run's final counts, then closes s; progress says so, and
// gets a warning when closing fails.
func (s *Server) Linger(ctx context.Context, linger time.Duration, progress io.Writer) {
	if linger > 0 {
		fmt.Fprintf(progress, "serving the final metrics at %s for %s (--metrics-linger; Ctrl-C stops)\n", s.URL(), linger)
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if err := s.Close(); err != nil {
		fmt.Fprintf(progress, "warning: stop serving metrics: %v\n", err)
	}
}
