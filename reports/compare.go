package reports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/perf/benchmath"

	"github.com/relaybench/relaybench/measure"
)

// CompareConfidence is the confidence level of the medians' intervals, as
// benchstat's default.
const CompareConfidence = 0.95

// MinSamples is the number of samples per side below which a comparison
// is flagged as weak: with fewer than 6 samples the 95 % confidence
// interval of the median is unbounded (benchmath needs 6), and the U test
// needs 4 per side just to be able to reach p < 0.05 at all.
const MinSamples = 6

// Metric names of a MetricComparison and a Regression.
const (
	// MetricGoodput is a step's client goodput of each second.
	MetricGoodput = "goodput"
	// MetricTTFB is a step's time to first byte of each request.
	MetricTTFB = "ttfb"
	// MetricCapacity is the goodput of each second of a run's capacity
	// step, which may be a different step in each run.
	MetricCapacity = "capacity"
)

// Comparison is run B compared with run A (the baseline), benchstat's way:
// per matched step the medians of the per-second goodput and of the TTFB
// samples with their 95 % confidence intervals, and a Mann-Whitney U test
// of the two samples (golang.org/x/perf/benchmath's AssumeNothing). It is
// written as JSON by `relaybench compare --format json`; rates are
// bytes per second, times seconds and steps 0-based, as in summary.json.
type Comparison struct {
	// A is the baseline, B the run compared with it.
	A RunRef `json:"a"`
	B RunRef `json:"b"`
	// Alpha is the significance level: a difference with P < Alpha is
	// reported, the others show as "~".
	Alpha float64 `json:"alpha"`
	// Confidence is the level of the medians' confidence intervals.
	Confidence float64 `json:"confidence"`
	// Steps are the steps of both runs matched by load, in load order; a
	// load that only one run reached is listed too, with the other side's
	// step nil.
	Steps []StepComparison `json:"steps"`
	// Capacity compares the goodput of the two runs' capacity steps.
	Capacity CapacityComparison `json:"capacity"`
	// Onset puts the overload onsets of the two runs side by side.
	Onset OnsetComparison `json:"onset"`
	// EnvDifferences are how the runs' set-ups differ (torrc, scenario,
	// env.json), as gathered by the caller (WithEnvDifferences): Compare
	// itself reads no files. Empty means none was found.
	EnvDifferences []EnvDifference `json:"env_differences"`
	// EnvNotes say what the environment comparison could not cover, e.g.
	// a run without env.json.
	EnvNotes []string `json:"env_notes,omitempty"`
	// Warnings qualify the whole comparison: different workloads, runs
	// that did not complete, problems with a run's raw data.
	Warnings []string `json:"warnings,omitempty"`
}

// RunRef names one run of a Comparison and says what it was.
type RunRef struct {
	// Name is how the run is shown (WithNames; "A" and "B" by default).
	Name string `json:"name"`
	// The rest is copied from the run's measure.Analysis, so that the
	// JSON says what was compared without the summaries beside it.
	Scenario    string `json:"scenario"`
	Target      string `json:"target"`
	Workload    string `json:"workload"`
	LoadUnit    string `json:"load_unit"`
	Repetitions int    `json:"repetitions"`
	StoppedBy   string `json:"stopped_by"`
}

// StepComparison is one load level of the two runs.
type StepComparison struct {
	// Load is the offered load both steps ran (in the runs' LoadUnit).
	Load int `json:"load"`
	// StepA and StepB are the step's index in each run; nil when that run
	// has no step at this load (a different ramp, or a run that stopped
	// early).
	StepA *int `json:"step_a"`
	StepB *int `json:"step_b"`
	// Goodput compares the per-second client goodput (bytes/s), TTFB the
	// times to first byte (s). Both are always set; they are not
	// Compared when a side is missing or has no samples.
	Goodput MetricComparison `json:"goodput"`
	TTFB    MetricComparison `json:"ttfb"`
}

