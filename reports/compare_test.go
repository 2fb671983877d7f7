package reports

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
)

// The real runs in testdata/runs, analysed from their raw files
// (requests.jsonl, steps.jsonl, run.json, scenario.yaml; metrics.jsonl and
// processes.jsonl are left out, megabytes that compare does not read):
//   - rate1mb-a, rate4mb-a and rate1mb-b, rate4mb-b: two runs of
//     scenarios/compare-bandwidthrate.yaml with 6 repetitions (the
//     scenario's default), a testnet bridge limited by BandwidthRate and
//     BandwidthBurst 1 and 4 MBytes, ramp 1, 2, 4, 8 streams, 10 s steps
//     with a 2 s warm-up, 1 MiB downloads;
//   - bw4: an older run at 4 MBytes with 2 repetitions of 12 s steps.
var (
	torrcBW1 = map[string]string{"BandwidthRate": "1 MBytes", "BandwidthBurst": "1 MBytes"}
	torrcBW4 = map[string]string{"BandwidthRate": "4 MBytes", "BandwidthBurst": "4 MBytes"}
)

// analyzeRun analyses testdata/runs/<name> from its raw files, as compare
// and analyze do.
func analyzeRun(t *testing.T, name string) *measure.Analysis {
	t.Helper()
	r, err := measure.Load(filepath.Join("testdata", "runs", name))
	if err != nil {
		t.Fatal(err)
	}
	return measure.Analyze(r)
}

func compareRuns(t *testing.T, base, other string, torrcA, torrcB map[string]string) *Comparison {
	t.Helper()
	return Compare(analyzeRun(t, base), analyzeRun(t, other),
		WithNames(base, other), WithEnvDifferences(TorrcDifferences(torrcA, torrcB)))
}

func TestCompareGolden(t *testing.T) {
	for _, tc := range []struct {
		base, other    string
		torrcA, torrcB map[string]string
	}{
		{"rate1mb-a", "rate4mb-a", torrcBW1, torrcBW4},
		{"rate1mb-a", "rate1mb-b", torrcBW1, torrcBW1},
		{"bw4", "rate4mb-a", torrcBW4, torrcBW4},
	} {
		c := compareRuns(t, tc.base, tc.other, tc.torrcA, tc.torrcB)
		name := "compare/" + tc.base + "-vs-" + tc.other
		for _, f := range []struct {
			ext    string
			render func(*bytes.Buffer) error
		}{
			{".txt", func(b *bytes.Buffer) error { return c.Text(b) }},
			{".md", func(b *bytes.Buffer) error { return c.Markdown(b) }},
			{".json", func(b *bytes.Buffer) error { return c.JSON(b) }},
		} {
			var b bytes.Buffer
			if err := f.render(&b); err != nil {
				t.Fatalf("%s%s: %v", name, f.ext, err)
			}
			golden(t, name+f.ext, b.Bytes())
		}
	}
}

