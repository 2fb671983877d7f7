package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

// WriteAll writes summary.json and every report file (rundir.StepsCSVFile,
// MarkdownFile, HTMLFile, BenchFile) into dir. Each file is written whole
// with rundir.WriteFileAtomic, so an interrupted report never leaves half a
// file behind.
func WriteAll(dir string, a *measure.Analysis) error {
	if err := measure.WriteSummary(dir, a); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, *measure.Analysis) error
	}{
		{rundir.StepsCSVFile, CSV},
		{rundir.MarkdownFile, Markdown},
		{rundir.HTMLFile, HTML},
		{rundir.BenchFile, Bench},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf, a); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := rundir.WriteFileAtomic(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// csvColumns are the columns of steps.csv, in order. Rates are bytes per
// second, times seconds, CPU cores; empty cells mean "not measured".
// goodput_n counts what goodput_n_of names: repetitions, or batches of
// a single repetition's window (measure.Estimate).
var csvColumns = []string{
	"step", "load", "load_unit", "reps", "window_s", "requests", "ok", "cut", "warmup", "failed", "error_rate",
	"goodput_bps", "goodput_stddev", "goodput_ci95_low", "goodput_ci95_high", "goodput_n", "goodput_n_of",
	"stream_goodput_p50_bps",
	"connect_p50_s", "connect_p95_s", "ttfb_p50_s", "ttfb_p90_s", "ttfb_p95_s", "ttfb_p99_s", "ttfb_max_s",
	"ttlb_p50_s", "ttlb_p95_s", "ttlb_p99_s", "circuits", "circuit_success",
	"relay_read_bps", "relay_written_bps", "relay_rate_limit_read", "relay_rate_limit_write",
	"relay_oom_bytes", "relay_onionskins_dropped_per_s", "relay_tcp_exhaustion", "relay_sockets_max", "relay_socket_limit",
	"target_cpu", "clients_cpu", "harness_cpu", "machine_cpu",
	"signals", "load_generator_bound",
	"cut_share", "completed_share", "offered_rps", "achieved_rps",
	"attribution", "relay_bytes_per_cpu_s",
	"target_cpu_mean", "target_cpu_p90", "target_cpu_peak", "target_quota_cores", "target_throttled_share",
	"machine_busy_p90", "machine_busy_peak", "foreign_cpu_p90",
}

// CSV writes steps.csv: one row per step.
func CSV(w io.Writer, a *measure.Analysis) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, s := range a.Steps {
		row := []string{
			strconv.Itoa(s.Step + 1), strconv.Itoa(s.Load), a.LoadUnit, strconv.Itoa(s.Reps), num(s.WindowSeconds),
			strconv.Itoa(s.Requests), strconv.Itoa(s.OK), strconv.Itoa(s.Cut), strconv.Itoa(s.Warmup),
			strconv.Itoa(s.Requests - s.OK - s.Cut), num(s.ErrorRate),
			num(s.Goodput.Mean), num(s.Goodput.StdDev), num(s.Goodput.Low), num(s.Goodput.High), strconv.Itoa(s.Goodput.N), s.Goodput.Of,
			opt(s.StreamGoodput.N, s.StreamGoodput.P50),
			opt(s.Connect.N, s.Connect.P50), opt(s.Connect.N, s.Connect.P95),
			opt(s.TTFB.N, s.TTFB.P50), opt(s.TTFB.N, s.TTFB.P90), opt(s.TTFB.N, s.TTFB.P95), opt(s.TTFB.N, s.TTFB.P99), opt(s.TTFB.N, s.TTFB.Max),
			opt(s.TTLB.N, s.TTLB.P50), opt(s.TTLB.N, s.TTLB.P95), opt(s.TTLB.N, s.TTLB.P99),
			strconv.Itoa(s.Circuits), circuitSuccessCell(s, num),
		}
		if r := s.Relay; r != nil && r.Seconds > 0 {
			row = append(row, num(r.ReadBps), num(r.WrittenBps), num(r.RateLimitRead), num(r.RateLimitWrite),
				num(r.OOMBytes), num(r.OnionskinsDroppedPerSec), num(r.TCPExhaustion), num(r.SocketsMax), num(r.SocketLimit))
		} else {
			row = append(row, "", "", "", "", "", "", "", "", "")
		}
		cpu := cpuByRole(s)
		for _, role := range []rundir.ProcessRole{rundir.RoleTarget, rundir.RoleClient, rundir.RoleHarness, rundir.RoleMachine} {
			if v, ok := cpu[string(role)]; ok {
				row = append(row, num(v))
			} else {
				row = append(row, "")
			}
		}
		var sigs []string
		for _, g := range s.Signals {
			sigs = append(sigs, g.Name)
		}
		row = append(row, strings.Join(sigs, " "), strconv.FormatBool(s.LoadGeneratorBound))
		// From the counts, so that a summary.json older than the shares
		// gets them too; the rates only for the open loop.
		share := func(n int) string { return opt(s.Requests, float64(n)/float64(max(s.Requests, 1))) }
		row = append(row, share(s.Cut), share(s.OK), opt(int(s.OfferedRate), s.OfferedRate), opt(int(s.OfferedRate), s.AchievedRate))
		// Whose limit held at the step (empty: none), the relay's bytes
		// per CPU-second, and the CPU figures it was judged on: shares of
		// the target's quota (of one core unconfined) and of the machine's
		// cores, foreign load in cores.
		tc, mb, fc := s.TargetCPU, s.MachineBusy, s.ForeignCPU
		row = append(row, string(s.Attribution), optIf(s.RelayEfficiency > 0, s.RelayEfficiency),
			opt(tc.Intervals, tc.Mean), opt(tc.Intervals, tc.P90), opt(tc.Intervals, tc.Peak),
			optIf(s.TargetQuotaCores > 0, s.TargetQuotaCores), optIf(s.TargetPeriods > 0, s.TargetThrottledShare),
			opt(mb.Intervals, mb.P90), opt(mb.Intervals, mb.Peak), opt(fc.Intervals, fc.P90))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func opt(n int, v float64) string { return optIf(n != 0, v) }

// optIf is v, or empty (not measured) unless ok.
func optIf(ok bool, v float64) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 8, 64)
}

