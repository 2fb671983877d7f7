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

// StepColumns are the column titles of the step table.
func StepColumns(a *measure.Analysis) []string {
	return []string{
		"step", a.LoadUnit, "goodput MiB/s ±95%", "stream p50 MiB/s", "connect p50/p95",
		"TTFB p50/p95/p99", "TTLB p95", "errors", "relay rd/wr MiB/s", "relay CPU", "signals",
	}
}

// StepRow is one step of the step table, in StepColumns' order.
func StepRow(a *measure.Analysis, s measure.StepResult) []string {
	relayRW, relayCPU := "-", "-"
	if s.Relay != nil && s.Relay.Seconds > 0 {
		relayRW = fmt.Sprintf("%.2f/%.2f", s.Relay.ReadBps/mib, s.Relay.WrittenBps/mib)
	}
	for _, p := range s.Processes {
		if p.Role == "target" {
			relayCPU = fmt.Sprintf("%.0f%%", p.CPU*100)
		}
	}
	var sigs []string
	for _, g := range s.Signals {
		sigs = append(sigs, g.Name)
	}
	if s.LoadGeneratorBound {
		sigs = append(sigs, "(generator-bound)")
	}
	return []string{
		fmt.Sprint(s.Step + 1),
		fmt.Sprint(s.Load),
		fmt.Sprintf("%.2f ± %.2f", s.Goodput.Mean/mib, s.Goodput.HalfWidth()/mib),
		fmt.Sprintf("%.2f", s.StreamGoodput.P50/mib),
		ms(s.Connect.N, s.Connect.P50) + "/" + ms(s.Connect.N, s.Connect.P95),
		ms(s.TTFB.N, s.TTFB.P50) + "/" + ms(s.TTFB.N, s.TTFB.P95) + "/" + ms(s.TTFB.N, s.TTFB.P99),
		ms(s.TTLB.N, s.TTLB.P95),
		errorsCell(s),
		relayRW,
		relayCPU,
		strings.Join(sigs, " "),
	}
}

func ms(n int, secs float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fms", secs*1000)
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

// Verdict is the plain-text conclusion: capacity, onset and cause, and the
// warnings that qualify them.
func Verdict(a *measure.Analysis) string {
	var b strings.Builder
	if c := a.Capacity; c != nil {
		fmt.Fprintf(&b, "capacity: %.2f MiB/s (95%% CI %.2f–%.2f) at step %d (%d %s)",
			c.Goodput.Mean/mib, c.Goodput.Low/mib, c.Goodput.High/mib, c.Step+1, c.Load, a.LoadUnit)
		if c.RelayWrittenBps > 0 {
			fmt.Fprintf(&b, "; the relay read %.2f and wrote %.2f MiB/s there", c.RelayReadBps/mib, c.RelayWrittenBps/mib)
		}
		b.WriteString("\n")
		if c.LowerBound {
			b.WriteString("  this is a LOWER BOUND of the relay's capacity, not its capacity:\n")
			for _, r := range c.Reasons {
				fmt.Fprintf(&b, "  - %s\n", r)
			}
		}
	} else {
		b.WriteString("capacity: unknown (no step carried any bytes)\n")
	}
	if o := a.Onset; o != nil {
		fmt.Fprintf(&b, "overload onset: step %d (%d %s), cause %s\n", o.Step+1, o.Load, a.LoadUnit, o.Cause)
		for _, s := range o.Signals {
			fmt.Fprintf(&b, "  - %s (%s): %s\n", s.Name, s.Source, s.Evidence)
		}
		if o.LoadGeneratorBound {
			b.WriteString("  the load generator was at its limit at this step: client-side signals may describe it rather than the relay\n")
		}
	} else {
		b.WriteString("overload onset: none seen\n")
	}
	var warned []string
	for _, s := range a.Steps {
		for _, bn := range s.Bottlenecks {
			warned = append(warned, fmt.Sprintf("  - step %d (%d %s): %s\n", s.Step+1, s.Load, a.LoadUnit, bn.Evidence))
		}
	}
	if len(warned) > 0 {
		b.WriteString("bottlenecks:\n")
		b.WriteString(strings.Join(warned, ""))
	}
	if len(a.Gates) > 0 {
		verdict := "passed"
		if len(a.Failed()) > 0 {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "thresholds: %s\n", verdict)
		for _, g := range a.Gates {
			mark := "ok  "
			if !g.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s %s: %s (limit %s): %s\n", mark, g.Name, g.Value, g.Limit, g.Detail)
		}
	}
	if len(a.Problems) > 0 {
		b.WriteString("problems with the raw data:\n")
		for _, p := range a.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	return b.String()
}
