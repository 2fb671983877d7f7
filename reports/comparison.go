package reports

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/relaybench/relaybench/measure"
)

// This file computes a comparison of two runs as values (Comparison); the
// layouts (text, Markdown, JSON) are in compare.go and only render them.

// CompareConfidence is the confidence level of the medians' intervals, as
// benchstat's default.
const CompareConfidence = 0.95

// MinRepetitions is the number of samples (repetitions) each side needs
// before compare tests a difference. The Mann-Whitney U test's smallest
// two-sided p-value is 2/C(n+m, n): 2/70 ≈ 0.029 for 4 against 4, but
// 2/20 = 0.1 for 3 against 3 and 2/35 ≈ 0.057 for 3 against 4, so below 4
// per side no outcome could be significant at 0.05 (benchmath warns the
// same: "need >= 4 samples to detect a difference"). Such a metric is
// OutcomeTooFew: shown, never tested, never a regression. Six per side are
// needed for a bounded 95 % interval of the median.
const MinRepetitions = 4

// Metric names of a MetricComparison and a Regression.
const (
	// MetricGoodput: a step's goodput, one sample per repetition (its body
	// bytes over its measured window's seconds).
	MetricGoodput = "goodput"
	// MetricTTFBP50 and MetricTTFBP95: a step's median and 95th percentile
	// time to first byte, one sample per repetition (over its requests).
	MetricTTFBP50 = "ttfb_p50"
	MetricTTFBP95 = "ttfb_p95"
	// MetricCapacity: each repetition's goodput at the run's capacity step
	// (measure.Capacity.RepGoodput), which may be a different step in each
	// run.
	MetricCapacity = "capacity"
)

// metricSpecs say what one sample of each metric is, its unit and which
// way is better.
var metricSpecs = map[string]struct {
	sample, unit   string
	higherIsBetter bool
}{
	MetricGoodput:  {"one per repetition: its goodput over the step's measured window", "bytes/s", true},
	MetricTTFBP50:  {"one per repetition: the p50 time to first byte of its requests in the step", "s", false},
	MetricTTFBP95:  {"one per repetition: the p95 time to first byte of its requests in the step", "s", false},
	MetricCapacity: {"one per repetition: its goodput at the run's capacity step", "bytes/s", true},
}

// Outcome is the verdict of one MetricComparison.
type Outcome string

// The outcomes.
const (
	// OutcomeBetter and OutcomeWorse: the U test found a significant
	// difference (p < alpha) and the medians moved that way (by
	// HigherIsBetter).
	OutcomeBetter Outcome = "better"
	OutcomeWorse  Outcome = "worse"
	// OutcomeNoDifference: tested, and no significant difference (p >=
	// alpha), or significant with equal medians.
	OutcomeNoDifference Outcome = "no-difference"
	// OutcomeTooFew: a side has fewer than MinRepetitions samples; not
	// tested. Not a regression, whatever the medians.
	OutcomeTooFew Outcome = "too-few"
	// OutcomeMissing: a side has no such step or no samples at all.
	OutcomeMissing Outcome = "missing"
)

// Comparison is run B compared with run A (the baseline), benchstat's way:
// each metric has one sample per repetition (never per second or per
// request: those share a repetition's circuits and are not independent),
// summarised by its median with an order-statistic confidence interval,
// and the two sides are compared with the Mann-Whitney U test
// (golang.org/x/perf/benchmath's AssumeNothing), when each side has at
// least MinRepetitions. It is written as JSON by `relaybench compare
// --format json`; rates are bytes per second, times seconds and steps
// 0-based, as in summary.json.
type Comparison struct {
	// A is the baseline, B the run compared with it.
	A RunRef `json:"a"`
	B RunRef `json:"b"`
	// Alpha is the significance level: a difference with P < Alpha is
	// significant.
	Alpha float64 `json:"alpha"`
	// Confidence is the level of the medians' confidence intervals.
	Confidence float64 `json:"confidence"`
	// MinRepetitions is the package constant: samples each side needs to
	// be tested.
	MinRepetitions int `json:"min_repetitions"`
	// Steps are the steps of both runs matched by load, in load order; a
	// load that only one run reached is listed too, with the other side's
	// step nil.
	Steps []StepComparison `json:"steps"`
	// Capacity compares the two runs' capacities.
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
	// RunHeader is the run's measure.Analysis's, so that the JSON says
	// what was compared without the summaries beside it.
	measure.RunHeader
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
	// Goodput compares the repetitions' goodputs (bytes/s), TTFBP50 and
	// TTFBP95 their TTFB percentiles (s). All are always set; their
	// Verdict says whether they were tested.
	Goodput MetricComparison `json:"goodput"`
	TTFBP50 MetricComparison `json:"ttfb_p50"`
	TTFBP95 MetricComparison `json:"ttfb_p95"`
}

