package reports

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/scenarios"
)

// htmlInput is one analysis the HTML tests render.
type htmlInput struct {
	name string
	a    *measure.Analysis
	// charts are the data-chart values the report must hold.
	charts []string
}

var allCharts = []string{"goodput", "latency", "timeline", "cpu"}

// htmlInputs are testdata/html/*.summary.json (real runs; ratelimit is a
// bridge limited to BandwidthRate 1 MBytes, 2 repetitions of 1, 2, 4, 8
// streams on the embedded network) and analyses built here for what real
// runs rarely show.
func htmlInputs(t *testing.T) []htmlInput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "html", "*.summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/html/*.summary.json")
	}
	var out []htmlInput
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".summary.json")
		out = append(out, htmlInput{name: name, a: readHTMLInput(t, name), charts: allCharts})
	}
	return append(out,
		htmlInput{"bare", bareAnalysis(), []string{"goodput", "latency"}},
		htmlInput{"saturated", saturatedAnalysis(), allCharts},
		htmlInput{"single", singleAnalysis(), []string{"goodput", "timeline", "cpu"}},
	)
}

// readHTMLInput reads testdata/html/<name>.summary.json.
func readHTMLInput(t *testing.T, name string) *measure.Analysis {
	t.Helper()
	return readSummaryFile(t, filepath.Join("testdata", "html", name+".summary.json"))
}

func dist(n int, p50, p95 float64) measure.Distribution {
	return measure.Distribution{N: n, Mean: p50 * 1.1, P50: p50, P90: p95 * 0.9, P95: p95, P99: p95 * 1.3, Max: p95 * 1.6}
}

func estimate(n int, mean, half float64) measure.Estimate {
	return measure.Estimate{N: n, Mean: mean, StdDev: half * 2, Low: mean - half, High: mean + half}
}

var defaultThresholds = scenarios.Onset{SaturationGain: 0.1, LatencyFactor: 2, ConnectFactor: 2, ErrorRate: 0.01, SocketFraction: 0.9}

// bareAnalysis is a run against given SocksPorts: no MetricsPort, no
// process samples, and a summary.json from before the timeline existed.
func bareAnalysis() *measure.Analysis {
	a := &measure.Analysis{Version: 1, RunHeader: measure.RunHeader{Scenario: "socks-only", Target: "given SocksPorts", Workload: "churn", LoadUnit: "req/s",
		Repetitions: 1, StoppedBy: "completed"}, Thresholds: defaultThresholds}
	for i, load := range []int{2, 4, 8} {
		g := float64(load) * 180e3
		a.Steps = append(a.Steps, measure.StepResult{Step: i, Load: load, Reps: 1, WindowSeconds: 20,
			Requests: load * 20, OK: load * 20, Goodput: estimate(20, g, g*0.04), RepGoodput: []float64{g},
			StreamGoodput: dist(load*20, 200e3, 260e3),
			Connect:       dist(load*20, 0.4, 0.9), TTFB: dist(load*20, 0.45, 1.1), TTLB: dist(load*20, 0.7, 1.6)})
	}
	const unmeasured = "neither the relay's MetricsPort nor its CPU was measured: whose limit this is cannot be told"
	a.Capacity = &measure.Capacity{Step: 2, Load: 8, Goodput: a.Steps[2].Goodput, LowerBound: true,
		Reasons:     []string{"no overload signal fired: the relay may carry more than the highest load tried", unmeasured},
		Attribution: measure.AttributionUnknown, AttributionEvidence: []string{unmeasured}}
	a.Problems = []string{"metrics.jsonl is missing: no relay-side statistics"}
	return a
}

