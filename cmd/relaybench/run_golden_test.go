package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/testkit"
)

// update rewrites the golden files instead of comparing with them:
// go test ./cmd/relaybench/ -run Golden -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRunGolden runs `relaybench run` in-process on a socks target served by
// fake SocksPorts and a fake MetricsPort (runner/testkit), no tor, and checks
// what a user sees: the exit code, stdout and the run directory. It uses
// only the CLI surface (arguments, stdout, files on disk) so that it holds
// whatever package the run's orchestration and record types live in.
//
// The numbers are checked against what the fakes make true by construction
// (a rate cap per stream, a circuit-build delay, resets at a known time),
// with tolerances for a busy machine. The golden files pin only what is
// deterministic: the file list, each step's load, the error classes, the
// field set of summary.json, its deterministic values and the shape of
// stdout with numbers masked.
func TestRunGolden(t *testing.T) {
	t.Run("ramp", testGoldenRamp)
	t.Run("streams-die", testGoldenStreamsDie)
}

const (
	// goldenRate caps every stream at 1 MiB/s: a step of N streams then
	// carries N MiB/s less the gaps between a stream's downloads.
	goldenRate = 1 << 20
	// goldenCircuitBuild is the fakes' delay before the SOCKS reply. It is
	// long against the machine's scheduling noise, so TTFB is about this
	// at every step and the latency rule (p95 more than twice the first
	// step's) cannot fire by accident.
	goldenCircuitBuild = 200 * time.Millisecond
)

// startFakes starts n fake SocksPorts shaped by policy and a fake
// MetricsPort whose relay carries what they forward.
func startFakes(t *testing.T, n int, policy testkit.Policy) ([]*testkit.SOCKSServer, *testkit.MetricsPort) {
	var socks []*testkit.SOCKSServer
	for range n {
		socks = append(socks, testkit.StartSOCKS(t, testkit.WithPolicy(policy)))
	}
	mp := testkit.StartMetricsPort(t)
	mp.FollowSOCKS(socks...)
	return socks, mp
}

