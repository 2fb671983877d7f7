package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/perf/benchmath"
)

// This file lays out a Comparison (computed in comparison.go) as text,
// Markdown and JSON; it computes no statistics. Cells use benchmath's own
// formatting (its "p=0.002 n=6", "~" and "± 3%") from the values.

func metricLabel(metric string) string {
	switch metric {
	case MetricTTFBP50:
		return "median TTFB p50"
	case MetricTTFBP95:
		return "median TTFB p95"
	case MetricCapacity:
		return "median capacity"
	}
	return "median goodput"
}

// value formats a median in the unit reports show: MiB/s or ms.
func value(metric string, v float64, withUnit bool) string {
	var s, unit string
	if metric == MetricTTFBP50 || metric == MetricTTFBP95 {
		s, unit = sig3(v*1000), " ms"
	} else {
		s, unit = sig3(v/mib), " MiB/s"
	}
	if withUnit {
		return s + unit
	}
	return s
}

// testResult is m's U test as benchmath reports it; only for m.Tested.
func testResult(m MetricComparison) benchmath.Comparison {
	return benchmath.Comparison{P: m.P, N1: m.A.N, N2: m.B.N, Alpha: benchmath.DefaultThresholds.CompareAlpha}
}

// deltaText is benchstat's delta column for m with the test behind it:
// "~ (p=0.394 n=6)" when not significant, "-12.34% (p=0.002 n=6)" when
// significant; for a metric that was not tested it says why.
func deltaText(m MetricComparison) string {
	d, test := deltaParts(m)
	if test == "" {
		return d
	}
	return d + " (" + test + ")"
}

// deltaParts is deltaText's delta and test apart.
func deltaParts(m MetricComparison) (delta, test string) {
	switch m.Verdict {
	case OutcomeTooFew:
		return "too few repetitions to test", sampleSizes(m)
	case OutcomeMissing:
		return "-", ""
	}
	r := testResult(m)
	if !m.Significant {
		return "~", r.String()
	}
	return r.FormatDelta(m.A.Median, m.B.Median), r.String()
}

// sampleSizes is benchmath's "n=6" or "n=2+6".
func sampleSizes(m MetricComparison) string {
	if m.A.N == m.B.N {
		return fmt.Sprintf("n=%d", m.A.N)
	}
	return fmt.Sprintf("n=%d+%d", m.A.N, m.B.N)
}

// ciText is what benchstat shows after "±": the interval's larger half as
// a percentage of the median ("3%"), "∞" when unbounded, "?" when it
// straddles zero.
func ciText(s SampleSummary) string {
	sum := benchmath.Summary{Center: s.Median, Lo: math.Inf(-1), Hi: math.Inf(1)}
	if s.CI != nil {
		sum.Lo, sum.Hi = s.CI.Low, s.CI.High
	}
	return sum.PctRangeString()
}

// regressionText is the CI log line of r, a regression beyond pct.
func (c *Comparison) regressionText(r Regression, pct float64) string {
	where := fmt.Sprintf("step %s (%d %s)", stepText(&r.StepA, &r.StepB), r.Load, c.A.LoadUnit)
	if r.Metric == MetricCapacity {
		where = fmt.Sprintf("capacity (%s at step %d, %d %s; %s at step %d, %d %s)",
			c.A.Name, c.Capacity.A.Step+1, c.Capacity.A.Load, c.A.LoadUnit, c.B.Name, c.Capacity.B.Step+1, c.Capacity.B.Load, c.B.LoadUnit)
	}
	dir := "down"
	if r.DeltaPct > 0 {
		dir = "up"
	}
	msg := fmt.Sprintf("%s: %s %s → %s (%+.2f%%, %s), %s by more than %g%%",
		where, metricLabel(r.Metric), value(r.Metric, r.A, true), value(r.Metric, r.B, true), r.DeltaPct,
		benchmath.Comparison{P: r.P, N1: r.NA, N2: r.NB}, dir, pct)
	return msg
}