// TestCompareRateLimitRaised: 4 MBytes against 1 MBytes must come out as
// far more goodput at every step (the relay is rate-limited from the
// first step in both runs), significant everywhere with 6 repetitions a
// side, and as regressions only in the direction 4 → 1.
func TestCompareRateLimitRaised(t *testing.T) {
	for _, pair := range [][2]string{{"rate1mb-a", "rate4mb-a"}, {"rate1mb-b", "rate4mb-b"}} {
		c := compareRuns(t, pair[0], pair[1], torrcBW1, torrcBW4)
		if len(c.Steps) != 4 {
			t.Fatalf("%v: %d steps compared, want 4", pair, len(c.Steps))
		}
		for _, s := range c.Steps {
			g := s.Goodput
			if !g.Tested || !g.Significant || g.P >= 0.05 || g.DeltaPct == nil || *g.DeltaPct <= 100 || g.Verdict != OutcomeBetter || g.A.N != 6 || g.B.N != 6 {
				t.Errorf("%v load %d: goodput %+v, want significantly higher by more than 100%% over 6 repetitions a side", pair, s.Load, g)
			}
		}
		var b bytes.Buffer
		if err := c.Text(&b); err != nil {
			t.Fatal(err)
		}
		goodput := section(b.String(), "goodput, MiB/s", "time to first byte p50")
		if strings.Contains(goodput, "~") || strings.Count(goodput, "(p=") != 4 {
			t.Errorf("%v: goodput table should show four significant deltas and no ~:\n%s", pair, goodput)
		}
		if !strings.Contains(b.String(), "torrc/BandwidthRate: 1 MBytes → 4 MBytes") {
			t.Errorf("environment differences do not name the torrc change:\n%s", b.String())
		}
		if cp := c.Capacity.Goodput; !cp.Significant || cp.Verdict != OutcomeBetter || cp.A.N != 6 {
			t.Errorf("%v: capacity %+v, want significantly better over 6 repetitions", pair, c.Capacity)
		}
		if r := c.Regressions(10); len(r) != 0 {
			t.Errorf("%v: regressions %+v, want none", pair, r)
		}

		back := compareRuns(t, pair[1], pair[0], torrcBW4, torrcBW1)
		regs := back.Regressions(10)
		var loads []int
		for _, r := range regs {
			if r.Metric == MetricGoodput {
				loads = append(loads, r.Load)
				if r.DeltaPct > -50 || r.P >= 0.05 || r.NA != 6 || !strings.Contains(r.Message, "median goodput") || !strings.Contains(r.Message, "down by more than 10%") {
					t.Errorf("regression %+v", r)
				}
			}
		}
		if !slices.Equal(loads, []int{1, 2, 4, 8}) {
			t.Errorf("%v reversed: goodput regressions at loads %v, want every step; all: %+v", pair, loads, regs)
		}
		// The recorded runs kept no MetricsPort or process samples: nothing
		// shows the relay was the limit, so each capacity is a lower bound
		// whose limit is unknown, and its drop is not a regression.
		if slices.ContainsFunc(regs, func(r Regression) bool { return r.Metric == MetricCapacity }) {
			t.Errorf("%v reversed: a capacity regression between lower bounds in %+v", pair, regs)
		}
		if note := back.LowerBoundText(); !strings.Contains(note, "capacity not gated: "+pair[1]+"'s is a lower bound, whose limit is unknown") {
			t.Errorf("%v reversed: lower-bound note %q", pair, note)
		}
	}
}

// TestCapacityRegressionOnlyBetweenRelayCapacities: a significant drop of
// the capacity is a regression when both sides are the relay's; when
// either is a lower bound (here machine-bound) it is shown, not gated, and
// the compare text says whose limit each side is.
func TestCapacityRegressionOnlyBetweenRelayCapacities(t *testing.T) {
	base := synthetic(map[int][2][]float64{1: {series(6, 3e6, 1e4), series(6, 0.1, 0)}})
	worse := synthetic(map[int][2][]float64{1: {series(6, 1e6, 1e4), series(6, 0.1, 0)}})
	base.Capacity.Attribution, worse.Capacity.Attribution = measure.AttributionRelay, measure.AttributionRelay
	isCapacity := func(r Regression) bool { return r.Metric == MetricCapacity }
	c := Compare(base, worse, WithNames("a", "b"))
	if !slices.ContainsFunc(c.Regressions(10), isCapacity) || c.LowerBoundText() != "" {
		t.Errorf("relay-bound 3 → 1 MB/s: regressions %+v, note %q; want a capacity regression and no note", c.Regressions(10), c.LowerBoundText())
	}
	worse.Capacity.LowerBound, worse.Capacity.Attribution = true, measure.AttributionMachine
	c = Compare(base, worse, WithNames("a", "b"))
	if slices.ContainsFunc(c.Regressions(10), isCapacity) {
		t.Errorf("relay-bound vs machine-bound: capacity regression %+v, want none", c.Regressions(10))
	}
	if want := "b vs a: capacity not gated: b's is a lower bound, machine-bound, not the relay's capacity; not counted as a regression"; c.LowerBoundText() != want {
		t.Errorf("note %q, want %q", c.LowerBoundText(), want)
	}
	var b bytes.Buffer
	if err := c.Text(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "step 1 (1 streams), relay-bound") || !strings.Contains(b.String(), "step 1 (1 streams), lower bound, machine-bound") {
		t.Errorf("compare text does not say whose limit each capacity is:\n%s", b.String())
	}
}