// Metrics returns the step's metric comparisons in the order reports
// show them.
func (s StepComparison) Metrics() []MetricComparison {
	return []MetricComparison{s.Goodput, s.TTFBP50, s.TTFBP95}
}

// CapacityComparison compares the runs' capacities: each repetition's
// goodput at its run's capacity step (measure.Capacity), which need not
// be the same step in both runs, since a change can move the capacity.
type CapacityComparison struct {
	// A and B are each run's capacity; nil when the run has none (no step
	// carried any bytes).
	A *CapacityRef `json:"a"`
	B *CapacityRef `json:"b"`
	// SameStep is true when both capacities are at the same load.
	SameStep bool `json:"same_step"`
	// Goodput compares the two capacities' per-repetition samples
	// (bytes/s).
	Goodput MetricComparison `json:"goodput"`
}

// CapacityRef is one run's capacity step.
type CapacityRef struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// LowerBound is measure.Capacity.LowerBound: the relay can carry
	// more than this, so a difference may be another limit's.
	LowerBound bool `json:"lower_bound"`
	// Attribution is whose limit the capacity is
	// (measure.Capacity.Attribution); Path marks a live relay's path
	// capacity.
	Attribution measure.Attribution `json:"attribution,omitempty"`
	Path        bool                `json:"path,omitempty"`
}

// capacityRef is c as one side of a comparison.
func capacityRef(c *measure.Capacity) *CapacityRef {
	return &CapacityRef{Step: c.Step, Load: c.Load, LowerBound: c.LowerBound, Attribution: c.Attribution, Path: c.Path}
}

