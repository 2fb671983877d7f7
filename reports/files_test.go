package reports

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// readSummaryFile reads a summary.json kept in testdata the way analyze
// and report read a run directory's.
func readSummaryFile(t *testing.T, path string) *measure.Analysis {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := measure.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// degraded is the real run bw4 (testdata/runs, a bridge limited to
// BandwidthRate 4 MBytes, 2 repetitions of 1, 2, 4, 8 streams) with what
// a bad run adds to its raw data, analysed as any run: the relay's
// MetricsPort showing its rate limit reached from the second step on, the
// machine CPU-saturated at the first step (so the capacity there is a
// machine-bound lower bound: the relay showed no limit of its own there),
// three failed requests at the last step, failed gates, a warning from the
// run and a note on its raw files.
func degraded(t *testing.T) *measure.Analysis {
	t.Helper()
	r := bw4WithRelay(t, true)
	failed := 0
	for i := range r.Records {
		rec := &r.Records[i]
		if rec.Step == 3 && !rec.Warmup && rec.Error == "" && failed < 3 {
			rec.Error, rec.Status = []string{"timeout", "timeout", "socks-ttl-expired"}[failed], 0
			failed++
		}
	}
	var minCap scenarios.Rate
	if err := minCap.UnmarshalText([]byte("5MiB/s")); err != nil {
		t.Fatal(err)
	}
	maxErrors := 0.05
	r.Scenario.Thresholds = scenarios.Thresholds{MinCapacity: &minCap, MaxErrorRate: &maxErrors}
	r.Info.Warnings = append(r.Info.Warnings, "tor client load1 of the pool died (signal: killed); the run went on with the rest of the pool")
	r.Notes = append(r.Notes, "circuits.jsonl is empty")
	return measure.Analyze(r)
}

// relayBound is the real run bw4 with the relay side it would have had:
// its MetricsPort showing the rate limit reached at every step and the
// machine 40 % busy, so that the capacity is the relay's (its rate
// limiter's), not a lower bound.
// circuitCapped is the real run bw4 as if relaybench's circuit-rate cap
// had held every request back for half its time from start to end before
// it started: a third of the requests' time from intended start to end
// waiting for circuit tokens, so every step is cap-bound.
func circuitCapped(t *testing.T) *measure.Analysis {
	t.Helper()
	r, err := measure.Load(filepath.Join("testdata", "runs", "bw4"))
	if err != nil {
		t.Fatal(err)
	}
	sc := *r.Scenario
	sc.Limits.CircuitRate, sc.Limits.CircuitBurst = 2, 60
	r.Scenario = &sc
	for i := range r.Records {
		rec := &r.Records[i]
		rec.CapWaitNS = rec.TTLBNS / 2
		rec.Intended = rec.Start.Add(-time.Duration(rec.CapWaitNS))
	}
	return measure.Analyze(r)
}

func relayBound(t *testing.T) *measure.Analysis {
	t.Helper()
	return measure.Analyze(bw4WithRelay(t, false))
}

// bw4WithRelay is the real run bw4 with MetricsPort scrapes of the target
// (3.3 MiB/s read and written) and process samples (the relay at 6 % of a
// core, the machine 40 % busy) every second. With saturated, the machine
// is 97 % busy during the first step of each repetition and the rate limit
// is reached only after it; otherwise the rate limit is reached every
// second.
func bw4WithRelay(t *testing.T, saturated bool) *measure.Run {
	t.Helper()
	r, err := measure.Load(filepath.Join("testdata", "runs", "bw4"))
	if err != nil {
		t.Fatal(err)
	}
	first, last := r.Steps[0].Start, r.Steps[0].End
	for _, s := range r.Steps {
		first, last = minTime(first, s.Start), maxTime(last, s.End)
	}
	target := r.Info.Metrics[0].URL // run.json lists the target first
	const relayRate = 3.3 * mib
	hits := 0.0
	for at := first.Add(-time.Second); !at.After(last.Add(time.Second)); at = at.Add(time.Second) {
		secs := at.Sub(first).Seconds() + 1
		firstStep := false
		for _, s := range r.Steps {
			firstStep = firstStep || s.Step == 0 && !at.Before(s.Start) && at.Before(s.End)
		}
		if !saturated || !firstStep {
			hits++ // the token bucket runs dry every second
		}
		r.Metrics = append(r.Metrics, metricsport.ScrapeRecord{URL: target, At: at, OK: true, Families: []metricsport.Family{
			{Name: metricsport.FamilyTrafficBytes, Type: "counter", Samples: []metricsport.Sample{
				{Name: metricsport.FamilyTrafficBytes, Labels: map[string]string{"direction": "read"}, Value: relayRate * secs},
				{Name: metricsport.FamilyTrafficBytes, Labels: map[string]string{"direction": "written"}, Value: relayRate * secs},
			}},
			{Name: metricsport.FamilyRateLimitReached, Type: "counter", Samples: []metricsport.Sample{
				{Name: metricsport.FamilyRateLimitReached, Labels: map[string]string{"side": "read"}, Value: hits},
			}},
		}})
		// A file without the machine's total CPU time: its utilisation is
		// busy seconds per second over the cores.
		busy := 0.8
		if saturated && firstStep {
			busy = 1.94
		}
		machineCPU := 0.0
		if n := len(r.Processes); n > 0 {
			machineCPU = r.Processes[n-1].CPUSeconds + busy
		}
		r.Processes = append(r.Processes,
			rundir.ProcessSample{Time: at, Name: "rbtarget", Role: "target", PID: 100, CPUSeconds: 0.06 * secs, RSSBytes: 60 << 20},
			rundir.ProcessSample{Time: at, Name: rundir.MachineName, Role: rundir.RoleMachine, CPUSeconds: machineCPU, Cores: 2})
	}
	return r
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func TestReportFormatsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    *measure.Analysis
	}{
		{"bw4", analyzeRun(t, "bw4")},
		{"degraded", degraded(t)},
		{"relaybound", relayBound(t)},
	} {
		for _, f := range []struct {
			ext   string
			write func(*bytes.Buffer, *measure.Analysis) error
		}{
			{"terminal.txt", func(b *bytes.Buffer, a *measure.Analysis) error { return Terminal(b, a) }},
			{"steps.csv", func(b *bytes.Buffer, a *measure.Analysis) error { return CSV(b, a) }},
			{"report.md", func(b *bytes.Buffer, a *measure.Analysis) error { return Markdown(b, a) }},
			{"bench.txt", func(b *bytes.Buffer, a *measure.Analysis) error { return Bench(b, a) }},
		} {
			t.Run(tc.name+"/"+f.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.write(&b, tc.a); err != nil {
					t.Fatal(err)
				}
				golden(t, tc.name+"."+f.ext, b.Bytes())
			})
		}
	}
}