// saturatedAnalysis has its onset at the fourth step, caused by
// saturation while a tor client of the load generator was CPU-bound (the
// load generator's limit, so the capacity is its lower bound), with
// relay counters, errors, failed gates and a timeline built from formulas.
func saturatedAnalysis() *measure.Analysis {
	a := &measure.Analysis{Version: 1, RunHeader: measure.RunHeader{Scenario: "saturated", Target: "testnet relay as bridge", Workload: "bulk", LoadUnit: "streams",
		Repetitions: 1, StoppedBy: "completed"}, Thresholds: defaultThresholds}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tl := &measure.Timeline{Start: start}
	loads := []int{1, 2, 4, 8, 16}
	goodputs := []float64{1.1, 2.0, 3.5, 3.6, 3.55} // MiB/s
	clientCPU := []float64{0.2, 0.35, 0.6, 0.93, 0.97}
	for i, load := range loads {
		g := goodputs[i] * mib
		s := measure.StepResult{Step: i, Load: load, Reps: 1, WindowSeconds: 12,
			Requests: 10 * load, OK: 10*load - 2, Cut: 2, Warmup: load,
			Goodput: estimate(12, g, g*0.05), RepGoodput: []float64{g * 1.01}, StreamGoodput: dist(10*load, g/float64(load), g/float64(load)*1.2),
			Connect: dist(10*load, 0.05*float64(i+1), 0.2*float64(i+1)), TTFB: dist(10*load, 0.08*float64(i+1), 0.25*float64(i*i+1)),
			TTLB: dist(10*load-2, 1.5*float64(i+1), 3*float64(i+1)), Circuits: load * 3,
			Relay: &measure.RelayStep{URL: "http://127.0.0.1:9999/metrics", Scrapes: 15, Seconds: 12, ReadBps: g * 1.08, WrittenBps: g * 1.1,
				CircuitsMax: float64(load * 4), OnionskinsProcessedPerSec: 0.5, SocketsMax: float64(20 + load*4), SocketLimit: 100,
				DoS: map[string]float64{"conn_rejected": 0, "circuit_rejected": float64(i / 4)}},
			Processes: []measure.ProcessStep{
				{Name: "harness", Role: "harness", CPU: 0.1, CPUPeak: 0.2, RSSMax: 40 << 20},
				{Name: "load0", Role: "client", CPU: clientCPU[i], CPUPeak: min(clientCPU[i]+0.05, 1), RSSMax: 60 << 20},
				{Name: "machine", Role: "machine", CPU: 0.5 + clientCPU[i], CPUPeak: 1.8, Cores: 2},
				{Name: "rbtarget", Role: "target", CPU: 0.1 * float64(i+1), CPUPeak: 0.12 * float64(i+1), RSSMax: 80 << 20},
			},
		}
		if i >= 3 {
			s.Bottlenecks = []measure.Bottleneck{{Kind: measure.BottleneckClient, Name: "load0", Utilisation: clientCPU[i],
				Evidence: fmt.Sprintf("tor client load0 used %.0f%% of a core: the load generator, not the relay, was the limit", clientCPU[i]*100)}}
			s.LoadGeneratorBound = true
			s.Attribution, s.AttributionEvidence = measure.AttributionLoadGenerator, []string{s.Bottlenecks[0].Evidence}
			s.Signals = []measure.Signal{
				{Name: measure.SignalTTFB, Source: measure.SourceClient, Step: i, Load: load, Value: 5, Threshold: 2,
					Evidence: "p95 time to first byte on the attached stream 2.50 s is 10.0× the first step's 250 ms (limit 2.0×; 80 and 20 samples)"},
				{Name: measure.SignalSaturation, Source: measure.SourceClient, Step: i, Load: load, Value: 0.03, Threshold: 0.1,
					Evidence: "goodput 3.50 MiB/s → 3.60 MiB/s (+2.9%) while the load went 4 → 8; at least +10.0% was expected"},
			}
		}
		if i == 4 {
			s.Errors = map[string]int{"timeout": 3, "socks-general-failure": 1}
			s.Requests += 4
			s.ErrorRate = 4 / float64(s.OK+4)
			s.Relay.RateLimitWrite, s.Relay.OOMBytes, s.Relay.OnionskinsDroppedPerSec = 7, 1<<20, 0.25
			s.Relay.Reset = true
			s.Relay.FailedScrapes = 1
			s.Signals = append([]measure.Signal{{Name: measure.SignalErrors, Source: measure.SourceClient, Step: i, Load: load,
				Value: s.ErrorRate, Threshold: 0.01, Evidence: "4 of 82 requests failed (4.9%, limit 1.0%): socks-general-failure 1, timeout 3"}}, s.Signals...)
		}
		a.Steps = append(a.Steps, s)

		// 15 s per step, 3 s of warm-up, a sample each second.
		t0 := float64(i) * 15
		tl.Steps = append(tl.Steps, measure.TimelineStep{Rep: 0, Step: i, Load: load, Start: t0, WarmupEnd: t0 + 3, End: t0 + 15})
		for k := range 15 {
			tt := t0 + float64(k) + 0.5
			wobble := 1 + 0.08*math.Sin(tt*1.7)
			tl.Goodput = append(tl.Goodput, measure.Point{T: tt, V: g * wobble})
			tl.RelayRead = append(tl.RelayRead, measure.Point{T: tt + 0.5, V: g * 1.08 * wobble})
			tl.RelayWritten = append(tl.RelayWritten, measure.Point{T: tt + 0.5, V: g * 1.1 * wobble})
			tl.RateLimitHits = append(tl.RateLimitHits, measure.Point{T: tt + 0.5, V: float64(max(0, i-2) * (k % 4))})
		}
	}
	cpu := func(name, role string, f func(tt float64, step int) float64) measure.ProcessSeries {
		ps := measure.ProcessSeries{Name: name, Role: role}
		for k := 1; k <= 75; k++ {
			tt := float64(k)
			ps.Points = append(ps.Points, measure.Point{T: tt, V: f(tt, min(int(tt/15), 4))})
		}
		return ps
	}
	tl.CPU = []measure.ProcessSeries{
		cpu("harness", "harness", func(tt float64, _ int) float64 { return 0.1 + 0.02*math.Sin(tt) }),
		cpu("load0", "client", func(tt float64, i int) float64 { return clientCPU[i] * (1 + 0.03*math.Sin(tt)) }),
		cpu("load1", "client", func(tt float64, i int) float64 { return clientCPU[i] * 0.5 }),
		cpu("machine", "machine", func(tt float64, i int) float64 { return 0.5 + clientCPU[i] }),
		cpu("rbmiddle0", "relay", func(tt float64, i int) float64 { return 0.05 * float64(i+1) }),
		cpu("rbtarget", "target", func(tt float64, i int) float64 { return 0.1 * float64(i+1) }),
	}
	onsetAt := 45.0
	tl.OnsetAt = &onsetAt
	a.Timeline = tl
	a.Onset = &measure.Onset{Step: 3, Load: 8, Cause: measure.SignalTTFB, Signals: a.Steps[3].Signals, LoadGeneratorBound: true,
		Attribution: measure.AttributionLoadGenerator, AttributionEvidence: a.Steps[3].AttributionEvidence}
	// The onset step's ttfb rule fired: the capacity is the step before,
	// the last healthy one, as measure puts it.
	healthy := measure.StepRef{Step: 2, Load: 4, Goodput: a.Steps[2].Goodput}
	a.Capacity = &measure.Capacity{Step: 2, Load: 4, Goodput: a.Steps[2].Goodput, LastHealthy: &healthy, RelayReadBps: a.Steps[2].Relay.ReadBps,
		RelayWrittenBps: a.Steps[2].Relay.WrittenBps, LowerBound: true, Reasons: []string{"at the onset step (load 8): " + a.Steps[3].Bottlenecks[0].Evidence},
		Attribution: measure.AttributionLoadGenerator, AttributionEvidence: a.Steps[3].AttributionEvidence}
	a.LatencyRules = []measure.LatencyRule{
		{Name: measure.SignalConnect, Factor: 2, BaselineP95: 0.2, BaselineN: 10, Insufficient: "insufficient samples: the first step has 10 SOCKS connect (circuit build and stream attach) samples, a p95 needs at least 20"},
		{Name: measure.SignalTTFB, Factor: 2, BaselineP95: 0.25, BaselineN: 20},
	}
	a.Gates = []measure.Gate{
		{Name: "min_capacity", Limit: "5MiB/s", Value: "3.50 MiB/s", Detail: "capacity 3.50 MiB/s at step 3 (4 streams)"},
		{Name: "max_error_rate", Limit: "1.00%", Value: "0.40%", Passed: true, Detail: "4 of 1004 requests failed over the run"},
	}
	return a
}

