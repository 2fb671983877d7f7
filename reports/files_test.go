package reports

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
)

// loadSummary reads testdata/<name>.summary.json: the summary.json of a
// real run (a bridge limited to BandwidthRate 4 MBytes, 2 repetitions of
// 1, 2, 4, 8 streams on the embedded network).
func loadSummary(t *testing.T, name string) *measure.Analysis {
	t.Helper()
	return readSummaryFile(t, filepath.Join("testdata", name+".summary.json"))
}

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

// degraded is the real run with what a bad run adds: a generator-bound
// capacity, failed gates, a bottleneck and a damaged input file. The
// capacity is a lower bound for the reason measure would give: the machine
// was saturated at its step (the onset, a rate limit, is at the same step,
// so "no overload signal fired" would contradict it).
func degraded(t *testing.T) *measure.Analysis {
	a := loadSummary(t, "bw4")
	machine := measure.Bottleneck{Kind: measure.BottleneckMachine, Name: "machine", Utilisation: 0.97,
		Evidence: "the machine was CPU-saturated (97% of 2 cores busy): load generator and relay competed for CPU"}
	a.Steps[0].Bottlenecks = []measure.Bottleneck{machine}
	a.Steps[0].LoadGeneratorBound = true
	a.Onset.LoadGeneratorBound = true
	a.Steps[3].Errors = map[string]int{"timeout": 2, "socks-ttl-expired": 1}
	a.Steps[3].Requests += 3
	a.Steps[3].ErrorRate = 3 / float64(a.Steps[3].OK+3)
	a.Capacity.LowerBound = true
	a.Capacity.Reasons = []string{machine.Evidence}
	a.Gates = []measure.Gate{
		{Name: "min_capacity", Limit: "5MiB/s", Value: "2.89 MiB/s", Detail: "capacity 2.89 MiB/s at step 1 (1 streams)"},
		{Name: "max_error_rate", Limit: "1.00%", Value: "0.40%", Passed: true, Detail: "3 of 750 requests failed over the run"},
	}
	a.Problems = []string{"processes.jsonl: line 7 is damaged (invalid character 'x'); the lines before it are used"}
	return a
}

func TestReportFormatsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    *measure.Analysis
	}{
		{"bw4", loadSummary(t, "bw4")},
		{"degraded", degraded(t)},
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
		"capacity: 2.89 MiB/s", "LOWER BOUND", "overload onset: step 1 (1 streams), cause rate-limit",
		"tor_relay_load_global_rate_limit_reached_total", "thresholds: FAILED", "FAIL min_capacity", "ok   max_error_rate",
		"CPU-saturated", "problems with the raw data", "timeout:2", "(generator-bound)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
}

func TestCSVHasOneRowPerStepWithTheRightColumns(t *testing.T) {
	a := loadSummary(t, "bw4")
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
		if len(row) != len(csvColumns) || row[col["load"]] != itoa(s.Load) || !strings.HasPrefix(row[col["goodput_bps"]], fmtG(s.Goodput.Mean)[:4]) {
			t.Errorf("row %d = %v, want load %d goodput %v", i, row, s.Load, s.Goodput.Mean)
		}
		if row[col["relay_written_bps"]] == "" || row[col["target_cpu"]] == "" || row[col["signals"]] == "" {
			t.Errorf("row %d lacks the relay side: %v", i, row)
		}
	}
}

// TestBenchFormatParses checks bench.txt is real Go benchmark format:
// benchfmt (what benchstat reads) parses every line with its units.
func TestBenchFormatParses(t *testing.T) {
	a := loadSummary(t, "bw4")
	var b bytes.Buffer
	if err := Bench(&b, a); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&b, "bench.txt")
	n := 0
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			if e, isErr := r.Result().(*benchfmt.SyntaxError); isErr {
				t.Fatalf("benchfmt: %v", e)
			}
			continue
		}
		n++
		// benchfmt tidies MB/s into B/s, as benchstat shows it.
		if v, ok := res.Value("B/s"); !ok || v < 1e6 {
			t.Errorf("%s: B/s = %v, %v; values %+v", res.Name, v, ok, res.Values)
		}
		if _, ok := res.Value("sec/ttfb-p95"); !ok {
			t.Errorf("%s: no ttfb-p95", res.Name)
		}
		if !strings.Contains(string(res.Name), "/streams=") {
			t.Errorf("name %s lacks the load", res.Name)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if want := len(a.Steps) * a.Repetitions; n != want {
		t.Errorf("%d benchmark lines, want one per step and repetition (%d)", n, want)
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Replace(fmtG(float64(i)), "e+", "e", 1)) }

func fmtG(v float64) string { return strconvFormat(v) }

func strconvFormat(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