// CapacityComparison compares the runs' capacities: the per-second
// goodput of each run's capacity step (measure.Capacity), which need not
// be the same step in both runs, since a change can move the capacity.
type CapacityComparison struct {
	// A and B are each run's capacity; nil when the run has none (no step
	// carried any bytes).
	A *CapacityRef `json:"a"`
	B *CapacityRef `json:"b"`
	// SameStep is true when both capacities are at the same load.
	SameStep bool `json:"same_step"`
	// Goodput compares the two steps' per-second goodput series (bytes/s);
	// not Compared when a side has no capacity.
	Goodput MetricComparison `json:"goodput"`
}

// CapacityRef is one run's capacity step.
type CapacityRef struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// LowerBound is measure.Capacity.LowerBound: the relay can carry
	// more than this, so a difference may be the load generator's.
	LowerBound bool `json:"lower_bound"`
}

// OnsetComparison puts the two runs' overload onsets side by side. They
// are single steps, not samples: there is nothing to test, only to show.
type OnsetComparison struct {
	// A and B are nil when no overload signal fired in that run.
	A *OnsetRef `json:"a"`
	B *OnsetRef `json:"b"`
}

// OnsetRef is one run's overload onset.
type OnsetRef struct {
	Step  int    `json:"step"`
	Load  int    `json:"load"`
	Cause string `json:"cause"`
	// LoadGeneratorBound is measure.Onset.LoadGeneratorBound.
	LoadGeneratorBound bool `json:"load_generator_bound"`
}

// MetricComparison is one metric of two runs: the median of each side's
// samples and the U test between them.
type MetricComparison struct {
	// Metric is MetricGoodput, MetricTTFB or MetricCapacity.
	Metric string `json:"metric"`
	// Unit is the unit of the medians and intervals: "bytes/s" or "s".
	Unit string `json:"unit"`
	// HigherIsBetter gives the sign convention, as benchstat: goodput up
	// is better, TTFB up is worse. Deltas themselves are never flipped.
	HigherIsBetter bool `json:"higher_is_better"`
	// A and B summarise each side's samples.
	A SampleSummary `json:"a"`
	B SampleSummary `json:"b"`
	// Compared is false when a side is missing or has no samples: then
	// P, Test, Delta and Significant carry nothing.
	Compared bool `json:"compared"`
	// P is the Mann-Whitney U test's p-value (two-sided).
	P float64 `json:"p"`
	// Test is benchmath's "p=0.002 n=18" (n=a+b when the sizes differ).
	Test string `json:"test,omitempty"`
	// Significant is P < Alpha.
	Significant bool `json:"significant"`
	// DeltaPct is (B/A - 1) × 100 of the medians, significant or not;
	// nil when A's median is 0 or the metric was not compared.
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	// Delta is benchstat's delta column: "~" when not significant, else
	// the signed percentage, "?" when A's median is 0.
	Delta string `json:"delta,omitempty"`
	// Verdict is "better" or "worse" for a significant change (by
	// HigherIsBetter), "same median" when the medians are equal but the
	// samples differ, "not significant", or "" when not compared.
	Verdict string `json:"verdict,omitempty"`
	// Warnings are benchmath's comparison warnings (e.g. "need >= 4
	// samples to detect a difference at alpha level 0.05").
	Warnings []string `json:"warnings,omitempty"`
}

// SampleSummary is one side of a MetricComparison: benchmath's median
// with its confidence interval.
type SampleSummary struct {
	// N is the number of samples.
	N      int     `json:"n"`
	Median float64 `json:"median"`
	// CI is the confidence interval of the median; nil when it is
	// unbounded (too few samples) or there are no samples.
	CI *Interval `json:"ci,omitempty"`
	// CIText is what benchstat shows after "±": the interval's larger
	// half as a percentage of the median ("3%"), "∞" when unbounded, "?"
	// when it straddles zero.
	CIText string `json:"ci_text,omitempty"`
	// Warnings are benchmath's summary warnings and ours about too few
	// samples (fewer than MinSamples).
	Warnings []string `json:"warnings,omitempty"`
}