// singleAnalysis is one step that carried nothing: no onset, no capacity,
// no latency samples, only the machine sampled.
func singleAnalysis() *measure.Analysis {
	a := &measure.Analysis{Version: 1, RunHeader: measure.RunHeader{Scenario: "single", Target: "testnet relay as guard", Workload: "bulk", LoadUnit: "streams",
		Repetitions: 1, StoppedBy: "interrupted"}, Thresholds: defaultThresholds,
		Steps: []measure.StepResult{{Step: 0, Load: 4, Reps: 1, WindowSeconds: 5, Requests: 4, Cut: 4,
			Goodput: measure.Estimate{N: 5}, GoodputSeries: []float64{0, 0, 0, 0, 0}, RepGoodput: []float64{0}}},
		Problems: []string{"the run was interrupted: the last step is partial"},
	}
	tl := &measure.Timeline{Start: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Steps: []measure.TimelineStep{{Rep: 0, Step: 0, Load: 4, Start: 0, WarmupEnd: 2, End: 7}}}
	for k := range 7 {
		tl.Goodput = append(tl.Goodput, measure.Point{T: float64(k) + 0.5})
	}
	tl.CPU = []measure.ProcessSeries{{Name: "machine", Role: "machine", Points: []measure.Point{{T: 1, V: 0.2}, {T: 2, V: 0.3}, {T: 3, V: 0.25}}}}
	a.Timeline = tl
	return a
}