// TestCompareSameConfig: two runs of one configuration, 6 repetitions
// each, compared both ways. No metric (goodput, TTFB p50 and p95 at each
// step, capacity) may come out significant: the test of each is exact for
// independent repetitions, and these runs show none. Each metric must
// have been tested: a comparison that says "too few" cannot pass for one
// that says "no difference".
func TestCompareSameConfig(t *testing.T) {
	for _, pair := range [][2]string{{"rate1mb-a", "rate1mb-b"}, {"rate1mb-b", "rate1mb-a"}, {"rate4mb-a", "rate4mb-b"}} {
		c := compareRuns(t, pair[0], pair[1], nil, nil)
		metrics := []MetricComparison{c.Capacity.Goodput}
		for _, s := range c.Steps {
			metrics = append(metrics, s.Metrics()...)
		}
		if len(metrics) != 13 {
			t.Fatalf("%v: %d metrics, want 4 steps × 3 + capacity", pair, len(metrics))
		}
		for _, m := range metrics {
			if !m.Tested || m.Significant || m.Verdict != OutcomeNoDifference || m.A.N < MinRepetitions || m.B.N < MinRepetitions {
				t.Errorf("%v %s: %+v, want tested and no difference", pair, m.Metric, m)
			}
		}
		if r := c.Regressions(0); len(r) != 0 {
			t.Errorf("%v: regressions between runs of one configuration: %+v", pair, r)
		}
		if n, _ := c.TooFew(); n != 0 || c.TooFewText() != "" {
			t.Errorf("%v: %d metrics too few to test", pair, n)
		}
		if len(c.EnvDifferences) != 0 {
			t.Errorf("%v: environment differences %+v, want none", pair, c.EnvDifferences)
		}
		var b bytes.Buffer
		if err := c.Text(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "none found") {
			t.Errorf("no \"none found\" for the environment:\n%s", b.String())
		}
	}
}

// TestCompareTooFewRepetitions: a run of 2 repetitions against one of 6
// is shown but not tested, whatever its medians, and says so.
func TestCompareTooFewRepetitions(t *testing.T) {
	c := compareRuns(t, "bw4", "rate1mb-a", torrcBW4, torrcBW1)
	for _, s := range c.Steps {
		for _, m := range s.Metrics() {
			// A repetition in which no request got a first byte has no
			// TTFB sample: at 8 streams through 1 MBytes/s, some had none.
			if m.Verdict != OutcomeTooFew || m.Tested || m.Significant || m.A.N != 2 || m.B.N > 6 || m.Metric == MetricGoodput && m.B.N != 6 {
				t.Errorf("load %d %s: %+v, want too-few with n=2+6", s.Load, m.Metric, m)
			}
		}
	}
	if g := c.Steps[0].Goodput; g.DeltaPct == nil || *g.DeltaPct > -50 {
		t.Errorf("the delta is still shown: %+v", g)
	}
	if r := c.Regressions(10); len(r) != 0 {
		t.Errorf("regressions from untested metrics: %+v", r)
	}
	var b bytes.Buffer
	if err := c.Text(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"one sample per repetition (n = repetitions)", "too few repetitions to test (n=2+6)", "with fewer than 4 repetitions on a side: too few repetitions to test"} {
		if !strings.Contains(out, want) {
			t.Errorf("text does not say %q:\n%s", want, out)
		}
	}
	if n, of := c.TooFew(); n != 13 || of != 13 || !strings.Contains(c.TooFewText(), "13 of 13 metrics not tested: too few repetitions to test (bw4 ran 2, rate1mb-a ran 6") {
		t.Errorf("TooFew %d of %d: %q", n, of, c.TooFewText())
	}
}