// Bound says whose limit the capacity is: "relay-bound", "lower bound,
// machine-bound", "lower bound, path capacity, whose limit is unknown".
func (r *CapacityRef) Bound() string {
	c := measure.Capacity{LowerBound: r.LowerBound, Attribution: r.Attribution, Path: r.Path}
	switch {
	case r.LowerBound && r.Attribution != "":
		return "lower bound, " + c.Bound()
	case r.LowerBound:
		return "lower bound"
	case r.Attribution != "":
		return c.Bound()
	}
	return ""
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

// MetricComparison is one metric of two runs: each side's samples (one
// per repetition) with their median, and the U test between them.
type MetricComparison struct {
	// Metric is MetricGoodput, MetricTTFBP50, MetricTTFBP95 or
	// MetricCapacity.
	Metric string `json:"metric"`
	// Sample says what one sample is; N counts them, i.e. repetitions.
	Sample string `json:"sample"`
	// Unit is the unit of the samples: "bytes/s" or "s".
	Unit string `json:"unit"`
	// HigherIsBetter gives the sign convention, as benchstat: goodput up
	// is better, TTFB up is worse. Deltas themselves are never flipped.
	HigherIsBetter bool `json:"higher_is_better"`
	// A and B summarise each side's samples.
	A SampleSummary `json:"a"`
	B SampleSummary `json:"b"`
	// Verdict is the outcome: only OutcomeBetter, OutcomeWorse and
	// OutcomeNoDifference come from a test.
	Verdict Outcome `json:"verdict"`
	// Tested is true when the U test ran (both sides had MinRepetitions
	// samples or more); P and Significant carry nothing otherwise.
	Tested bool `json:"tested"`
	// P is the U test's two-sided p-value.
	P float64 `json:"p"`
	// Significant is P < Alpha.
	Significant bool `json:"significant"`
	// DeltaPct is (B/A - 1) × 100 of the medians whenever both sides have
	// samples, tested and significant or not; nil when A's median is 0 or
	// a side has none.
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	// Warnings are benchmath's comparison warnings.
	Warnings []string `json:"warnings,omitempty"`
}

// SampleSummary is one side of a MetricComparison: the samples and
// benchmath's median with its confidence interval.
type SampleSummary struct {
	// N is the number of samples: repetitions.
	N int `json:"n"`
	// Values are the samples, in repetition order.
	Values []float64 `json:"values"`
	Median float64   `json:"median"`
	// CI is the order-statistic confidence interval of the median (at
	// the Comparison's Confidence); nil when it is unbounded (fewer than
	// 6 samples at 95 %) or there are no samples.
	CI *Interval `json:"ci,omitempty"`
	// Warnings are benchmath's summary warnings.
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

// Regression is a tested, significant change for the worse beyond a
// threshold (see Comparison.Regressions).
type Regression struct {
	// Metric is MetricGoodput, MetricTTFBP50, MetricTTFBP95 or
	// MetricCapacity.
	Metric string `json:"metric"`
	// Load, StepA and StepB say where: the matched step, or for
	// MetricCapacity each run's capacity step.
	Load  int `json:"load"`
	StepA int `json:"step_a"`
	StepB int `json:"step_b"`
	// A and B are the medians (bytes/s or s) of NA and NB repetitions.
	A        float64 `json:"a"`
	B        float64 `json:"b"`
	NA       int     `json:"n_a"`
	NB       int     `json:"n_b"`
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
	c := &Comparison{
		A:              runRef(cfg.nameA, base),
		B:              runRef(cfg.nameB, other),
		Alpha:          benchmath.DefaultThresholds.CompareAlpha,
		Confidence:     CompareConfidence,
		MinRepetitions: MinRepetitions,
		EnvDifferences: slices.Clone(cfg.env),
		EnvNotes:       slices.Clone(cfg.envNotes),
	}
	if c.EnvDifferences == nil {
		c.EnvDifferences = []EnvDifference{} // JSON [] rather than null: "none found"
	}
	c.Warnings = runWarnings(c, base, other)

	for _, p := range matchSteps(base.Steps, other.Steps) {
		sc := StepComparison{}
		// Step indexes are copied, not pointed at: the comparison must not
		// change when the caller reuses the analyses.
		if p.a != nil {
			st := p.a.Step
			sc.Load, sc.StepA = p.a.Load, &st
		}
		if p.b != nil {
			st := p.b.Step
			sc.Load, sc.StepB = p.b.Load, &st
		}
		inA, inB := p.a != nil, p.b != nil
		sc.Goodput = compareMetric(MetricGoodput, repGoodput(p.a), repGoodput(p.b), inA, inB)
		sc.TTFBP50 = compareMetric(MetricTTFBP50, repTTFB(p.a, false), repTTFB(p.b, false), inA, inB)
		sc.TTFBP95 = compareMetric(MetricTTFBP95, repTTFB(p.a, true), repTTFB(p.b, true), inA, inB)
		c.Steps = append(c.Steps, sc)
	}

	var capA, capB []float64
	if bc := base.Capacity; bc != nil {
		c.Capacity.A = capacityRef(bc)
		capA = bc.RepGoodput
	}
	if oc := other.Capacity; oc != nil {
		c.Capacity.B = capacityRef(oc)
		capB = oc.RepGoodput
	}
	c.Capacity.SameStep = c.Capacity.A != nil && c.Capacity.B != nil && c.Capacity.A.Load == c.Capacity.B.Load
	c.Capacity.Goodput = compareMetric(MetricCapacity, capA, capB, c.Capacity.A != nil, c.Capacity.B != nil)

	c.Onset.A, c.Onset.B = onsetRef(base.Onset), onsetRef(other.Onset)
	return c
}

func runRef(name string, a *measure.Analysis) RunRef {
	return RunRef{Name: name, RunHeader: a.RunHeader}
}

func onsetRef(o *measure.Onset) *OnsetRef {
	if o == nil {
		return nil
	}
	return &OnsetRef{Step: o.Step, Load: o.Load, Cause: o.Cause, LoadGeneratorBound: o.LoadGeneratorBound}
}

// repGoodput is the goodput samples of s, one per repetition; nil for no
// step.
func repGoodput(s *measure.StepResult) []float64 {
	if s == nil {
		return nil
	}
	return s.RepGoodput
}

// repTTFB is the p95 (or p50) TTFB samples of s, one per repetition that
// had any TTFB sample (measure.RepStat has 0 without one; a real TTFB is
// never 0).
func repTTFB(s *measure.StepResult, p95 bool) []float64 {
	if s == nil {
		return nil
	}
	var out []float64
	for _, r := range s.RepStats {
		if r.TTFBP95 <= 0 {
			continue
		}
		if p95 {
			out = append(out, r.TTFBP95)
		} else {
			out = append(out, r.TTFBP50)
		}
	}
	return out
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
		for _, p := range slices.Concat(r.a.Problems, r.a.Notes) {
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

// compareMetric summarises and tests two sides' samples (one per
// repetition) as benchstat does; inA and inB say whether each run has the
// step at all (a step without samples is not the same as no step).
func compareMetric(metric string, a, b []float64, inA, inB bool) MetricComparison {
	spec := metricSpecs[metric]
	m := MetricComparison{Metric: metric, Sample: spec.sample, Unit: spec.unit, HigherIsBetter: spec.higherIsBetter, Verdict: OutcomeMissing}
	th := &benchmath.DefaultThresholds
	var sa, sb *benchmath.Sample
	if inA {
		m.A, sa = summarise(a, th)
	}
	if inB {
		m.B, sb = summarise(b, th)
	}
	if !inA || !inB || m.A.N == 0 || m.B.N == 0 {
		return m
	}
	if m.A.Median != 0 {
		d := (m.B.Median/m.A.Median - 1) * 100
		m.DeltaPct = &d
	}
	if m.A.N < MinRepetitions || m.B.N < MinRepetitions {
		m.Verdict = OutcomeTooFew
		return m
	}
	r := benchmath.AssumeNothing.Compare(sa, sb)
	m.Tested, m.P = true, r.P
	// benchmath's FormatDelta shows a delta for P == Alpha; significance
	// here (and in Regressions) is P < Alpha, the definition in
	// benchmath's own documentation.
	m.Significant = r.P < r.Alpha
	switch {
	case !m.Significant || m.B.Median == m.A.Median:
		m.Verdict = OutcomeNoDifference
	case (m.B.Median > m.A.Median) == m.HigherIsBetter:
		m.Verdict = OutcomeBetter
	default:
		m.Verdict = OutcomeWorse
	}
	for _, w := range r.Warnings {
		m.Warnings = append(m.Warnings, w.Error())
	}
	return m
}

// summarise is benchmath's median of values with its order-statistic
// interval at CompareConfidence, and the benchmath Sample for the test.
func summarise(values []float64, th *benchmath.Thresholds) (SampleSummary, *benchmath.Sample) {
	s := SampleSummary{N: len(values), Values: slices.Clone(values)}
	if len(values) == 0 {
		return s, nil
	}
	// NewSample sorts its values in place: the analyses keep theirs in
	// repetition order.
	sample := benchmath.NewSample(slices.Clone(values), th)
	sum := benchmath.AssumeNothing.Summary(sample, CompareConfidence)
	s.Median = sum.Center
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		s.CI = &Interval{Low: sum.Lo, High: sum.Hi}
	}
	for _, w := range sum.Warnings {
		s.Warnings = append(s.Warnings, w.Error())
	}
	return s, sample
}

// Regressions lists the tested, significant (P < Alpha) changes for the
// worse by more than pct percent: a step's median goodput or the
// capacity down by more than pct, or a step's median TTFB p50 or p95 up by
// more than pct. A change that is not significant is never a regression,
// however large: with these samples it cannot be told from noise; nor is
// one that was not tested (OutcomeTooFew, see TooFew); nor a capacity of
// which either side is a lower bound (see LowerBoundText).
func (c *Comparison) Regressions(pct float64) []Regression {
	var out []Regression
	add := func(m MetricComparison, load, stepA, stepB int) {
		if m.Verdict != OutcomeWorse || m.DeltaPct == nil {
			return
		}
		d := *m.DeltaPct
		if worse := (m.HigherIsBetter && d < -pct) || (!m.HigherIsBetter && d > pct); !worse {
			return
		}
		r := Regression{
			Metric: m.Metric, Load: load, StepA: stepA, StepB: stepB,
			A: m.A.Median, B: m.B.Median, NA: m.A.N, NB: m.B.N, DeltaPct: d, P: m.P,
		}
		r.Message = c.regressionText(r, pct)
		out = append(out, r)
	}
	for _, s := range c.Steps {
		if s.StepA == nil || s.StepB == nil {
			continue
		}
		for _, m := range s.Metrics() {
			add(m, s.Load, *s.StepA, *s.StepB)
		}
	}
	if ca, cb := c.Capacity.A, c.Capacity.B; ca != nil && cb != nil && !ca.LowerBound && !cb.LowerBound {
		add(c.Capacity.Goodput, cb.Load, ca.Step, cb.Step)
	}
	return out
}

// LowerBoundText says that the capacities were not gated because one is
// a lower bound (whose limit it is), or "" when both are the relay's or
// either is missing. A lower bound's drop may be the machine's, the load
// generator's or the test network's, not the relay's: never a regression.
func (c *Comparison) LowerBoundText() string {
	ca, cb := c.Capacity.A, c.Capacity.B
	if ca == nil || cb == nil || !ca.LowerBound && !cb.LowerBound {
		return ""
	}
	var parts []string
	for _, side := range []struct {
		name string
		ref  *CapacityRef
	}{{c.A.Name, ca}, {c.B.Name, cb}} {
		if side.ref.LowerBound {
			parts = append(parts, fmt.Sprintf("%s's is a %s", side.name, side.ref.Bound()))
		}
	}
	return fmt.Sprintf("%s vs %s: capacity not gated: %s, not the relay's capacity; not counted as a regression",
		c.B.Name, c.A.Name, strings.Join(parts, " and "))
}

// TooFew counts the metrics with samples on both sides that were not
// tested for too few repetitions (OutcomeTooFew), of all metrics with
// samples on both sides: what a regression gate could not judge.
func (c *Comparison) TooFew() (tooFew, withSamples int) {
	count := func(m MetricComparison) {
		switch m.Verdict {
		case OutcomeTooFew:
			tooFew++
			withSamples++
		case OutcomeBetter, OutcomeWorse, OutcomeNoDifference:
			withSamples++
		}
	}
	for _, s := range c.Steps {
		for _, m := range s.Metrics() {
			count(m)
		}
	}
	count(c.Capacity.Goodput)
	return tooFew, withSamples
}