func renderHTML(t *testing.T, a *measure.Analysis) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	for _, in := range htmlInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			golden(t, filepath.Join("html", in.name+".html.golden"), renderHTML(t, in.a))
		})
	}
}

// TestHTMLSelfContained checks that the report fetches nothing: no URL in
// any attribute that loads something, no external stylesheet, font or
// import, and no element that embeds another document.
func TestHTMLSelfContained(t *testing.T) {
	for _, in := range htmlInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			out := renderHTML(t, in.a)
			doc := parseHTML(t, out)
			for n := range doc.Descendants() {
				if n.Type != html.ElementNode {
					continue
				}
				switch n.Data {
				case "link", "img", "iframe", "object", "embed", "base", "image", "use", "audio", "video", "source", "frame":
					t.Errorf("<%s> in a self-contained report", n.Data)
				case "script":
					if attr(n, "src") != "" {
						t.Errorf("<script src=%q>", attr(n, "src"))
					}
				}
				for _, at := range n.Attr {
					switch strings.ToLower(at.Key) {
					case "src", "href", "xlink:href", "action", "formaction", "poster", "srcset", "data", "background", "ping":
						t.Errorf("<%s %s=%q>: the report must not load anything", n.Data, at.Key, at.Val)
					case "style":
						checkCSS(t, at.Val)
					}
				}
				if n.Data == "style" && n.FirstChild != nil {
					checkCSS(t, n.FirstChild.Data)
				}
			}
			checkNoNaN(t, out)
		})
	}
}

// checkNoNaN fails on a NaN or infinity anywhere but in the script (which
// may well say Infinity).
func checkNoNaN(t *testing.T, out []byte) {
	t.Helper()
	out = regexp.MustCompile(`(?s)<script>.*?</script>`).ReplaceAll(out, nil)
	if m := regexp.MustCompile(`.{0,60}\b(NaN|[+-]?Inf(inity)?)\b.{0,20}`).Find(out); m != nil {
		t.Errorf("output holds NaN or an infinity: %q", m)
	}
}

func checkCSS(t *testing.T, css string) {
	t.Helper()
	if strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
		t.Errorf("CSS imports or fonts: %.80q", css)
	}
	for _, m := range regexp.MustCompile(`url\(\s*['"]?([^)'"]*)`).FindAllStringSubmatch(css, -1) {
		if !strings.HasPrefix(m[1], "#") && !strings.HasPrefix(m[1], "data:") {
			t.Errorf("CSS url(%s)", m[1])
		}
	}
}

// TestHTMLStructure checks what the report must show independently of the
// golden files: the charts, their titles, the onset and capacity marks and
// a note in place of each chart that has no data.
func TestHTMLStructure(t *testing.T) {
	for _, in := range htmlInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			out := renderHTML(t, in.a)
			checkWellFormed(t, out)
			doc := parseHTML(t, out)
			var charts []string
			marks := map[string][]string{}
			for n := range doc.Descendants() {
				if n.Type != html.ElementNode || n.Data != "svg" || !hasClass(n, "chart") {
					continue
				}
				kind := attr(n, "data-chart")
				charts = append(charts, kind)
				first := n.FirstChild
				for first != nil && first.Type != html.ElementNode {
					first = first.NextSibling
				}
				if first == nil || first.Data != "title" || first.FirstChild == nil || strings.TrimSpace(first.FirstChild.Data) == "" {
					t.Errorf("chart %s: the first child is not a <title>", kind)
				}
				for m := range n.Descendants() {
					if v := attr(m, "data-mark"); v != "" {
						marks[kind] = append(marks[kind], v)
					}
				}
				series := 0
				for m := range n.Descendants() {
					if m.Type == html.ElementNode && hasClass(m, "series") {
						series++
						if attr(m, "data-pts") == "" {
							t.Errorf("chart %s: series %s has no data-pts", kind, attr(m, "data-series"))
						}
					}
				}
				if series == 0 {
					t.Errorf("chart %s has no series", kind)
				}
			}
			if !slices.Equal(charts, in.charts) {
				t.Errorf("charts %q, want %q", charts, in.charts)
			}
			if missing := bytes.Count(out, []byte(`<p class="missing">`)); missing != 4-len(in.charts) {
				t.Errorf("%d notes for missing charts, want %d", missing, 4-len(in.charts))
			}
			if in.a.Onset != nil {
				for _, kind := range []string{"goodput", "timeline"} {
					if slices.Contains(in.charts, kind) && !slices.Contains(marks[kind], "onset") {
						t.Errorf("chart %s has no onset marker (marks %q)", kind, marks[kind])
					}
				}
			}
			if in.a.Capacity != nil && !slices.Contains(marks["goodput"], "capacity") {
				t.Errorf("goodput chart has no capacity mark")
			}
			if slices.Contains(in.charts, "cpu") && !slices.Contains(marks["cpu"], "one-core") {
				t.Errorf("cpu chart has no one-core reference line")
			}
			if rows := bytes.Count(out, []byte("<tr")); rows < 3*len(in.a.Steps) {
				t.Errorf("%d table rows for %d steps", rows, len(in.a.Steps))
			}
		})
	}
	out := renderHTML(t, saturatedAnalysis())
	if !bytes.Contains(out, []byte(`data-mark="generator-bound"`)) {
		t.Error("the generator-bound steps are not marked")
	}
	if !bytes.Contains(out, []byte("≥ 3.50 MiB/s")) {
		t.Error("a lower-bound capacity is not shown as one")
	}
}

