package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/scenarios"
)

// TestPrometheusScrapesARun is the end-to-end check of the live metrics: a
// real Prometheus (Debian's, on loopback, 1 s scrapes, with the rules of
// prometheus/rules/) scrapes a short run on the embedded tor network
// through session.Run with Options.Metrics, and the relay's MetricsPort
// beside it. Afterwards its HTTP API must agree with the run directory:
// the bytes counter with requests.jsonl's byte total, the TTFB
// histogram_quantile with the exact p95 of the records to its bucket, the
// circuits counter with circuits.jsonl, the step start gauge with
// steps.jsonl; the relay's traffic series must cover
// the load, and every rule must have evaluated without error.
func TestPrometheusScrapesARun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a tor test network and Prometheus; skipped with -short")
	}
	promBin := tool(t, "prometheus")
	sc, err := scenarios.Builtin("local")
	if err != nil {
		t.Fatal(err)
	}
	sc.Ramp.Steps = []int{1, 2, 4}
	sc.Ramp.StepDuration = scenarios.Duration(10 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
	sc.Repetitions = 1
	sc.Payload.Size = 1 << 20
	sc.Sampling.Interval = scenarios.Duration(time.Second)

	exp := promexport.New()
	srv, err := promexport.Listen("127.0.0.1:0", exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	out := t.TempDir()
	var prom *prometheus
	opts := session.Options{OutDir: out, Progress: logWriter{t}, Metrics: exp,
		// The pool is up and run.json names the relay's MetricsPort: start
		// Prometheus before the load.
		OnClients: func([]*chutney.Client) {
			prom = startPrometheus(t, promBin, srv.Addr(), targetMetricsURL(t, out))
		}}
	res, err := session.Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if prom == nil {
		t.Fatal("the run never reached its clients: Prometheus did not start")
	}
	lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := rundir.ReadFile[rundir.StepSummary](res.Dir, rundir.StepsFile)
	if err != nil || len(steps.Records) != len(sc.Ramp.Steps) {
		t.Fatalf("steps.jsonl: %d steps (%v), want %d", len(steps.Records), err, len(sc.Ramp.Steps))
	}
	var wantBytes float64
	var ttfb []float64
	for _, r := range lines.Records {
		wantBytes += float64(r.Bytes)
		// The report's TTFB, on the attached stream, a cut request's wait
		// included, computed from the raw record.
		if _, d := measure.RequestLatencies(r); d > 0 {
			ttfb = append(ttfb, d)
		}
	}
	if wantBytes == 0 || len(ttfb) == 0 {
		t.Fatalf("the run received %.0f bytes in %d requests: nothing to compare", wantBytes, len(lines.Records))
	}
	first, last := steps.Records[0].Start, steps.Records[len(steps.Records)-1].End

	// Prometheus scrapes every second: wait for a scrape after the last
	// record (the exporter still serves), then compare the bytes exactly.
	var gotBytes float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := prom.query(t, "sum(relaybench_received_bytes_total)", time.Now())
		if len(v) == 1 {
			gotBytes = float64(v[0].Value)
		}
		if gotBytes == wantBytes || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if gotBytes != wantBytes {
		t.Errorf("Prometheus has relaybench_received_bytes_total %.0f, requests.jsonl %.0f bytes", gotBytes, wantBytes)
	}
	t.Logf("bytes: Prometheus %.0f, requests.jsonl %.0f in %d records", gotBytes, wantBytes, len(lines.Records))

	// Circuits: the counter by result against circuits.jsonl, and the
	// success rate in summary.json.
	circs, err := rundir.ReadFile[rundir.CircuitRecord](res.Dir, rundir.CircuitsFile)
	if err != nil {
		t.Fatal(err)
	}
	wantCircuits := map[string]float64{}
	reasons := map[string]int{}
	for _, c := range circs.Records {
		if c.Event == rundir.CircuitBuilt || c.Event == rundir.CircuitFailed {
			wantCircuits[c.Event]++
		}
		if c.Event == rundir.CircuitFailed {
			reasons[c.Reason]++
		}
	}
	t.Logf("failed circuits by tor's reason: %v", reasons)
	gotCircuits := map[string]float64{}
	for _, s := range prom.query(t, "sum by (result) (relaybench_circuits_total)", time.Now()) {
		gotCircuits[string(s.Metric["result"])] = float64(s.Value)
	}
	t.Logf("circuits: Prometheus %v, circuits.jsonl %v", gotCircuits, wantCircuits)
	if gotCircuits[promexport.CircuitBuilt] != wantCircuits[rundir.CircuitBuilt] || gotCircuits[promexport.CircuitFailed] != wantCircuits[rundir.CircuitFailed] || wantCircuits[rundir.CircuitBuilt] == 0 {
		t.Errorf("relaybench_circuits_total %v, circuits.jsonl %v; want the same, some built", gotCircuits, wantCircuits)
	}
	if a := res.Analysis; a == nil {
		t.Error("no analysis")
	} else {
		for _, st := range a.Steps {
			if st.CircuitSuccess == nil {
				t.Errorf("step %d: no circuit success rate in summary.json", st.Step+1)
			} else {
				t.Logf("step %d: circuits built %d, failed %d, success %.3f", st.Step+1, st.CircuitsBuilt, st.CircuitsFailed, *st.CircuitSuccess)
			}
		}
	}

	// The exact p95 (nearest rank, measure's definition) lies in the bucket
	// histogram_quantile interpolated in.
	exact := measure.NewDistribution(ttfb).P95
	v := prom.query(t, "histogram_quantile(0.95, sum by (le) (relaybench_ttfb_seconds_bucket))", time.Now())
	if len(v) != 1 {
		t.Fatalf("histogram_quantile of relaybench_ttfb_seconds_bucket: %d samples", len(v))
	}
	est := float64(v[0].Value)
	lo, hi := bucketOf(est)
	t.Logf("TTFB p95: exact %.4f s over %d requests, histogram_quantile %.4f s in bucket (%g, %g]", exact, len(ttfb), est, lo, hi)
	if !(exact > lo && exact <= hi) {
		t.Errorf("TTFB p95: exact %.4f s is not in the bucket (%g, %g] of Prometheus' %.4f s", exact, lo, hi, est)
	}

	// The step boundaries for the dashboard's annotations.
	m := prom.queryRange(t, "relaybench_step_start_timestamp_seconds", first.Add(-5*time.Second), last.Add(5*time.Second))
	starts := map[int]float64{}
	for _, s := range m {
		step, _ := strconv.Atoi(string(s.Metric["step"]))
		for _, p := range s.Values {
			starts[step] = float64(p.Value)
		}
	}
	for _, st := range steps.Records {
		got, ok := starts[st.Step+1]
		if want := float64(st.Start.UnixNano()) / 1e9; !ok || math.Abs(got-want) > 0.001 {
			t.Errorf("step %d: relaybench_step_start_timestamp_seconds %v (seen %v), steps.jsonl says it began at %.3f", st.Step+1, got, ok, want)
		}
	}

	// The relay's own traffic over the same time range.
	m = prom.queryRange(t, `tor_relay_traffic_bytes{job="tor-relay"}`, first, last)
	directions := map[string]bool{}
	for _, s := range m {
		dir := string(s.Metric["direction"])
		directions[dir] = true
		if len(s.Values) == 0 {
			continue
		}
		from, to := s.Values[0], s.Values[len(s.Values)-1]
		if from.Timestamp.Time().Sub(first) > 3*time.Second || last.Sub(to.Timestamp.Time()) > 3*time.Second {
			t.Errorf("tor_relay_traffic_bytes{direction=%q} covers %s to %s, the load ran %s to %s", dir, from.Timestamp.Time().Format(time.TimeOnly), to.Timestamp.Time().Format(time.TimeOnly), first.Format(time.TimeOnly), last.Format(time.TimeOnly))
		}
		inc := float64(to.Value - from.Value)
		t.Logf("relay %s %.0f bytes during the load: %.2f× what relaybench received", dir, inc, inc/wantBytes)
		if inc <= 0 {
			t.Errorf("the relay's %s traffic did not grow during the load", dir)
		}
	}
	if !directions["read"] || !directions["written"] {
		t.Errorf("tor_relay_traffic_bytes directions %v over the load, want read and written", directions)
	}

	// The rules ran on real series without an error, and the goodput rule
	// saw the load.
	for _, r := range prom.rules(t) {
		if r.Health != "ok" {
			t.Errorf("rule %s%s: health %s: %s", r.Name, r.Query, r.Health, r.LastError)
		}
	}
	if m := prom.queryRange(t, "relaybench:received_bytes:rate1m", first, last); len(m) != 1 || maxValue(m[0]) <= 0 {
		t.Errorf("relaybench:received_bytes:rate1m over the load: %v, want one series above 0", m)
	}
}

// bucketOf returns the classic bucket (lo, hi] of promexport's latency
// buckets that holds v.
func bucketOf(v float64) (lo, hi float64) {
	for _, le := range promexport.LatencyBuckets {
		if v <= le {
			return lo, le
		}
		lo = le
	}
	return lo, math.Inf(1)
}

func maxValue(s *model.SampleStream) float64 {
	m := math.Inf(-1)
	for _, p := range s.Values {
		m = max(m, float64(p.Value))
	}
	return m
}

// targetMetricsURL reads the relay's MetricsPort URL from the run.json
// of the run under out.
func targetMetricsURL(t *testing.T, out string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(out, "*", rundir.RunInfoFile))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("run.json under %s: %v (%v)", out, dirs, err)
	}
	info, err := rundir.ReadRunInfo(filepath.Dir(dirs[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range info.Metrics {
		if m.Role == rundir.RoleTarget {
			return m.URL
		}
	}
	t.Fatalf("run.json names no MetricsPort of the target: %+v", info.Metrics)
	return ""
}

// prometheus is a Prometheus server a test started.
type prometheus struct {
	base string
}

// startPrometheus runs Prometheus on a free loopback port with a storage
// directory of the test's, scraping relaybench at relaybenchAddr and the
// relay's MetricsPort at relayURL every second, with the repository's
// rules; it is stopped by PID when the test ends (and killed with the
// test process, whatever the exit path).
func startPrometheus(t *testing.T, bin, relaybenchAddr, relayURL string) *prometheus {
	t.Helper()
	u, err := url.Parse(relayURL)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("prometheus/rules")
	if err != nil {
		t.Fatal(err)
	}
	port, err := chutney.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: relaybench
    static_configs: [{targets: [%q]}]
  - job_name: tor-relay
    metrics_path: %q
    static_configs: [{targets: [%q]}]
`, filepath.Join(rules, "*.yml"), relaybenchAddr, u.Path, u.Host)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &prometheus{base: "http://" + listen}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready after 30 s (%v)", p.base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Prometheus hands new targets to its scrapers a few seconds after
	// start: wait until both answered, so the load is scraped from its
	// first second.
	for {
		if v := p.query(t, "count(up == 1)", time.Now()); len(v) == 1 && v[0].Value == 2 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s has not scraped relaybench and the relay after 30 s", p.base)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// api GETs an HTTP API path and decodes its data into data.
func (p *prometheus) api(t *testing.T, path string, params url.Values, data any) {
	t.Helper()
	resp, err := http.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if body.Status != "success" {
		t.Fatalf("GET %s?%s: %s: %s", path, params.Encode(), body.Status, body.Error)
	}
	if err := json.Unmarshal(body.Data, data); err != nil {
		t.Fatalf("GET %s: data: %v", path, err)
	}
}

func (p *prometheus) query(t *testing.T, q string, at time.Time) model.Vector {
	t.Helper()
	var data struct {
		Result model.Vector `json:"result"`
	}
	p.api(t, "/api/v1/query", url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}}, &data)
	return data.Result
}

func (p *prometheus) queryRange(t *testing.T, q string, from, to time.Time) model.Matrix {
	t.Helper()
	var data struct {
		Result model.Matrix `json:"result"`
	}
	ts := func(x time.Time) string { return strconv.FormatFloat(float64(x.UnixNano())/1e9, 'f', 3, 64) }
	p.api(t, "/api/v1/query_range", url.Values{"query": {q}, "start": {ts(from)}, "end": {ts(to)}, "step": {"1"}}, &data)
	return data.Result
}

// promRule is a rule as /api/v1/rules reports it.
type promRule struct {
	Name      string `json:"name"`
	Query     string `json:"query"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

func (p *prometheus) rules(t *testing.T) []promRule {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []promRule `json:"rules"`
		} `json:"groups"`
	}
	p.api(t, "/api/v1/rules", nil, &data)
	var out []promRule
	for _, g := range data.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Errorf("Prometheus loaded no rules")
	}
	return out
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