// goldenScenario is a socks-target scenario through the fakes.
func goldenScenario(t *testing.T, name string, socks []*testkit.SOCKSServer, mp *testkit.MetricsPort, body string) string {
	var addrs []string
	for _, s := range socks {
		addrs = append(addrs, fmt.Sprintf("%q", s.Addr()))
	}
	metrics := ""
	if mp != nil {
		metrics = fmt.Sprintf("\n    metrics_urls: [%q]", mp.URL())
	}
	yaml := fmt.Sprintf("name: %s\ntarget:\n  kind: socks\n  socks:\n    addresses: [%s]%s\n%s",
		name, strings.Join(addrs, ", "), metrics, body)
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// goldenRun is one `relaybench run` and what it left.
type goldenRun struct {
	exit     int
	stdout   string
	dir      string
	files    []string
	steps    []stepLine
	requests []requestLine
	summary  map[string]any
}

// stepLine and requestLine are the fields of steps.jsonl and
// requests.jsonl this test reads, as the files spell them.
type stepLine struct {
	Rep       int       `json:"rep"`
	Step      int       `json:"step"`
	Load      int       `json:"load"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	WarmupEnd time.Time `json:"warmup_end"`
}

type requestLine struct {
	Step      int       `json:"step"`
	Load      int       `json:"load"`
	Endpoint  int       `json:"endpoint"`
	Start     time.Time `json:"start"`
	ConnectNS int64     `json:"connect_ns"`
	TTFBNS    int64     `json:"ttfb_ns"`
	TTLBNS    int64     `json:"ttlb_ns"`
	Bytes     int64     `json:"bytes"`
	Status    int       `json:"status"`
	Error     string    `json:"error"`
	Detail    string    `json:"detail"`
	Warmup    bool      `json:"warmup"`
}

func (r requestLine) end() time.Time { return r.Start.Add(time.Duration(r.TTLBNS)) }

// runCLI runs `relaybench run --out OUT SCENARIO` in-process, wants exit
// code 0 (the scenarios set no thresholds) and every file of a run, and
// reads the run directory.
func runCLI(t *testing.T, scenario string) goldenRun {
	t.Helper()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run([]string{"run", "--out", out, scenario}, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	g := goldenRun{exit: exitCode(err), stdout: stdout.String()}
	if err != nil {
		t.Logf("run: %v", err)
	}
	entries, rerr := os.ReadDir(out)
	if rerr != nil || len(entries) != 1 {
		t.Fatalf("--out %s holds %d entries (%v), want one run directory", out, len(entries), rerr)
	}
	g.dir = filepath.Join(out, entries[0].Name())
	files, rerr := os.ReadDir(g.dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, f := range files {
		g.files = append(g.files, f.Name())
	}
	if g.exit != exitOK {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s", g.exit, g.stdout)
	}
	checkRunFiles(t, g)
	g.steps = readJSONLines[stepLine](t, filepath.Join(g.dir, "steps.jsonl"))
	g.requests = readJSONLines[requestLine](t, filepath.Join(g.dir, "requests.jsonl"))
	b, rerr := os.ReadFile(filepath.Join(g.dir, "summary.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err := json.Unmarshal(b, &g.summary); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return g
}

// readJSONLines decodes every line of a JSON-lines file; a line that does
// not parse fails the test (the run has ended, so none may be torn).
func readJSONLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s line %d: %v", filepath.Base(path), n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rawFiles are the files a run streams to disk; the rest are derived.
var rawFiles = []string{"scenario.yaml", "run.json", "env.json", "requests.jsonl", "steps.jsonl", "metrics.jsonl", "processes.jsonl", "circuits.jsonl"}

func testGoldenRamp(t *testing.T) {
	const size = 1536 << 10 // 1.5 s per download at the rate cap
	socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: goldenRate, ReplyDelay: goldenCircuitBuild}))
	path := goldenScenario(t, "golden-ramp", socks, mp, `payload:
  size: 1536KiB
workload:
  kind: bulk
  isolation: stream
ramp:
  steps: [1, 2, 4]
  step_duration: 4s
  warmup: 1s
sampling:
  interval: 500ms
`)
	g := runCLI(t, path)

	loads := []int{1, 2, 4}
	if len(g.steps) != len(loads) {
		t.Fatalf("steps.jsonl has %d steps, want %d", len(g.steps), len(loads))
	}
	for i, st := range g.steps {
		if st.Step != i || st.Load != loads[i] || st.Rep != 0 {
			t.Errorf("steps.jsonl line %d: step %d load %d rep %d, want step %d load %d rep 0", i+1, st.Step, st.Load, st.Rep, i, loads[i])
		}
		if d := st.End.Sub(st.Start); d < 4*time.Second || d > 5*time.Second {
			t.Errorf("step %d lasted %v, want the 4 s of ramp.step_duration", i+1, d)
		}
		if d := st.WarmupEnd.Sub(st.Start); d != time.Second {
			t.Errorf("step %d warm-up %v, want 1 s", i+1, d)
		}
	}

	// Every byte the fakes sent to a client is in requests.jsonl, but for
	// the HTTP response headers (under 1 KiB a request) and what a request
	// cut at the step's end left unread in its socket (a few of the fake's
	// 20 KiB pacing chunks at most).
	var recorded, sent, slack int64
	for _, r := range g.requests {
		recorded += r.Bytes
		slack += 1 << 10
		if r.Error == "step-end" {
			slack += 64 << 10
		}
		if r.Error != "" && r.Error != "step-end" {
			t.Errorf("request failed: %+v", r)
		}
		if r.Error == "" && (r.Bytes != size || r.Status != 200) {
			t.Errorf("a successful request has %d bytes, status %d; want %d, 200", r.Bytes, r.Status, size)
		}
	}
	for _, s := range socks {
		sent += s.Stats().BytesDown
	}
	if d := sent - recorded; d < 0 || d > slack {
		t.Errorf("the fakes sent %d bytes, requests.jsonl records %d in %d requests: want %d to %d fewer", sent, recorded, len(g.requests), 0, slack)
	}

	// By construction: a stream downloads at the cap except while its next
	// circuit is built, so a step of N streams carries N·rate·size/(size +
	// rate·build) on average. -20% for a busy machine (scheduling gaps
	// between downloads), +8% for the window's edges and each download's
	// first chunk, sent before the pacing starts.
	steps := g.summary["steps"].([]any)
	for i, s := range steps {
		st := s.(map[string]any)
		n := float64(loads[i])
		duty := float64(size) / (float64(size) + goldenRate*goldenCircuitBuild.Seconds())
		want := n * goldenRate * duty
		got := num(t, st, "goodput", "mean")
		if got < 0.8*want || got > 1.08*want {
			t.Errorf("step %d (%d streams): goodput %.3f MiB/s, want %.3f MiB/s -20%%/+8%% (%d × 1 MiB/s × %.2f)", i+1, loads[i], got/(1<<20), want/(1<<20), loads[i], duty)
		}
		// A stream's own rate is the cap (bytes over the time from its first
		// to its last byte).
		if p50 := num(t, st, "stream_goodput", "p50"); p50 < 0.8*goldenRate || p50 > 1.05*goldenRate {
			t.Errorf("step %d: stream goodput p50 %.3f MiB/s, want the 1 MiB/s cap -20%%/+5%%", i+1, p50/(1<<20))
		}
		// Connect is the circuit build; the first byte follows at once on
		// the attached stream.
		if p50 := num(t, st, "connect_s", "p50"); p50 < goldenCircuitBuild.Seconds() || p50 > goldenCircuitBuild.Seconds()+0.25 {
			t.Errorf("step %d: connect_s p50 %.3f s, want the %v circuit build +0.25 s", i+1, p50, goldenCircuitBuild)
		}
		if p50 := num(t, st, "ttfb_s", "p50"); p50 > 0.25 {
			t.Errorf("step %d: ttfb_s p50 %.3f s, want under 0.25 s: the fake answers at once once the stream is attached", i+1, p50)
		}
		// The relay wrote what the fakes forwarded: the client's goodput,
		// give or take the scrape times.
		if w := num(t, st, "relay", "written_bps"); w < 0.7*got || w > 1.3*got {
			t.Errorf("step %d: relay wrote %.3f MiB/s, the clients got %.3f: want within 30%%", i+1, w/(1<<20), got/(1<<20))
		}
		if st["errors"] != nil || num(t, st, "error_rate") != 0 {
			t.Errorf("step %d: errors %v, want none", i+1, st["errors"])
		}
	}
	// No overload: goodput doubles with the streams and latency stays at
	// the circuit build, so the capacity is the last step's and only a lower
	// bound.
	if g.summary["onset"] != nil {
		t.Errorf("onset %v, want none", g.summary["onset"])
	}
	capacity, _ := g.summary["capacity"].(map[string]any)
	if capacity == nil || num(t, capacity, "step") != 2 || capacity["lower_bound"] != true ||
		!slices.Contains(capacity["reasons"].([]any), any("no overload signal fired: the relay may carry more than the highest load tried")) {
		t.Errorf("capacity %v, want the last step as a lower bound, no overload seen", capacity)
	}
	if !strings.Contains(g.stdout, "results in "+g.dir+": ") {
		t.Errorf("stdout does not name the run directory %s:\n%s", g.dir, g.stdout)
	}
	golden(t, "run-socks-ramp.golden", describe(t, g, true))
}

func testGoldenStreamsDie(t *testing.T) {
	// Each fake's first two streams (the four the step starts with, spread
	// round-robin) are reset 6 s after they attach: after the 2 s warm-up,
	// long before the step ends. Their replacements run to the step's end:
	// 64 MiB at 1 MiB/s outlasts the step.
	const resetAfter = 6 * time.Second
	socks, mp := startFakes(t, 2, testkit.Schedule(
		testkit.Rule{From: 0, To: 2, Behavior: testkit.Behavior{Rate: goldenRate, ReplyDelay: goldenCircuitBuild, ResetAfter: resetAfter}},
		testkit.Rule{From: 2, Behavior: testkit.Behavior{Rate: goldenRate, ReplyDelay: goldenCircuitBuild}},
	))
	path := goldenScenario(t, "golden-streams-die", socks, mp, `payload:
  size: 64MiB
workload:
  kind: bulk
  isolation: stream
ramp:
  steps: [4]
  step_duration: 8s
  warmup: 2s
sampling:
  interval: 500ms
`)
	g := runCLI(t, path)
	if len(g.steps) != 1 {
		t.Fatalf("steps.jsonl has %d steps, want 1", len(g.steps))
	}
	st := g.steps[0]
	for _, s := range socks {
		if got := s.Stats().Reset; got != 2 {
			t.Errorf("fake %s reset %d streams, want 2", s.Addr(), got)
		}
	}
	// The four resets are in requests.jsonl as failures that ended after the
	// warm-up, about 6 s after their circuits were built.
	var died, cut []requestLine
	for _, r := range g.requests {
		switch r.Error {
		case "step-end":
			cut = append(cut, r)
		case "":
			t.Errorf("a 64 MiB download completed in an 8 s step at 1 MiB/s: %+v", r)
		default:
			died = append(died, r)
		}
	}
	if len(died) != 4 || len(cut) != 4 {
		t.Fatalf("%d failed and %d cut requests, want 4 reset and 4 replacements cut at the step's end", len(died), len(cut))
	}
	for _, r := range died {
		life := time.Duration(r.TTLBNS)
		if !r.Warmup || !r.end().After(st.WarmupEnd) || life < resetAfter || life > resetAfter+goldenCircuitBuild+time.Second {
			t.Errorf("reset request started in the warm-up %v, ended %v after the step start (warm-up %v), lived %v; want a warm-up start, an end after the warm-up, a life of %v + the circuit build",
				r.Warmup, r.end().Sub(st.Start), st.WarmupEnd.Sub(st.Start), life, resetAfter)
		}
		if r.Bytes < 4<<20 || r.Bytes > 7<<20 {
			t.Errorf("reset request got %d bytes, want about 6 s at 1 MiB/s", r.Bytes)
		}
		if r.Error != died[0].Error || r.Detail == "" {
			t.Errorf("reset requests have classes %q and %q, want one class and a detail", r.Error, died[0].Error)
		}
	}
	for _, r := range cut {
		if r.Warmup || !r.Start.After(st.WarmupEnd) {
			t.Errorf("replacement request started %v into the step, want after the warm-up", r.Start.Sub(st.Start))
		}
	}
	// The class is what today's classifier gives a stream reset mid-body
	// ("other": the body read fails with ECONNRESET, not a short read); the
	// golden file pins it, so a change of classification shows.
	t.Logf("reset requests: class %q, detail %q", died[0].Error, died[0].Detail)
	// A request counts in the window where it ended: the four failures,
	// started in the warm-up, are the step's, beside its four cuts. None
	// succeeded, so the error rate is 4 of 4; the errors rule fires at the
	// only step, which is then no capacity.
	step := g.summary["steps"].([]any)[0].(map[string]any)
	errs, _ := step["errors"].(map[string]any)
	if num(t, step, "requests") != 8 || num(t, step, "cut") != 4 || errs[died[0].Error] != float64(4) || num(t, step, "error_rate") != 1 {
		t.Errorf("summary.json step: requests %v, cut %v, errors %v, error_rate %v; want 8 requests, 4 cut, 4 %s, error rate 1",
			step["requests"], step["cut"], step["errors"], step["error_rate"], died[0].Error)
	}
	onset, _ := g.summary["onset"].(map[string]any)
	if onset == nil || onset["cause"] != "errors" || num(t, onset, "step") != 0 {
		t.Errorf("onset %v, want errors at the step", g.summary["onset"])
	}
	if g.summary["capacity"] != nil || !strings.Contains(fmt.Sprint(g.summary["no_capacity"]), "no healthy step") {
		t.Errorf("capacity %v (%v), want none: the only step failed its requests", g.summary["capacity"], g.summary["no_capacity"])
	}
	golden(t, "run-socks-streams-die.golden", describe(t, g, false))
}

// checkRunFiles checks that every raw file is there and that the run's
// derived files were written.
func checkRunFiles(t *testing.T, g goldenRun) {
	t.Helper()
	for _, name := range append(slices.Clone(rawFiles), "summary.json", "steps.csv", "report.md", "report.html", "bench.txt") {
		if !slices.Contains(g.files, name) {
			t.Errorf("%s missing from the run directory (it has %v)", name, g.files)
		}
	}
	for _, name := range []string{"scenario.yaml", "run.json", "env.json", "requests.jsonl", "steps.jsonl", "metrics.jsonl", "processes.jsonl", "summary.json"} {
		if fi, err := os.Stat(filepath.Join(g.dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s is empty (%v)", name, err)
		}
	}
}

// num returns the number at keys in m (a decoded JSON object), failing the
// test when it is not one.
func num(t *testing.T, m map[string]any, keys ...string) float64 {
	t.Helper()
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("summary.json: %s is not an object", strings.Join(keys, "."))
		}
		v = o[k]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("summary.json: %s is %v, not a number", strings.Join(keys, "."), v)
	}
	return f
}

// describe is the deterministic part of a run, as the golden file holds it.
// With conclusions false it leaves out summary.json and stdout: what the
// analysis concludes from a run whose failures it does not yet count right
// must not be pinned.
func describe(t *testing.T, g goldenRun, conclusions bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "exit code: %d\n\nrun directory:\n", g.exit)
	for _, f := range g.files {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	b.WriteString("\nsteps.jsonl (rep step load):\n")
	for _, s := range g.steps {
		fmt.Fprintf(&b, "  %d %d %d\n", s.Rep, s.Step, s.Load)
	}
	b.WriteString("\nrequests.jsonl, error classes by step and window:\n")
	type key struct {
		step   int
		warmup bool
		class  string
	}
	counts := map[key]int{}
	for _, r := range g.requests {
		class := r.Error
		if class == "" {
			class = "ok"
		}
		counts[key{r.Step, r.Warmup, class}]++
	}
	for _, k := range slices.SortedFunc(maps.Keys(counts), func(a, b key) int {
		return strings.Compare(fmt.Sprint(a.step, !a.warmup, a.class), fmt.Sprint(b.step, !b.warmup, b.class))
	}) {
		window := "measured"
		if k.warmup {
			window = "warm-up"
		}
		n := fmt.Sprint(counts[k])
		if k.class == "ok" || k.class == "step-end" {
			n = "some" // how many completed depends on the machine's speed
		}
		fmt.Fprintf(&b, "  step %d %s %s: %s\n", k.step, window, k.class, n)
	}
	if !conclusions {
		return []byte(b.String())
	}
	b.WriteString("\nsummary.json fields:\n")
	for _, p := range fieldPaths(g.summary) {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	b.WriteString("\nsummary.json deterministic values:\n")
	pinned := map[string]any{}
	for _, k := range []string{"version", "scenario", "target", "workload", "load_unit", "repetitions", "stopped_by", "thresholds", "onset"} {
		pinned[k] = g.summary[k]
	}
	var steps []map[string]any
	for _, s := range g.summary["steps"].([]any) {
		st := s.(map[string]any)
		steps = append(steps, map[string]any{"step": st["step"], "load": st["load"], "reps": st["reps"], "errors": st["errors"]})
	}
	pinned["steps"] = steps
	if c, ok := g.summary["capacity"].(map[string]any); ok {
		pinned["capacity"] = map[string]any{"step": c["step"], "load": c["load"], "lower_bound": c["lower_bound"]}
	}
	js, err := json.MarshalIndent(pinned, "  ", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("  " + string(js) + "\n")
	b.WriteString("\nstdout, numbers masked:\n")
	b.WriteString(maskStdout(g))
	return []byte(b.String())
}

// environmental are summary.json fields that depend on the machine, not on
// the run: the bottlenecks its load causes, and whose limit held at a step
// (present only when one did).
var environmental = []string{"steps[].bottlenecks", "steps[].attribution", "steps[].attribution_evidence"}

// fieldPaths lists the paths of every field of v, array elements merged
// (steps[].goodput.mean), sorted, environmental ones left out; so a renamed
// or dropped field of summary.json shows.
func fieldPaths(v any) []string {
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				if slices.ContainsFunc(environmental, func(env string) bool {
					return p == env || strings.HasPrefix(p, env+".") || strings.HasPrefix(p, env+"[]")
				}) {
					continue
				}
				set[p] = true
				walk(p, e)
			}
		case []any:
			for _, e := range v {
				walk(prefix+"[]", e)
			}
		}
	}
	walk("", v)
	return slices.Sorted(maps.Keys(set))
}

var (
	numberRE = regexp.MustCompile(`\d+(\.\d+)?`)
	borderRE = regexp.MustCompile(`^[┌├└][─┬┼┴┐┤┘]*$`)
	// boundRE is whose limit a capacity or an onset was: the machine's
	// on a busy machine, unknown on a quiet one.
	boundRE = regexp.MustCompile(`\b(relay|machine|load-generator|network)-bound\b|whose limit is unknown`)
)

// maskStdout is stdout with the run directory named RUNDIR, the table's
// rules dropped and its cells trimmed (their widths follow the numbers),
// every number replaced by N and what depends on the machine's load left
// out or masked: the bottlenecks, the generator-bound mark, the step
// table's limit column (LIMIT) and whose limit a capacity is (WHO-bound).
func maskStdout(g goldenRun) string {
	var env []string
	for _, s := range g.summary["steps"].([]any) {
		for _, bn := range asList(s.(map[string]any)["bottlenecks"]) {
			env = append(env, bn.(map[string]any)["evidence"].(string))
		}
	}
	// Whose limit the capacity is, and why, follows the machine's load too.
	if c, ok := g.summary["capacity"].(map[string]any); ok {
		for _, e := range asList(c["attribution_evidence"]) {
			env = append(env, e.(string))
		}
	}
	var b strings.Builder
	limitColumn := -1
	for _, line := range strings.Split(strings.ReplaceAll(g.stdout, g.dir, "RUNDIR"), "\n") {
		switch {
		case borderRE.MatchString(line):
			continue
		case line == "bottlenecks:":
			continue
		case slices.ContainsFunc(env, func(e string) bool { return strings.HasSuffix(line, e) }):
			continue
		case strings.HasPrefix(line, "│"):
			var cells []string
			for i, c := range strings.Split(strings.Trim(line, "│"), "│") {
				c = strings.TrimSpace(strings.ReplaceAll(c, "(generator-bound)", ""))
				switch {
				case c == "limit":
					limitColumn = i
				case i == limitColumn:
					c = "LIMIT"
				}
				cells = append(cells, c)
			}
			line = "| " + strings.Join(cells, " | ") + " |"
		default:
			line = boundRE.ReplaceAllString(line, "WHO-bound")
		}
		b.WriteString(numberRE.ReplaceAllString(line, "N") + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// golden compares got with testdata/golden/<name>, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}