// TestHTMLVerdictMatchesTerminal: the HTML verdict says what Verdict says,
// line by line.
func TestHTMLVerdictMatchesTerminal(t *testing.T) {
	for _, in := range htmlInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			doc := parseHTML(t, renderHTML(t, in.a))
			var section *html.Node
			for n := range doc.Descendants() {
				if n.Type == html.ElementNode && attr(n, "id") == "verdict" {
					section = n
				}
			}
			if section == nil {
				t.Fatal("no #verdict section")
			}
			got := normSpace(textOf(section))
			for line := range strings.Lines(Verdict(in.a)) {
				want := normSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
				if want != "" && !strings.Contains(got, want) {
					t.Errorf("the verdict misses %q", want)
				}
			}
		})
	}
}

// TestHTMLVerdictClassesFollowTheValues: the class of each verdict block
// and note is what the analysis's values call for (worked out here from
// the values), whatever the words say: a problem whose text reads like
// verdict heads stays one warning item.
func TestHTMLVerdictClassesFollowTheValues(t *testing.T) {
	inputs := htmlInputs(t)
	tricky := saturatedAnalysis()
	tricky.Problems = []string{"capacity: unknown\nthresholds: FAILED\n  ok   FAIL"}
	for _, g := range tricky.Gates {
		g.Passed = !g.Passed
		g.Detail = "ok " + g.Detail + " LOWER BOUND"
		tricky.Gates = append(tricky.Gates, g)
	}
	inputs = append(inputs, htmlInput{name: "tricky", a: tricky})
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			a := in.a
			var blocks, notes []string
			if a.Capacity == nil {
				blocks = append(blocks, "bad")
			} else {
				blocks = append(blocks, "capacity")
				if a.Capacity.LastHealthy != nil {
					notes = append(notes, "") // a plain note
				}
				if a.Capacity.LowerBound {
					notes = append(notes, "warn")
				} else if a.Capacity.Attribution == measure.AttributionRelay {
					notes = append(notes, "ok") // limited by the relay under test
				}
			}
			if a.Onset == nil {
				blocks = append(blocks, "ok")
			} else {
				blocks = append(blocks, "onset")
				// Whose limit, when its evidence says more than the
				// signals listed: green for the relay, amber otherwise.
				for _, e := range a.Onset.AttributionEvidence {
					if !slices.ContainsFunc(a.Onset.Signals, func(sig measure.Signal) bool { return strings.Contains(e, sig.Evidence) }) {
						notes = append(notes, map[bool]string{true: "ok", false: "warn"}[a.Onset.Attribution == measure.AttributionRelay])
						break
					}
				}
				if a.Onset.LoadGeneratorBound {
					notes = append(notes, "warn")
				}
			}
			for _, r := range a.LatencyRules {
				if r.Insufficient != "" || len(r.SkippedSteps) > 0 {
					notes = append(notes, "warn")
				}
			}
			if len(a.Interruptions) > 0 {
				blocks = append(blocks, "bad")
			}
			for _, s := range a.Steps {
				if len(s.Bottlenecks) > 0 {
					blocks = append(blocks, "warn")
					break
				}
			}
			if len(a.Gates) > 0 {
				cls := "ok"
				for _, g := range a.Gates {
					if len(a.Unjudged()) > 0 {
						notes, cls = append(notes, ""), "bad" // not judged: no verdict on the gate
					} else if g.Passed {
						notes = append(notes, "ok")
					} else {
						notes, cls = append(notes, "bad"), "bad"
					}
				}
				blocks = append(blocks, cls)
			}
			if len(a.Problems) > 0 {
				blocks = append(blocks, "warn")
			}
			if len(a.Warnings) > 0 {
				blocks = append(blocks, "warn")
			}
			if len(a.Notes) > 0 {
				blocks = append(blocks, "")
			}
			var gotBlocks, gotNotes []string
			for n := range parseHTML(t, renderHTML(t, a)).Descendants() {
				if n.Type != html.ElementNode {
					continue
				}
				cls := strings.Fields(attr(n, "class"))
				switch {
				case n.Data == "div" && hasClass(n, "vblock"):
					gotBlocks = append(gotBlocks, strings.Join(cls[1:], " "))
				case n.Data == "p" && hasClass(n, "note"):
					gotNotes = append(gotNotes, strings.Join(cls[1:], " "))
				}
			}
			if !slices.Equal(gotBlocks, blocks) {
				t.Errorf("verdict blocks %q, want %q", gotBlocks, blocks)
			}
			if !slices.Equal(gotNotes, notes) {
				t.Errorf("verdict notes %q, want %q", gotNotes, notes)
			}
		})
	}
}