// cpuByRole sums the CPU (cores) of a step's processes by role.
func cpuByRole(s measure.StepResult) map[string]float64 {
	out := map[string]float64{}
	for _, p := range s.Processes {
		out[p.Role] += p.CPU
	}
	return out
}

// Markdown writes report.md: the verdict and the step table, for pasting
// into an issue or a pull request.
func Markdown(w io.Writer, a *measure.Analysis) error {
	fmt.Fprintf(w, "# relaybench: %s\n\n", a.Scenario)
	fmt.Fprintf(w, "%s, %s workload, %d repetition(s), stopped by %s.\n\n", a.Target, a.Workload, a.Repetitions, a.StoppedBy)
	fmt.Fprintf(w, "## Verdict\n\n```\n%s```\n\n## Steps\n\n", Verdict(a))
	if err := renderStepTable(w, a, tablewriter.WithRenderer(renderer.NewMarkdown())); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nGoodput is the client's body bytes per second after each step's warm-up: the mean over the repetitions, ± the 95%% confidence interval over them (n = repetitions; with one repetition, over %d-second batches of its window, none under two batches). Latencies are exact percentiles of all requests. Raw data and the other formats are in the run directory.\n", measure.BatchSeconds)
	return nil
}

var benchNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// benchHeader says what bench.txt's samples are; benchfmt ignores lines
// starting with "#".
const benchHeader = `# relaybench bench.txt: every line is one repetition, so benchstat's n counts repetitions (the
# independent samples of a run; the seconds and requests of one repetition are not).
# BenchmarkRelay/.../streams=N (or rate=N): the repetition's goodput over the step's measured window,
# the p50 and p95 time to first byte of its requests (left out when it had none), failed per request.
# BenchmarkRelay/... also has the relay's bytes written per second of its CPU (B/relay-cpu-s, its
# MetricsPort's written bytes over its CPU time) when both were measured: what to compare across tor builds.
# BenchmarkRelayCapacity/...: the repetition's goodput at the run's capacity step; named
# BenchmarkRelayCapacity/.../lowerbound=1/limit=WHO when the capacity is only a lower bound (WHO:
# machine, load-generator, network, circuit-rate-cap, dos-defence or unknown; no overload reached, or
# the limit was not the relay's),
# so that benchstat never pairs it with a measured one.
`

// Bench writes the run in Go benchmark format, for benchstat (`benchstat
// A/bench.txt B/bench.txt`): one line per repetition and step, and one per
// repetition for the capacity, so that benchstat's samples are the
// repetitions (see benchHeader). Goodput is in MB/s (10^6 bytes, as `go
// test` reports it); latencies in seconds.
func Bench(w io.Writer, a *measure.Analysis) error {
	var b strings.Builder
	fmt.Fprintf(&b, "goos: %s\ngoarch: %s\npkg: relaybench\n%s", runtime.GOOS, runtime.GOARCH, benchHeader)
	unit := "streams"
	if a.LoadUnit != "streams" {
		unit = "rate"
	}
	target := benchNameUnsafe.ReplaceAllString(strings.ReplaceAll(a.Target, " ", "-"), "")
	run := fmt.Sprintf("scenario=%s/target=%s/workload=%s", benchNameUnsafe.ReplaceAllString(a.Scenario, ""), target, a.Workload)
	for _, s := range a.Steps {
		name := fmt.Sprintf("BenchmarkRelay/%s/%s=%d", run, unit, s.Load)
		reps := slices.Clone(s.RepStats)
		slices.SortFunc(reps, func(x, y measure.RepStat) int { return x.Rep - y.Rep })
		for _, r := range reps {
			errRate := 0.0
			if r.Requests > 0 {
				errRate = float64(r.Failed) / float64(r.Requests)
			}
			fmt.Fprintf(&b, "%s\t%d\t%.3f MB/s", name, max(r.Requests, 1), units.InMB(r.Goodput))
			if r.TTFBP95 > 0 { // 0: no request of the repetition had a first byte
				fmt.Fprintf(&b, "\t%.6f sec/ttfb-p50\t%.6f sec/ttfb-p95", r.TTFBP50, r.TTFBP95)
			}
			fmt.Fprintf(&b, "\t%.4f errors/req", errRate)
			if r.RelayEfficiency > 0 {
				fmt.Fprintf(&b, "\t%.0f B/relay-cpu-s", r.RelayEfficiency)
			}
			b.WriteString("\n")
		}
	}
	if c := a.Capacity; c != nil {
		name := "BenchmarkRelayCapacity/" + run
		if c.LowerBound {
			name += "/lowerbound=1"
			if c.Attribution != "" {
				name += "/limit=" + string(c.Attribution)
			}
		}
		for _, g := range c.RepGoodput {
			fmt.Fprintf(&b, "%s\t1\t%.3f MB/s\n", name, units.InMB(g))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