func TestTerminalVerdict(t *testing.T) {
	var b bytes.Buffer
	if err := Terminal(&b, degraded(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"capacity: ≥ 2.89 MiB/s, machine-bound", "LOWER BOUND", "overload onset: step 2 (2 streams), cause rate-limit, relay-bound",
		"55.0 MiB per second of its CPU", "foreign load", "a lower bound (machine-bound)",
		"tor_relay_load_global_rate_limit_reached_total", "thresholds: FAILED", "FAIL min_capacity", "ok   max_error_rate",
		"CPU-saturated", "warnings during the run:\n  - tor client load1 of the pool died", "notes on the raw data:\n", "\n  - circuits.jsonl is empty",
		"timeout:2", "(generator-bound)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
}

// TestTerminalVerdictOnDamagedInput: the degraded run with one damaged
// line in a raw file judges no gate, neither the failed one nor the passed
// one, and says why; the damage is listed.
func TestTerminalVerdictOnDamagedInput(t *testing.T) {
	a := degraded(t)
	a.Problems = append(a.Problems, "processes.jsonl: 1 damaged line skipped (line 7: invalid character 'x'); the 40 good lines were read")
	var b bytes.Buffer
	if err := Terminal(&b, a); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"thresholds: NOT JUDGED (fail closed): the input is missing or damaged (1 problem, listed under problems)\n",
		"  --   min_capacity: 2.89 MiB/s (limit 5MiB/s)", "  --   max_error_rate: 1.52% (limit 5.00%)",
		"problems with the raw data:\n  - processes.jsonl: 1 damaged line skipped (line 7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	for _, never := range []string{"thresholds: passed", "thresholds: FAILED", "ok   ", "FAIL "} {
		if strings.Contains(out, never) {
			t.Errorf("terminal output of damaged input says %q:\n%s", never, out)
		}
	}
}

func TestCSVHasOneRowPerStepWithTheRightColumns(t *testing.T) {
	a := degraded(t)
	var b bytes.Buffer
	if err := CSV(&b, a); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(a.Steps)+1 {
		t.Fatalf("%d rows, want a header and %d steps", len(rows), len(a.Steps))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for i, s := range a.Steps {
		row := rows[i+1]
		if len(row) != len(csvColumns) || row[col["load"]] != itoa(s.Load) || !strings.HasPrefix(row[col["goodput_bps"]], fmtG(s.Goodput.Mean)[:4]) ||
			row[col["goodput_n"]] != "2" || row[col["goodput_n_of"]] != measure.EstimateRepetitions {
			t.Errorf("row %d = %v, want load %d goodput %v", i, row, s.Load, s.Goodput.Mean)
		}
		if row[col["relay_written_bps"]] == "" || row[col["target_cpu"]] == "" || (row[col["signals"]] == "") != (len(s.Signals) == 0) {
			t.Errorf("row %d lacks the relay side: %v", i, row)
		}
		// Whose limit held: the machine at the first step, the relay's
		// rate limiter after it; 3.3 MiB/s written at 6 % of a core.
		want := map[bool]string{true: "machine", false: "relay"}[i == 0]
		if row[col["attribution"]] != want || row[col["relay_bytes_per_cpu_s"]] != fmtG(s.RelayEfficiency) || s.RelayEfficiency == 0 ||
			row[col["target_cpu_p90"]] == "" || row[col["machine_busy_p90"]] == "" {
			t.Errorf("row %d: attribution %q, efficiency %q, target p90 %q, machine p90 %q: want %s and the figures",
				i, row[col["attribution"]], row[col["relay_bytes_per_cpu_s"]], row[col["target_cpu_p90"]], row[col["machine_busy_p90"]], want)
		}
	}
}

// TestBenchFormatParses checks bench.txt is real Go benchmark format:
// benchfmt (what benchstat reads) parses every line with its units, one
// line per repetition and step with that repetition's values (the relay's
// efficiency where measured), one per repetition for the capacity, named
// apart when it is a lower bound, with whose limit it is.
func TestBenchFormatParses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        *measure.Analysis
		capacity string
	}{
		{"relay-bound capacity", relayBound(t), "BenchmarkRelayCapacity/scenario=bw4/target=testnet-relay-as-bridge/workload=bulk"},
		{"machine-bound lower bound", degraded(t), "BenchmarkRelayCapacity/scenario=bw4/target=testnet-relay-as-bridge/workload=bulk/lowerbound=1/limit=machine"},
		{"no relay data: unknown lower bound", analyzeRun(t, "bw4"), "BenchmarkRelayCapacity/scenario=bw4/target=testnet-relay-as-bridge/workload=bulk/lowerbound=1/limit=unknown"},
		{"circuit-rate cap: lower bound", circuitCapped(t), "BenchmarkRelayCapacity/scenario=bw4/target=testnet-relay-as-bridge/workload=bulk/lowerbound=1/limit=circuit-rate-cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			var b bytes.Buffer
			if err := Bench(&b, a); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "# relaybench bench.txt: every line is one repetition") {
				t.Errorf("bench.txt does not say what a sample is:\n%s", b.String())
			}
			r := benchfmt.NewReader(&b, "bench.txt")
			var steps, capacity []*benchfmt.Result
			for r.Scan() {
				res, ok := r.Result().(*benchfmt.Result)
				if !ok {
					if e, isErr := r.Result().(*benchfmt.SyntaxError); isErr {
						t.Fatalf("benchfmt: %v", e)
					}
					continue
				}
				if strings.HasPrefix(string(res.Name), "RelayCapacity/") {
					capacity = append(capacity, res.Clone())
					continue
				}
				steps = append(steps, res.Clone())
				if !strings.Contains(string(res.Name), "/streams=") {
					t.Errorf("name %s lacks the load", res.Name)
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if want := len(a.Steps) * a.Repetitions; len(steps) != want {
				t.Fatalf("%d step lines, want one per step and repetition (%d)", len(steps), want)
			}
			// Each line holds its repetition's values (benchfmt tidies MB/s
			// into B/s, as benchstat shows it; 3 decimals of MB/s).
			for i, res := range steps {
				s, rep := a.Steps[i/a.Repetitions], a.Steps[i/a.Repetitions].RepStats[i%a.Repetitions]
				if v, ok := res.Value("B/s"); !ok || math.Abs(v-rep.Goodput) > 500 {
					t.Errorf("%s line %d: B/s = %v, want repetition %d's %v", res.Name, i, v, rep.Rep, rep.Goodput)
				}
				if v, ok := res.Value("sec/ttfb-p95"); !ok || math.Abs(v-rep.TTFBP95) > 1e-6 {
					t.Errorf("%s line %d: ttfb-p95 %v, want %v", res.Name, i, v, rep.TTFBP95)
				}
				// The relay's bytes per CPU-second, where it was measured:
				// 3.3 MiB/s written at 6 % of a core.
				v, ok := res.Value("B/relay-cpu-s")
				if ok != (rep.RelayEfficiency > 0) || math.Abs(v-rep.RelayEfficiency) > 1 {
					t.Errorf("%s line %d: B/relay-cpu-s %v (%v), want repetition %d's %v", res.Name, i, v, ok, rep.Rep, rep.RelayEfficiency)
				}
				if want := 3.3 * mib / 0.06; ok && math.Abs(v-want) > 0.01*want {
					t.Errorf("%s line %d: B/relay-cpu-s %v, want 3.3 MiB/s over 0.06 cores = %.0f", res.Name, i, v, want)
				}
				if s.Goodput.N != a.Repetitions {
					t.Errorf("step %d: goodput n %d", s.Step, s.Goodput.N)
				}
			}
			if len(capacity) != len(a.Capacity.RepGoodput) || len(capacity) != a.Repetitions {
				t.Fatalf("%d capacity lines, want one per repetition (%d)", len(capacity), a.Repetitions)
			}
			for i, res := range capacity {
				if name := "Benchmark" + string(res.Name.Full()); name != tc.capacity {
					t.Errorf("capacity line %s, want %s", name, tc.capacity)
				}
				if v, _ := res.Value("B/s"); math.Abs(v-a.Capacity.RepGoodput[i]) > 500 {
					t.Errorf("capacity line %d: %v B/s, want %v", i, v, a.Capacity.RepGoodput[i])
				}
			}
		})
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Replace(fmtG(float64(i)), "e+", "e", 1)) }

func fmtG(v float64) string { return strconvFormat(v) }

func strconvFormat(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