// TestHTMLEdgeCases: whatever the analysis holds, HTML writes a report and
// never a NaN.
func TestHTMLEdgeCases(t *testing.T) {
	if err := HTML(io.Discard, nil); err == nil {
		t.Error("HTML(nil) did not fail")
	}
	bad := saturatedAnalysis()
	nan := math.NaN()
	bad.Steps[1].Goodput = measure.Estimate{N: 3, Mean: nan, Low: math.Inf(-1), High: math.Inf(1)}
	bad.Steps[2].TTFB.P95 = nan
	bad.Steps[2].Relay.ReadBps = math.Inf(1)
	bad.Steps[0].Processes[0].CPU = nan
	bad.Timeline.Goodput[3].V = nan
	bad.Timeline.CPU[0].Points[2].T = nan
	bad.Capacity.Goodput.Mean = nan
	*bad.Timeline.OnsetAt = 1e9 // off the chart
	onsetless := saturatedAnalysis()
	onsetless.Onset.Step = 42 // a step that is not in Steps
	onsetless.Capacity.Step = 42
	for name, a := range map[string]*measure.Analysis{
		"empty":       {},
		"nan":         bad,
		"no steps":    {RunHeader: measure.RunHeader{Scenario: "x"}, Timeline: &measure.Timeline{}},
		"onset away":  onsetless,
		"one point":   {Steps: []measure.StepResult{{Load: 1}}, Timeline: &measure.Timeline{Goodput: []measure.Point{{T: 0, V: 5}}}},
		"all zero":    {Steps: []measure.StepResult{{Load: 0}, {Load: 0}}, Timeline: &measure.Timeline{Steps: []measure.TimelineStep{{End: 0}}, CPU: []measure.ProcessSeries{{Name: "m", Role: "machine", Points: []measure.Point{{T: 0}}}}}},
		"huge series": hugeAnalysis(),
	} {
		t.Run(name, func(t *testing.T) {
			out := renderHTML(t, a)
			checkNoNaN(t, out)
			checkWellFormed(t, out)
			if name == "huge series" && len(out) > 3<<20 {
				t.Errorf("a day-long timeline gave a %d-byte report", len(out))
			}
		})
	}
	a, b := renderHTML(t, saturatedAnalysis()), renderHTML(t, saturatedAnalysis())
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same analysis differ")
	}
}

// hugeAnalysis is a day of one-second samples: the report thins them.
func hugeAnalysis() *measure.Analysis {
	a := singleAnalysis()
	tl := a.Timeline
	tl.Goodput, tl.CPU[0].Points = nil, nil
	for k := range 86400 {
		tl.Goodput = append(tl.Goodput, measure.Point{T: float64(k), V: 1e6})
		tl.CPU[0].Points = append(tl.CPU[0].Points, measure.Point{T: float64(k), V: 0.5})
	}
	tl.Steps[0].End = 86400
	return a
}