// TooFewText says what a regression gate on c could not judge, or "" when
// it judged everything with samples on both sides.
func (c *Comparison) TooFewText() string {
	n, of := c.TooFew()
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s vs %s: %d of %d metrics not tested: too few repetitions to test (%s ran %d, %s ran %d; the U test needs at least %d per side to reach p < %g); not counted as regressions",
		c.B.Name, c.A.Name, n, of, c.A.Name, c.A.Repetitions, c.B.Name, c.B.Repetitions, MinRepetitions, c.Alpha)
}

// sig3 formats v with three significant digits without an exponent, so
// that 0.683 MiB/s and 21.8 ms keep their precision and 123 stays 123.
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	digits := 2 - int(math.Floor(math.Log10(a)))
	return fmt.Sprintf("%.*f", min(digits, 9), v)
}

// stepText is the 1-based step of a matched pair: "2", or "2/3" when the
// load is a different step in each run.
func stepText(a, b *int) string {
	switch {
	case a == nil && b == nil:
		return "-"
	case a == nil:
		return fmt.Sprintf("-/%d", *b+1)
	case b == nil:
		return fmt.Sprintf("%d/-", *a+1)
	case *a == *b:
		return fmt.Sprint(*a + 1)
	}
	return fmt.Sprintf("%d/%d", *a+1, *b+1)
}

// JSON writes c as indented JSON.
func (c *Comparison) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// CompareFormats are the formats RenderComparisons writes.
var CompareFormats = []string{"text", "markdown", "json"}

// RenderComparisons writes the comparisons of several runs with one
// baseline in format (one of CompareFormats): one indented JSON array, or
// each comparison's text or Markdown, a blank line between them.
func RenderComparisons(w io.Writer, comps []*Comparison, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(comps)
	}
	for i, c := range comps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		render := c.Text
		if format == "markdown" {
			render = c.Markdown
		}
		if err := render(w); err != nil {
			return err
		}
	}
	return nil
}

