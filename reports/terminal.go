// Package reports owns how an Analysis is shown: the terminal table and
// verdict, and the report files of a run directory.
package reports

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports/verdict"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

const mib = units.MiB

// Terminal writes the per-step table and the verdict of a.
func Terminal(w io.Writer, a *measure.Analysis) error {
	fmt.Fprintf(w, "%s: %s, %s workload, %d repetition(s), stopped by %s\n",
		a.Scenario, a.Target, a.Workload, a.Repetitions, a.StoppedBy)
	if err := renderStepTable(w, a); err != nil {
		return err
	}
	_, err := io.WriteString(w, Verdict(a))
	return err
}

// RunOutcome writes what `relaybench run` says at the end of the run in
// dir: the ranking of its variants (a run with variants) or the terminal
// table and verdict of its analysis (either may be nil), then where its
// results are (rundir.ResultsLine).
func RunOutcome(w io.Writer, dir string, ranking *Ranking, a *measure.Analysis) error {
	var err error
	if ranking != nil {
		fmt.Fprintf(w, "\nvariants ranked by capacity (each variant's report is in %s/variants/<name>/):\n", dir)
		err = ranking.Text(w)
	}
	if a != nil {
		fmt.Fprintln(w)
		if terr := Terminal(w, a); err == nil {
			err = terr
		}
	}
	fmt.Fprintf(w, "\n%s\n", rundir.ResultsLine(dir))
	return err
}

// renderStepTable renders the step table, one row per step, with extra
// tablewriter options (a Markdown renderer, say).
func renderStepTable(w io.Writer, a *measure.Analysis, opts ...tablewriter.Option) error {
	t := tablewriter.NewTable(w, append([]tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignment(tw.AlignRight),
	}, opts...)...)
	t.Header(StepColumns(a))
	for _, s := range a.Steps {
		if err := t.Append(StepRow(a, s)); err != nil {
			return err
		}
	}
	return t.Render()
}

// StepColumns are the column titles of the step table. "circuits built"
// (built/attempted by the pool's clients) is there only when some step saw
// circuits attempted.
func StepColumns(a *measure.Analysis) []string {
	cols := []string{
		"step", a.LoadUnit, "goodput MiB/s ±95%", "stream p50 MiB/s", "connect p50/p95",
		"TTFB p50/p95/p99", "TTLB p95 (done)", "errors", "relay rd/wr MiB/s", "relay CPU mean/p90",
		"relay MiB/CPU-s", "machine p90", "limit", "signals",
	}
	if hasCircuitSuccess(a) {
		cols = slices.Insert(cols, len(cols)-1, "circuits built")
	}
	return cols
}

// StepRow is one step of the step table, in StepColumns' order.
func StepRow(a *measure.Analysis, s measure.StepResult) []string {
	relayRW, relayCPU, efficiency, machine, limit := "-", "-", "-", "-", "-"
	if s.Relay != nil && s.Relay.Seconds > 0 {
		relayRW = fmt.Sprintf("%.2f/%.2f", s.Relay.ReadBps/mib, s.Relay.WrittenBps/mib)
	}
	for _, p := range s.Processes {
		switch rundir.ProcessRole(p.Role) {
		case rundir.RoleTarget:
			// Of its quota when confined, of one core when not; a summary
			// from before the sampling intervals were kept has no p90.
			relayCPU = fmt.Sprintf("%.0f/%s", p.Utilisation()*100, p90Text(p))
			if p.QuotaCores > 0 {
				relayCPU += fmt.Sprintf(" of %.2f", p.QuotaCores)
			}
		case rundir.RoleMachine:
			machine = p90Text(p)
		}
	}
	if s.RelayEfficiency > 0 {
		efficiency = fmt.Sprintf("%.1f", s.RelayEfficiency/mib)
	}
	if s.Attribution != "" {
		limit = string(s.Attribution)
	}
	var sigs []string
	for _, g := range s.Signals {
		sigs = append(sigs, g.Name)
	}
	if s.LoadGeneratorBound {
		sigs = append(sigs, "(generator-bound)")
	}
	row := []string{
		fmt.Sprint(s.Step + 1),
		fmt.Sprint(s.Load),
		fmt.Sprintf("%.2f ± %.2f", s.Goodput.Mean/mib, s.Goodput.HalfWidth()/mib),
		fmt.Sprintf("%.2f", s.StreamGoodput.P50/mib),
		ms(s.Connect.N, s.Connect.P50) + "/" + ms(s.Connect.N, s.Connect.P95),
		ms(s.TTFB.N, s.TTFB.P50) + "/" + ms(s.TTFB.N, s.TTFB.P95) + "/" + ms(s.TTFB.N, s.TTFB.P99),
		ms(s.TTLB.N, s.TTLB.P95) + doneShare(s),
		errorsCell(s),
		relayRW,
		relayCPU,
		efficiency,
		machine,
		limit,
		strings.Join(sigs, " "),
	}
	if hasCircuitSuccess(a) {
		row = slices.Insert(row, len(row)-1, circuitSuccessText(s))
	}
	return row
}

// p90Text is the process's p90 utilisation in percent, "-" when its
// sampling intervals were not kept.
func p90Text(p measure.ProcessStep) string {
	if p.Intervals == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", p.UtilisationP90()*100)
}

func ms(n int, secs float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fms", secs*1000)
}

// doneShare is the share of the step's requests that completed, beside
// TTLB (which describes those alone): " (40%)" when some did not.
func doneShare(s measure.StepResult) string {
	if s.Requests == 0 || s.OK == s.Requests {
		return ""
	}
	return fmt.Sprintf(" (%.0f%%)", float64(s.OK)/float64(s.Requests)*100)
}

func errorsCell(s measure.StepResult) string {
	failed := s.Requests - s.OK - s.Cut
	if failed == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, s.Errors[k]))
	}
	return fmt.Sprintf("%.1f%% %s", s.ErrorRate*100, strings.Join(parts, " "))
}

// Verdict is the plain-text verdict of a (see package verdict): each
// section's head, and under it its lines, indented, list items marked "- ".
func Verdict(a *measure.Analysis) string {
	var b strings.Builder
	for _, s := range verdict.Of(a).Sections() {
		b.WriteString(s.Head + "\n")
		for _, l := range s.Lines {
			if l.Kind == verdict.LineItem {
				b.WriteString("  - " + l.Text + "\n")
			} else {
				b.WriteString("  " + l.Text + "\n")
			}
		}
	}
	return b.String()
}