// TestHTMLSVGIsXML: each chart is well-formed XML, so that it can be cut
// out of the report into an .svg file.
func TestHTMLSVGIsXML(t *testing.T) {
	out := renderHTML(t, readHTMLInput(t, "ratelimit"))
	svgs := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAll(out, -1)
	if len(svgs) != 4 {
		t.Fatalf("%d chart SVGs, want 4", len(svgs))
	}
	for _, s := range svgs {
		d := xml.NewDecoder(bytes.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%v in %.120s", err, s)
			}
		}
	}
}

func parseHTML(t *testing.T, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// checkWellFormed fails on an unclosed or misnested element: html.Parse
// repairs anything, so the tokens are checked themselves.
func checkWellFormed(t *testing.T, b []byte) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "hr": true, "img": true, "input": true, "link": true, "wbr": true}
	var stack []string
	z := html.NewTokenizer(bytes.NewReader(b))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			if len(stack) > 0 {
				t.Errorf("unclosed elements at the end: %q", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !void[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %q", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
			b.WriteString(" ")
		}
	}
	return b.String()
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// --- the browser test ---

// chromiumArgs are the flags of every headless run: no sandbox (tests run
// as root in containers), no GPU, /tmp instead of a small /dev/shm, a
// fresh profile, and virtual time so that the script has run before the
// DOM is dumped without any real waiting.
func chromiumArgs(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile, "--virtual-time-budget=5000"}
}

// runChromium runs chromium with args for at most a minute and returns
// its standard output. Chromium starts helper processes, so it runs in a
// process group of its own that is killed as a whole on timeout, and
// after it exits in case a helper outlived it.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leftover helpers of this run only
	}
	mode := "--dump-dom"
	for _, a := range args {
		if strings.HasPrefix(a, "--screenshot") {
			mode = "--screenshot"
		}
	}
	t.Logf("chromium %s took %v", mode, time.Since(started).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within 60 s; stderr:\n%s", tail(stderr.String(), 2000))
	}
	if err != nil {
		t.Fatalf("chromium: %v; stderr:\n%s", err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// checkChromiumDOM reads the DOM chromium dumped after the report's script
// ran and says what is wrong with it: a script error (window.onerror sets
// data-script-error on <body>), a script that did not run to its end or
// did not initialise every chart (data-charts), or a chart missing.
func checkChromiumDOM(dom []byte, want []string) error {
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		return err
	}
	var body *html.Node
	var charts, live []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.Data == "body" {
			body = n
		}
		if n.Data == "svg" && hasClass(n, "chart") {
			charts = append(charts, attr(n, "data-chart"))
			if hasClass(n, "live") {
				live = append(live, attr(n, "data-chart"))
			}
		}
	}
	if body == nil {
		return errors.New("no <body> in the dumped DOM")
	}
	var errs []error
	for _, a := range body.Attr {
		if a.Key == "data-script-error" {
			errs = append(errs, fmt.Errorf("script error: %s", a.Val))
		}
	}
	hasCharts := false
	for _, a := range body.Attr {
		if a.Key == "data-charts" {
			hasCharts = true
			if a.Val != fmt.Sprint(len(want)) {
				errs = append(errs, fmt.Errorf("data-charts=%q: the script initialised that many charts, want %d", a.Val, len(want)))
			}
		}
	}
	if !hasCharts {
		errs = append(errs, errors.New("no data-charts on <body>: the report's script did not run to its end"))
	}
	for _, w := range want {
		if !slices.Contains(charts, w) {
			errs = append(errs, fmt.Errorf("chart %s missing (charts: %q)", w, charts))
		} else if !slices.Contains(live, w) {
			errs = append(errs, fmt.Errorf("chart %s was not initialised by the script", w))
		}
	}
	return errors.Join(errs...)
}

// hoverProbe, appended to the report, points at the first value of each
// chart's first series and clicks its legend entry twice, and writes what
// the tooltip showed and whether the series hid and came back into
// data-probe on <body>.
const hoverProbe = `<script>
(function () {
  var out = [];
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var g = svg.querySelector('g.series[data-pts]');
    var f = g.dataset.pts.split(';')[0].split(',');
    var p = svg.createSVGPoint();
    p.x = +f[0]; p.y = +f[1];
    p = p.matrixTransform(svg.getScreenCTM());
    svg.dispatchEvent(new PointerEvent('pointermove', { clientX: p.x, clientY: p.y, bubbles: true }));
    var tip = document.querySelector('.tip');
    out.push(svg.dataset.chart + ' tip=' + (tip.hidden ? '(hidden)' : tip.textContent));
    var b = svg.closest('figure').querySelector('.legend button[data-series="' + g.dataset.series + '"]');
    b.click();
    var hidden = g.classList.contains('off');
    b.click();
    out.push(svg.dataset.chart + ' toggle=' + hidden + '/' + g.classList.contains('off'));
  });
  document.body.dataset.probe = out.join('\n');
})();
</script>
`