// Text writes the comparison as benchstat-like tables: a section per
// metric, a column per run, the delta against the baseline with the test
// behind it, warnings as numbered footnotes.
func (c *Comparison) Text(w io.Writer) error {
	l := c.layout()
	var b strings.Builder
	for _, line := range l.intro {
		b.WriteString(line + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, t := range l.tables {
		if _, err := fmt.Fprintf(w, "\n%s\n", t.title); err != nil {
			return err
		}
		tab := tablewriter.NewTable(w,
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithRowAlignment(tw.AlignRight),
		)
		if err := renderTable(tab, t); err != nil {
			return err
		}
	}
	b.Reset()
	for _, s := range l.lists {
		fmt.Fprintf(&b, "\n%s\n", s.title)
		for _, item := range s.items {
			fmt.Fprintf(&b, "  - %s\n", item)
		}
	}
	if len(l.notes) > 0 {
		b.WriteString("\n")
		for i, n := range l.notes {
			fmt.Fprintf(&b, "%s %s\n", superscript(i+1), n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes the same as Text with Markdown headings, tables and
// lists, for a pull request comment or a CI summary.
func (c *Comparison) Markdown(w io.Writer) error {
	l := c.layout()
	var b strings.Builder
	fmt.Fprintf(&b, "## relaybench compare: %s vs %s (base)\n\n", mdEscape(c.B.Name), mdEscape(c.A.Name))
	for _, line := range l.intro {
		b.WriteString(mdEscape(line) + "  \n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, t := range l.tables {
		if _, err := fmt.Fprintf(w, "\n### %s\n\n", mdEscape(t.title)); err != nil {
			return err
		}
		tab := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithRowAlignment(tw.AlignRight),
		)
		// Cells may hold "|" only through names; escape them all so that
		// no cell splits a row.
		et := mdTable{title: t.title, header: mdEscapeAll(t.header)}
		for _, r := range t.rows {
			et.rows = append(et.rows, mdEscapeAll(r))
		}
		if err := renderTable(tab, et); err != nil {
			return err
		}
	}
	b.Reset()
	for _, s := range l.lists {
		fmt.Fprintf(&b, "\n### %s\n\n", mdEscape(s.title))
		for _, item := range s.items {
			fmt.Fprintf(&b, "- %s\n", mdEscape(item))
		}
	}
	if len(l.notes) > 0 {
		b.WriteString("\n")
		for i, n := range l.notes {
			fmt.Fprintf(&b, "%s %s  \n", superscript(i+1), mdEscape(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type mdTable struct {
	title  string
	header []string
	rows   [][]string
}

func renderTable(t *tablewriter.Table, m mdTable) error {
	t.Header(m.header)
	for _, r := range m.rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// mdEscape escapes the characters that would make Markdown out of plain
// text in our output: table pipes, emphasis and HTML tags (a ">" starts
// a quote only at the start of a line, where our lines never have one).
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;").Replace(s)
}

func mdEscapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdEscape(c)
	}
	return out
}

type listSection struct {
	title string
	items []string
}

type cmpLayout struct {
	intro  []string
	tables []mdTable
	lists  []listSection
	// notes are the footnotes the cells point to with superscripts.
	notes []string
}

// footnotes numbers warnings in the order they are first met, as
// benchstat does, so that a warning repeated on every row is printed once.
type footnotes struct{ notes []string }

func (f *footnotes) mark(cell string, warnings ...string) string {
	var marks []string
	for _, w := range warnings {
		i := slices.Index(f.notes, w)
		if i < 0 {
			f.notes = append(f.notes, w)
			i = len(f.notes) - 1
		}
		if m := superscript(i + 1); !slices.Contains(marks, m) {
			marks = append(marks, m)
		}
	}
	if len(marks) == 0 {
		return cell
	}
	return cell + " " + strings.Join(marks, " ")
}

func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	r := []rune(digits)
	var b strings.Builder
	for _, d := range fmt.Sprint(n) {
		b.WriteRune(r[d-'0'])
	}
	return b.String()
}

// layout turns c into what Text and Markdown render alike.
func (c *Comparison) layout() cmpLayout {
	var l cmpLayout
	var fn footnotes
	l.intro = []string{
		fmt.Sprintf("base %s: %s", c.A.Name, runText(c.A)),
		fmt.Sprintf("vs   %s: %s", c.B.Name, runText(c.B)),
		"one sample per repetition (n = repetitions): its goodput over the measured window, its TTFB p50 and p95; the seconds and requests of one repetition are not independent samples",
		fmt.Sprintf("medians of the repetitions with %g%% confidence intervals; \"vs base\" is %s against %s, Mann-Whitney U test as benchstat; ~ = no significant difference (p >= %g); with fewer than %d repetitions on a side: too few repetitions to test",
			c.Confidence*100, c.B.Name, c.A.Name, c.Alpha, MinRepetitions),
	}
	unit := c.A.LoadUnit
	if unit == "" {
		unit = "load"
	}
	header := []string{"step", unit, c.A.Name, c.B.Name, "vs base"}

	good := mdTable{title: "goodput, MiB/s: median of the repetitions' goodput (higher is better)", header: header}
	p50 := mdTable{title: "time to first byte p50, ms: median of the repetitions' p50 (lower is better)", header: header}
	p95 := mdTable{title: "time to first byte p95, ms: median of the repetitions' p95 (lower is better)", header: header}
	for _, s := range c.Steps {
		lead := []string{stepText(s.StepA, s.StepB), fmt.Sprint(s.Load)}
		for i, t := range []*mdTable{&good, &p50, &p95} {
			t.rows = append(t.rows, append(slices.Clone(lead), metricCells(&fn, c, s.Metrics()[i], s.StepA != nil, s.StepB != nil)...))
		}
	}
	l.tables = append(l.tables, good, p50, p95)

	capTable := mdTable{title: "capacity and overload onset", header: []string{"", c.A.Name, c.B.Name, "vs base"}}
	capStep := func(r *CapacityRef, lu string) string {
		if r == nil {
			return "none (no step carried bytes)"
		}
		s := fmt.Sprintf("step %d (%d %s)", r.Step+1, r.Load, lu)
		if b := r.Bound(); b != "" {
			s += ", " + b
		}
		return s
	}
	same := "different steps"
	if c.Capacity.SameStep {
		same = "same step"
	} else if c.Capacity.A == nil || c.Capacity.B == nil {
		same = ""
	}
	capTable.rows = append(capTable.rows, []string{"capacity step", capStep(c.Capacity.A, c.A.LoadUnit), capStep(c.Capacity.B, c.B.LoadUnit), same})
	capTable.rows = append(capTable.rows, append([]string{"capacity MiB/s (per repetition)"}, metricCells(&fn, c, c.Capacity.Goodput, c.Capacity.A != nil, c.Capacity.B != nil)...))
	onset := func(o *OnsetRef, lu string) string {
		if o == nil {
			return "none seen"
		}
		s := fmt.Sprintf("step %d (%d %s): %s", o.Step+1, o.Load, lu, o.Cause)
		if o.LoadGeneratorBound {
			s += ", generator-bound"
		}
		return s
	}
	onsetDelta := ""
	switch a, b := c.Onset.A, c.Onset.B; {
	case a == nil && b == nil:
	case a == nil || b == nil:
		onsetDelta = "differs"
	case a.Load == b.Load && a.Cause == b.Cause:
		onsetDelta = "same"
	case b.Load > a.Load:
		onsetDelta = "later"
	case b.Load < a.Load:
		onsetDelta = "earlier"
	default:
		onsetDelta = "other cause"
	}
	capTable.rows = append(capTable.rows, []string{"overload onset", onset(c.Onset.A, c.A.LoadUnit), onset(c.Onset.B, c.B.LoadUnit), onsetDelta})
	l.tables = append(l.tables, capTable)

	env := listSection{title: fmt.Sprintf("environment differences (%s → %s)", c.A.Name, c.B.Name)}
	for _, d := range c.EnvDifferences {
		env.items = append(env.items, fmt.Sprintf("%s: %s → %s", d.Key, d.A, d.B))
	}
	if len(env.items) == 0 {
		env.items = []string{"none found"}
	}
	env.items = append(env.items, c.EnvNotes...)
	l.lists = append(l.lists, env)
	if len(c.Warnings) > 0 {
		l.lists = append(l.lists, listSection{title: "warnings", items: c.Warnings})
	}
	l.notes = fn.notes
	return l
}

func runText(r RunRef) string {
	return fmt.Sprintf("scenario %s, %s, %s workload, %d repetition(s), stopped by %s",
		r.Scenario, r.Target, r.Workload, r.Repetitions, r.StoppedBy)
}

// metricCells are the A, B and "vs base" cells of one metric.
func metricCells(fn *footnotes, c *Comparison, m MetricComparison, inA, inB bool) []string {
	side := func(s SampleSummary, in bool) string {
		switch {
		case !in:
			return "not run"
		case s.N == 0:
			return "no samples"
		}
		return fn.mark(value(m.Metric, s.Median, false)+" ± "+ciText(s), s.Warnings...)
	}
	// Sides first: footnotes are numbered left to right, as benchstat.
	cellA, cellB := side(m.A, inA), side(m.B, inB)
	delta := ""
	switch {
	case !inA:
		delta = "only in " + c.B.Name
	case !inB:
		delta = "only in " + c.A.Name
	case m.A.N == 0 && m.B.N == 0:
		delta = "- (no samples)"
	case m.A.N == 0:
		delta = "- (no samples in " + c.A.Name + ")"
	case m.B.N == 0:
		delta = "- (no samples in " + c.B.Name + ")"
	default:
		delta = fn.mark(deltaText(m), m.Warnings...)
	}
	return []string{cellA, cellB, delta}
}