// synthetic is an analysis whose steps have the given loads and, per
// repetition, goodputs (bytes/s) and TTFB p95 (s; p50 is half of it).
func synthetic(steps map[int][2][]float64) *measure.Analysis {
	a := &measure.Analysis{RunHeader: measure.RunHeader{Scenario: "synthetic", Target: "testnet relay as bridge", Workload: "bulk", LoadUnit: "streams", StoppedBy: "completed"}}
	loads := make([]int, 0, len(steps))
	for l := range steps {
		loads = append(loads, l)
	}
	slices.Sort(loads)
	for i, l := range loads {
		s := measure.StepResult{Step: i, Load: l, RepGoodput: steps[l][0], Goodput: measure.NewEstimate(steps[l][0])}
		for r, g := range steps[l][0] {
			rs := measure.RepStat{Rep: r, Goodput: g}
			if r < len(steps[l][1]) {
				rs.TTFBP95 = steps[l][1][r]
				rs.TTFBP50 = rs.TTFBP95 / 2
			}
			s.RepStats = append(s.RepStats, rs)
		}
		a.Repetitions = max(a.Repetitions, len(s.RepStats))
		a.Steps = append(a.Steps, s)
	}
	if len(a.Steps) > 0 {
		a.Capacity = &measure.Capacity{Step: 0, Load: loads[0], Goodput: a.Steps[0].Goodput, RepGoodput: a.Steps[0].RepGoodput}
	}
	return a
}

func series(n int, v, step float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v + float64(i)*step
	}
	return out
}

// TestCompareFewerThanSixRepetitions: 4 and 5 repetitions are tested, but
// the median's 95 % interval is unbounded (benchmath needs 6), which the
// text footnotes.
func TestCompareFewerThanSixRepetitions(t *testing.T) {
	a := synthetic(map[int][2][]float64{1: {series(4, 1e6, 1e3), series(4, 0.1, 0.01)}})
	b := synthetic(map[int][2][]float64{1: {series(5, 2e6, 1e3), series(5, 0.1, 0.01)}})
	c := Compare(a, b)
	g := c.Steps[0].Goodput
	if !g.Tested || !g.Significant || g.Verdict != OutcomeBetter || g.A.CI != nil || g.B.CI != nil {
		t.Errorf("4 vs 5 repetitions, fully separated: %+v, want tested, better, unbounded intervals", g)
	}
	if !slices.Contains(g.A.Warnings, "need >= 6 samples for confidence interval at level 0.95") {
		t.Errorf("warnings %q", g.A.Warnings)
	}
	var b2 bytes.Buffer
	if err := c.Text(&b2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b2.String(), "± ∞ ¹") || !strings.Contains(b2.String(), "¹ need >= 6 samples") || !strings.Contains(b2.String(), "(p=0.016 n=4+5)") {
		t.Errorf("text does not footnote the warnings or show the test:\n%s", b2.String())
	}
	// An unbounded interval must not break JSON (no Inf in it).
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("json: %v", err)
	}
}

// TestMinRepetitions: 4 a side is the fewest with which the U test can
// reach p < 0.05, as MinRepetitions says: fully separated samples give
// p = 2/70 with 4 against 4, 2/20 with 3 against 3.
func TestMinRepetitions(t *testing.T) {
	separated := func(n int) (*measure.Analysis, *measure.Analysis) {
		return synthetic(map[int][2][]float64{1: {series(n, 1e6, 1e3), nil}}), synthetic(map[int][2][]float64{1: {series(n, 2e6, 1e3), nil}})
	}
	a, b := separated(MinRepetitions)
	if g := Compare(a, b).Steps[0].Goodput; !g.Tested || g.P > 2.0/70+1e-9 || g.P < 2.0/70-1e-9 || !g.Significant {
		t.Errorf("4 vs 4: %+v, want p = 2/70", g)
	}
	a, b = separated(MinRepetitions - 1)
	if g := Compare(a, b).Steps[0].Goodput; g.Tested || g.Verdict != OutcomeTooFew {
		t.Errorf("3 vs 3: %+v, want too-few", g)
	}
}