// checkHoverProbe compares what hoverProbe saw with the values in page.
func checkHoverProbe(t *testing.T, page, dom []byte) {
	t.Helper()
	var probe string
	for n := range parseHTML(t, dom).Descendants() {
		if n.Type == html.ElementNode && n.Data == "body" {
			probe = attr(n, "data-probe")
		}
	}
	t.Logf("hover probe:\n%s", probe)
	for n := range parseHTML(t, page).Descendants() {
		if n.Type != html.ElementNode || n.Data != "svg" || !hasClass(n, "chart") {
			continue
		}
		kind := attr(n, "data-chart")
		for g := range n.Descendants() {
			if g.Type != html.ElementNode || !hasClass(g, "series") {
				continue
			}
			f := strings.SplitN(strings.Split(attr(g, "data-pts"), ";")[0], ",", 4)
			want := attr(g, "data-name") + ": " + f[3]
			if !strings.Contains(probe, kind+" tip=") || !strings.Contains(probe, want) {
				t.Errorf("chart %s: the tooltip did not show %q", kind, want)
			}
			if !strings.Contains(probe, kind+" toggle=true/false") {
				t.Errorf("chart %s: the legend did not hide and show the series", kind)
			}
			break
		}
	}
}

// TestHTMLRendersInChromium opens the real-run report in headless
// Chromium and checks that its script ran without error and initialised
// all four charts; then that the check fails on broken reports, and takes
// a screenshot (kept at $RELAYBENCH_SCREENSHOT when set).
func TestHTMLRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("RELAYBENCH_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("chromium is not on PATH and RELAYBENCH_REQUIRE_CHROMIUM is set: %v", err)
		}
		t.Skip("chromium is not on PATH (set RELAYBENCH_REQUIRE_CHROMIUM=1 to make that a failure)")
	}
	page := renderHTML(t, readHTMLInput(t, "ratelimit"))
	dir := t.TempDir()
	open := func(t *testing.T, name string, page []byte, extra ...string) []byte {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, page, 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(chromiumArgs(t.TempDir()), extra...)
		return runChromium(t, bin, append(args, "file://"+path)...)
	}

	dom := open(t, "report.html", bytes.Replace(page, []byte("</body>"), []byte(hoverProbe+"</body>"), 1), "--dump-dom")
	if err := checkChromiumDOM(dom, allCharts); err != nil {
		t.Fatalf("the report does not work in chromium: %v", err)
	}
	checkHoverProbe(t, page, dom)

	// A check that cannot fail checks nothing: break the report three ways.
	for _, tc := range []struct {
		name, want string
		edit       func([]byte) []byte
	}{
		{"throwing script", "injected failure", func(b []byte) []byte {
			return bytes.Replace(b, []byte("<main>"), []byte(`<main><script>throw new Error("injected failure")</script>`), 1)
		}},
		{"damaged chart data", `data-charts="3"`, func(b []byte) []byte {
			i := bytes.Index(b, []byte(`data-chart="cpu"`))
			j := i + bytes.Index(b[i:], []byte(`data-pts="`)) + len(`data-pts="`)
			k := j + bytes.IndexByte(b[j:], '"')
			return slices.Concat(b[:j], []byte("garbage"), b[k:])
		}},
		{"script removed", "did not run to its end", func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte("<script>"))
			j := bytes.LastIndex(b, []byte("</script>")) + len("</script>")
			return slices.Concat(b[:i], b[j:])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := tc.edit(bytes.Clone(page))
			if bytes.Equal(broken, page) {
				t.Fatal("the edit changed nothing")
			}
			err := checkChromiumDOM(open(t, strings.ReplaceAll(tc.name, " ", "-")+".html", broken, "--dump-dom"), allCharts)
			if err == nil {
				t.Fatal("the check passed a broken report")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the check failed for another reason: %v", err)
			}
			t.Logf("caught: %v", err)
		})
	}

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(dir, "report.png")
		open(t, "shot.html", page, "--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars")
		png, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%s is not a PNG", shot)
		}
		if len(png) < 20<<10 {
			t.Fatalf("the screenshot is %d bytes: a blank page?", len(png))
		}
		if dst := os.Getenv("RELAYBENCH_SCREENSHOT"); dst != "" {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot written to %s", dst)
		}
	})
}