// Interval is a confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// EnvDifference is one way the two runs' set-ups differ. Keys are
// "torrc/<Option>" for the relay's torrc overrides in scenario.yaml,
// "scenario/<path>" for other scenario settings and envinfo's keys for
// env.json (e.g. "sysctl/net.core.somaxconn").
type EnvDifference struct {
	Key string `json:"key"`
	// A and B are the values in each run; a side that does not have the
	// key says so, e.g. "(unset)".
	A string `json:"a"`
	B string `json:"b"`
}

// Unset is the value shown for a torrc option or scenario setting that a
// run does not set.
const Unset = "(unset)"

// Regression is a significant change for the worse, beyond a threshold.
type Regression struct {
	// Metric is MetricGoodput, MetricTTFB or MetricCapacity.
	Metric string `json:"metric"`
	// Load, StepA and StepB say where: the matched step, or for
	// MetricCapacity each run's capacity step.
	Load  int `json:"load"`
	StepA int `json:"step_a"`
	StepB int `json:"step_b"`
	// A and B are the medians (bytes/s or s).
	A        float64 `json:"a"`
	B        float64 `json:"b"`
	DeltaPct float64 `json:"delta_pct"`
	P        float64 `json:"p"`
	// Message is the one line a CI log shows.
	Message string `json:"message"`
}

// CompareOption adds to what Compare knows beyond the two analyses.
type CompareOption func(*compareConfig)

type compareConfig struct {
	nameA, nameB string
	env          []EnvDifference
	envNotes     []string
}

// WithNames names the two runs in the output (e.g. their directories'
// base names); without it they are "A" and "B".
func WithNames(base, other string) CompareOption {
	return func(c *compareConfig) { c.nameA, c.nameB = base, other }
}

// WithEnvDifferences hands Compare the differences between the runs'
// set-ups and notes on what could not be compared. The caller gathers them
// (from scenario.yaml and env.json) so that Compare stays a pure function
// of its arguments.
func WithEnvDifferences(diffs []EnvDifference, notes ...string) CompareOption {
	return func(c *compareConfig) {
		c.env = append(c.env, diffs...)
		c.envNotes = append(c.envNotes, notes...)
	}
}

// TorrcDifferences lists the options whose values differ between two
// torrc override maps (scenario.yaml's target.testnet.torrc), sorted by
// option; an option set in one map only shows Unset on the other side.
func TorrcDifferences(a, b map[string]string) []EnvDifference {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []EnvDifference
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if !oka {
			va = Unset
		}
		if !okb {
			vb = Unset
		}
		if oka != okb || va != vb {
			out = append(out, EnvDifference{Key: "torrc/" + k, A: va, B: vb})
		}
	}
	return out
}

// Compare compares other with base. Steps are matched by load (the i-th
// step at a load in one run with the i-th at that load in the other);
// analyses are not modified.
func Compare(base, other *measure.Analysis, opts ...CompareOption) *Comparison {
	cfg := compareConfig{nameA: "A", nameB: "B"}
	for _, o := range opts {
		o(&cfg)
	}
	th := benchmath.DefaultThresholds
	c := &Comparison{
		A:              runRef(cfg.nameA, base),
		B:              runRef(cfg.nameB, other),
		Alpha:          th.CompareAlpha,
		Confidence:     CompareConfidence,
		EnvDifferences: slices.Clone(cfg.env),
		EnvNotes:       slices.Clone(cfg.envNotes),
	}
	if c.EnvDifferences == nil {
		c.EnvDifferences = []EnvDifference{} // JSON [] rather than null: "none found"
	}
	c.Warnings = runWarnings(c, base, other)

	for _, p := range matchSteps(base.Steps, other.Steps) {
		sc := StepComparison{}
		var ga, gb, ta, tb []float64
		// Step indexes are copied, not pointed at: the comparison must not
		// change when the caller reuses the analyses.
		if p.a != nil {
			st := p.a.Step
			sc.Load, sc.StepA = p.a.Load, &st
			ga, ta = p.a.GoodputSeries, p.a.TTFBSamples
		}
		if p.b != nil {
			st := p.b.Step
			sc.Load, sc.StepB = p.b.Load, &st
			gb, tb = p.b.GoodputSeries, p.b.TTFBSamples
		}
		sc.Goodput = compareSamples(MetricGoodput, "bytes/s", true, ga, gb, p.a != nil, p.b != nil, c)
		sc.TTFB = compareSamples(MetricTTFB, "s", false, ta, tb, p.a != nil, p.b != nil, c)
		c.Steps = append(c.Steps, sc)
	}

	var capA, capB []float64
	if base.Capacity != nil {
		c.Capacity.A = &CapacityRef{Step: base.Capacity.Step, Load: base.Capacity.Load, LowerBound: base.Capacity.LowerBound}
		capA = stepSeries(base, base.Capacity.Step)
	}
	if other.Capacity != nil {
		c.Capacity.B = &CapacityRef{Step: other.Capacity.Step, Load: other.Capacity.Load, LowerBound: other.Capacity.LowerBound}
		capB = stepSeries(other, other.Capacity.Step)
	}
	c.Capacity.SameStep = c.Capacity.A != nil && c.Capacity.B != nil && c.Capacity.A.Load == c.Capacity.B.Load
	c.Capacity.Goodput = compareSamples(MetricCapacity, "bytes/s", true, capA, capB, c.Capacity.A != nil, c.Capacity.B != nil, c)

	c.Onset.A, c.Onset.B = onsetRef(base.Onset), onsetRef(other.Onset)
	return c
}