func TestCompareIdenticalSamples(t *testing.T) {
	s := map[int][2][]float64{1: {series(6, 1e6, 1e4), series(6, 0.05, 0.001)}, 2: {series(6, 2e6, 0), series(6, 0.07, 0)}}
	c := Compare(synthetic(s), synthetic(s))
	for _, st := range c.Steps {
		for _, m := range st.Metrics() {
			if !m.Tested || m.Significant || m.Verdict != OutcomeNoDifference || deltaText(m)[0] != '~' {
				t.Errorf("load %d %s: %+v, want ~", st.Load, m.Metric, m)
			}
		}
	}
	if r := c.Regressions(0); len(r) != 0 {
		t.Errorf("regressions between identical runs: %+v", r)
	}
}

func TestCompareStepOnlyInOneRun(t *testing.T) {
	a := synthetic(map[int][2][]float64{1: {series(10, 1e6, 1e3), nil}, 2: {series(10, 2e6, 1e3), nil}, 4: {series(10, 3e6, 1e3), nil}})
	b := synthetic(map[int][2][]float64{1: {series(10, 1e6, 1e3), series(10, 0.1, 0.01)}, 2: {series(10, 2e6, 1e3), nil}, 3: {series(10, 2e6, 1e3), nil}})
	c := Compare(a, b, WithNames("old", "new"))
	var loads []int
	for _, s := range c.Steps {
		loads = append(loads, s.Load)
	}
	if !slices.Equal(loads, []int{1, 2, 3, 4}) {
		t.Fatalf("loads %v, want 1 2 3 4", loads)
	}
	if s := c.Steps[2]; s.StepA != nil || s.StepB == nil || *s.StepB != 2 || s.Goodput.Verdict != OutcomeMissing {
		t.Errorf("load 3 (only in new): %+v", s)
	}
	if s := c.Steps[3]; s.StepA == nil || *s.StepA != 2 || s.StepB != nil || s.Goodput.Verdict != OutcomeMissing || s.Goodput.A.N != 10 {
		t.Errorf("load 4 (only in old): %+v", s)
	}
	var b2 bytes.Buffer
	if err := c.Text(&b2); err != nil {
		t.Fatal(err)
	}
	out := b2.String()
	for _, want := range []string{"only in new", "only in old", "not run", "-/3", "3/-", "no samples in old"} {
		if !strings.Contains(out, want) {
			t.Errorf("text does not say %q:\n%s", want, out)
		}
	}
}

func TestCompareKeepsInput(t *testing.T) {
	a := synthetic(map[int][2][]float64{1: {[]float64{3, 1, 2, 5, 4, 6}, []float64{0.3, 0.1, 0.2}}})
	b := synthetic(map[int][2][]float64{1: {[]float64{6, 5, 4, 3, 2, 1}, []float64{0.1, 0.2, 0.3}}})
	c := Compare(a, b)
	if got := a.Steps[0].RepGoodput; !slices.Equal(got, []float64{3, 1, 2, 5, 4, 6}) {
		t.Errorf("Compare reordered the analysis' samples: %v", got)
	}
	if got := c.Steps[0].Goodput.A.Values; !slices.Equal(got, []float64{3, 1, 2, 5, 4, 6}) {
		t.Errorf("the comparison's samples are %v, want them in repetition order", got)
	}
}

func TestTorrcDifferences(t *testing.T) {
	got := TorrcDifferences(
		map[string]string{"BandwidthRate": "1 MBytes", "ConnLimit": "2000", "NumCPUs": "1"},
		map[string]string{"BandwidthRate": "4 MBytes", "NumCPUs": "1", "KISTSchedRunInterval": "2 msec"})
	want := []EnvDifference{
		{"torrc/BandwidthRate", "1 MBytes", "4 MBytes"},
		{"torrc/ConnLimit", "2000", Unset},
		{"torrc/KISTSchedRunInterval", Unset, "2 msec"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("TorrcDifferences = %+v, want %+v", got, want)
	}
}

// section is the text between the lines starting with from and to.
func section(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}