func runRef(name string, a *measure.Analysis) RunRef {
	return RunRef{
		Name: name, Scenario: a.Scenario, Target: a.Target, Workload: a.Workload,
		LoadUnit: a.LoadUnit, Repetitions: a.Repetitions, StoppedBy: a.StoppedBy,
	}
}

func onsetRef(o *measure.Onset) *OnsetRef {
	if o == nil {
		return nil
	}
	return &OnsetRef{Step: o.Step, Load: o.Load, Cause: o.Cause, LoadGeneratorBound: o.LoadGeneratorBound}
}

// stepSeries is the goodput series of step index in a.
func stepSeries(a *measure.Analysis, index int) []float64 {
	for _, s := range a.Steps {
		if s.Step == index {
			return s.GoodputSeries
		}
	}
	return nil
}

// runWarnings are the reasons to distrust the comparison as a whole.
func runWarnings(c *Comparison, a, b *measure.Analysis) []string {
	var out []string
	if a.Workload != b.Workload {
		out = append(out, fmt.Sprintf("the runs ran different workloads (%s: %s, %s: %s): their steps are not comparable", c.A.Name, a.Workload, c.B.Name, b.Workload))
	} else if a.LoadUnit != b.LoadUnit {
		out = append(out, fmt.Sprintf("the runs count load in different units (%s, %s)", a.LoadUnit, b.LoadUnit))
	}
	if a.Target != b.Target {
		out = append(out, fmt.Sprintf("the runs measured different targets (%s: %s, %s: %s)", c.A.Name, a.Target, c.B.Name, b.Target))
	}
	for _, r := range []struct {
		ref RunRef
		a   *measure.Analysis
	}{{c.A, a}, {c.B, b}} {
		if r.a.StoppedBy != "completed" {
			out = append(out, fmt.Sprintf("%s was stopped by %s, not completed: its last steps may be missing or cut short", r.ref.Name, r.a.StoppedBy))
		}
		for _, p := range r.a.Problems {
			out = append(out, fmt.Sprintf("%s: %s", r.ref.Name, p))
		}
	}
	return out
}

type stepPair struct{ a, b *measure.StepResult }

// matchSteps pairs the steps of two runs by load, in load order. A ramp
// may visit a load twice; the i-th visit pairs with the other run's i-th.
func matchSteps(as, bs []measure.StepResult) []stepPair {
	type key struct{ load, visit int }
	index := func(steps []measure.StepResult) (map[key]*measure.StepResult, []key) {
		m := map[key]*measure.StepResult{}
		var keys []key
		seen := map[int]int{}
		for i := range steps {
			k := key{steps[i].Load, seen[steps[i].Load]}
			seen[steps[i].Load]++
			m[k] = &steps[i]
			keys = append(keys, k)
		}
		return m, keys
	}
	ma, ka := index(as)
	mb, kb := index(bs)
	keys := ka
	for _, k := range kb {
		if ma[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.SortStableFunc(keys, func(x, y key) int { return cmp.Or(cmp.Compare(x.load, y.load), cmp.Compare(x.visit, y.visit)) })
	out := make([]stepPair, 0, len(keys))
	for _, k := range keys {
		out = append(out, stepPair{ma[k], mb[k]})
	}
	return out
}

// compareSamples summarises and tests two samples as benchstat does; inA
// and inB say whether each run has the step at all (a step without
// samples is not the same as no step).
func compareSamples(metric, unit string, higherBetter bool, a, b []float64, inA, inB bool, c *Comparison) MetricComparison {
	m := MetricComparison{Metric: metric, Unit: unit, HigherIsBetter: higherBetter}
	th := &benchmath.DefaultThresholds
	// NewSample sorts its values in place: work on copies so that the
	// analyses keep their samples in recorded order.
	var sa, sb *benchmath.Sample
	if inA {
		m.A, sa = summarise(slices.Clone(a), th, c.Confidence)
	}
	if inB {
		m.B, sb = summarise(slices.Clone(b), th, c.Confidence)
	}
	if !inA || !inB || m.A.N == 0 || m.B.N == 0 {
		return m
	}
	r := benchmath.AssumeNothing.Compare(sa, sb)
	m.Compared = true
	m.P = r.P
	m.Test = r.String()
	// benchmath's FormatDelta shows a delta for P == Alpha; the
	// significance this report (and Regressions) uses is P < Alpha, the
	// definition in benchmath's own documentation, so "~" follows it.
	m.Significant = r.P < r.Alpha
	if m.A.Median != 0 {
		d := (m.B.Median/m.A.Median - 1) * 100
		m.DeltaPct = &d
	}
	switch {
	case !m.Significant:
		m.Delta, m.Verdict = "~", "not significant"
	default:
		m.Delta = r.FormatDelta(m.A.Median, m.B.Median)
		switch {
		case m.B.Median == m.A.Median:
			m.Verdict = "same median"
		case (m.B.Median > m.A.Median) == higherBetter:
			m.Verdict = "better"
		default:
			m.Verdict = "worse"
		}
	}
	for _, w := range r.Warnings {
		m.Warnings = append(m.Warnings, w.Error())
	}
	return m
}

func summarise(values []float64, th *benchmath.Thresholds, confidence float64) (SampleSummary, *benchmath.Sample) {
	s := SampleSummary{N: len(values)}
	if len(values) == 0 {
		return s, nil
	}
	sample := benchmath.NewSample(values, th)
	sum := benchmath.AssumeNothing.Summary(sample, confidence)
	s.Median = sum.Center
	s.CIText = sum.PctRangeString()
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		s.CI = &Interval{Low: sum.Lo, High: sum.Hi}
	}
	for _, w := range sum.Warnings {
		s.Warnings = append(s.Warnings, w.Error())
	}
	if s.N < MinSamples {
		s.Warnings = append(s.Warnings, fmt.Sprintf("fewer than %d samples on this side: too few for a bounded 95%% interval of the median, and a U test on so few can hardly show a difference",
			MinSamples))
	}
	return s, sample
}

// Regressions lists the significant (P < Alpha) changes for the worse by
// more than pct percent: a step's median goodput or the capacity down by
// more than pct, or a step's median TTFB up by more than pct. A change
// that is not significant is never a regression, however large: with
// these samples it cannot be told from noise.
func (c *Comparison) Regressions(pct float64) []Regression {
	var out []Regression
	add := func(m MetricComparison, load, stepA, stepB int, where string) {
		if !m.Compared || !m.Significant || m.DeltaPct == nil {
			return
		}
		d := *m.DeltaPct
		worse := (m.HigherIsBetter && d < -pct) || (!m.HigherIsBetter && d > pct)
		if !worse {
			return
		}
		dir := "down"
		if d > 0 {
			dir = "up"
		}
		out = append(out, Regression{
			Metric: m.Metric, Load: load, StepA: stepA, StepB: stepB,
			A: m.A.Median, B: m.B.Median, DeltaPct: d, P: m.P,
			Message: fmt.Sprintf("%s: %s %s → %s (%+.2f%%, %s), %s by more than %g%%",
				where, metricLabel(m.Metric), value(m.Metric, m.A.Median, true), value(m.Metric, m.B.Median, true), d, m.Test, dir, pct),
		})
	}
	for _, s := range c.Steps {
		if s.StepA == nil || s.StepB == nil {
			continue
		}
		where := fmt.Sprintf("step %s (%d %s)", stepText(s.StepA, s.StepB), s.Load, c.A.LoadUnit)
		add(s.Goodput, s.Load, *s.StepA, *s.StepB, where)
		add(s.TTFB, s.Load, *s.StepA, *s.StepB, where)
	}
	if ca, cb := c.Capacity.A, c.Capacity.B; ca != nil && cb != nil {
		where := fmt.Sprintf("capacity (%s at step %d, %d %s; %s at step %d, %d %s)",
			c.A.Name, ca.Step+1, ca.Load, c.A.LoadUnit, c.B.Name, cb.Step+1, cb.Load, c.B.LoadUnit)
		add(c.Capacity.Goodput, cb.Load, ca.Step, cb.Step, where)
	}
	return out
}

func metricLabel(metric string) string {
	if metric == MetricTTFB {
		return "median TTFB"
	}
	return "median goodput"
}

// value formats a median in the unit reports show: MiB/s or ms.
func value(metric string, v float64, withUnit bool) string {
	var s, unit string
	if metric == MetricTTFB {
		s, unit = sig3(v*1000), " ms"
	} else {
		s, unit = sig3(v/mib), " MiB/s"
	}
	if withUnit {
		return s + unit
	}
	return s
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
		fmt.Sprintf("medians with %g%% confidence intervals; \"vs base\" is %s against %s, Mann-Whitney U test as benchstat; ~ = no significant difference (p >= %g)",
			c.Confidence*100, c.B.Name, c.A.Name, c.Alpha),
		"per-second goodput samples are not independent (a slow second tends to follow a slow one): p-values of goodput are optimistic",
	}
	unit := c.A.LoadUnit
	if unit == "" {
		unit = "load"
	}
	header := []string{"step", unit, c.A.Name, c.B.Name, "vs base"}

	good := mdTable{title: "goodput per second, MiB/s (higher is better)", header: header}
	ttfb := mdTable{title: "time to first byte, ms (lower is better)", header: header}
	for _, s := range c.Steps {
		lead := []string{stepText(s.StepA, s.StepB), fmt.Sprint(s.Load)}
		good.rows = append(good.rows, append(slices.Clone(lead), metricCells(&fn, c, s.Goodput, s.StepA != nil, s.StepB != nil)...))
		ttfb.rows = append(ttfb.rows, append(slices.Clone(lead), metricCells(&fn, c, s.TTFB, s.StepA != nil, s.StepB != nil)...))
	}
	l.tables = append(l.tables, good, ttfb)

	capTable := mdTable{title: "capacity and overload onset", header: []string{"", c.A.Name, c.B.Name, "vs base"}}
	capStep := func(r *CapacityRef, lu string) string {
		if r == nil {
			return "none (no step carried bytes)"
		}
		s := fmt.Sprintf("step %d (%d %s)", r.Step+1, r.Load, lu)
		if r.LowerBound {
			s += ", lower bound"
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
	capTable.rows = append(capTable.rows, append([]string{"capacity MiB/s"}, metricCells(&fn, c, c.Capacity.Goodput, c.Capacity.A != nil, c.Capacity.B != nil)...))
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
		return fn.mark(value(m.Metric, s.Median, false)+" ± "+s.CIText, s.Warnings...)
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
		delta = fn.mark(fmt.Sprintf("%s (%s)", m.Delta, m.Test), m.Warnings...)
	}
	return []string{cellA, cellB, delta}
}
