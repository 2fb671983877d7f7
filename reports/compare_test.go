package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
)

// The runs behind testdata/compare/*.summary.json: the same ramp (1, 2,
// 4, 8 streams, 12 s steps with 3 s warm-up, 2 repetitions, 1 MiB
// downloads) through a testnet bridge limited by BandwidthRate and
// BandwidthBurst, analysed with measure.Analyze. bw1 and bw1-rerun are
// two runs of the 1 MBytes configuration, bw4 one of 4 MBytes.
var (
	torrcBW1 = map[string]string{"BandwidthRate": "1 MBytes", "BandwidthBurst": "1 MBytes"}
	torrcBW4 = map[string]string{"BandwidthRate": "4 MBytes", "BandwidthBurst": "4 MBytes"}
)

func compareSummary(t *testing.T, name string) *measure.Analysis {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "compare", name+".summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a measure.Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func compareRuns(t *testing.T, base, other string, torrcA, torrcB map[string]string) *Comparison {
	t.Helper()
	return Compare(compareSummary(t, base), compareSummary(t, other),
		WithNames(base, other), WithEnvDifferences(TorrcDifferences(torrcA, torrcB)))
}

func TestCompareGolden(t *testing.T) {
	for _, tc := range []struct {
		base, other    string
		torrcA, torrcB map[string]string
	}{
		{"bw1", "bw4", torrcBW1, torrcBW4},
		{"bw1", "bw1-rerun", torrcBW1, torrcBW1},
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
// first step in both runs), significant everywhere, and as regressions
// only in the direction 4 → 1.
func TestCompareRateLimitRaised(t *testing.T) {
	c := compareRuns(t, "bw1", "bw4", torrcBW1, torrcBW4)
	if len(c.Steps) != 4 {
		t.Fatalf("%d steps compared, want 4", len(c.Steps))
	}
	for _, s := range c.Steps {
		g := s.Goodput
		if !g.Compared || !g.Significant || g.P >= 0.05 || g.DeltaPct == nil || *g.DeltaPct <= 100 || g.Delta == "~" || g.Verdict != "better" {
			t.Errorf("load %d: goodput %+v, want significantly higher by more than 100%%", s.Load, g)
		}
	}
	var b bytes.Buffer
	if err := c.Text(&b); err != nil {
		t.Fatal(err)
	}
	goodput := section(b.String(), "goodput per second", "time to first byte")
	if strings.Contains(goodput, "~") || strings.Count(goodput, "(p=") != 4 {
		t.Errorf("goodput table should show four significant deltas and no ~:\n%s", goodput)
	}
	if !strings.Contains(b.String(), "torrc/BandwidthRate: 1 MBytes → 4 MBytes") {
		t.Errorf("environment differences do not name the torrc change:\n%s", b.String())
	}
	if cp := c.Capacity.Goodput; !cp.Significant || cp.Verdict != "better" || !c.Capacity.SameStep {
		t.Errorf("capacity %+v, want significantly better at the same step", c.Capacity)
	}
	if r := c.Regressions(10); len(r) != 0 {
		t.Errorf("bw1 → bw4 regressions: %+v, want none", r)
	}

	back := compareRuns(t, "bw4", "bw1", torrcBW4, torrcBW1)
	regs := back.Regressions(10)
	var steps []int
	for _, r := range regs {
		if r.Metric == MetricGoodput {
			steps = append(steps, r.Load)
			if r.DeltaPct > -50 || r.P >= 0.05 || !strings.Contains(r.Message, "median goodput") || !strings.Contains(r.Message, "down by more than 10%") {
				t.Errorf("regression %+v", r)
			}
		}
	}
	if !slices.Equal(steps, []int{1, 2, 4, 8}) {
		t.Errorf("bw4 → bw1 goodput regressions at loads %v, want every step; all: %+v", steps, regs)
	}
	if !slices.ContainsFunc(regs, func(r Regression) bool { return r.Metric == MetricCapacity }) {
		t.Errorf("bw4 → bw1: no capacity regression in %+v", regs)
	}
}

// TestCompareSameConfig: two runs of one configuration. Each goodput test
// is at alpha 0.05, and per-second samples are autocorrelated (which makes
// the U test's p-values optimistic), so a rerun of the two runs has a fair
// chance (well above the 1-0.95^4 = 19 % of independent tests) of one
// step coming out "significant" by chance; two at once is unlikely. These
// two runs show none (the smallest p is 0.19), but the test allows one so
// that refreshing the testdata from new runs does not make it flaky. What
// it holds strictly is the size: a change of configuration nobody made
// cannot move a median by 10 % (these differ by at most 2.0 %), so no
// goodput regression beyond 10 % may show in either direction.
func TestCompareSameConfig(t *testing.T) {
	for _, pair := range [][2]string{{"bw1", "bw1-rerun"}, {"bw1-rerun", "bw1"}} {
		c := compareRuns(t, pair[0], pair[1], torrcBW1, torrcBW1)
		significant := 0
		for _, s := range c.Steps {
			g := s.Goodput
			if !g.Compared || g.DeltaPct == nil {
				t.Fatalf("%v load %d: goodput not compared: %+v", pair, s.Load, g)
			}
			if g.Significant {
				significant++
			} else if g.Delta != "~" {
				t.Errorf("%v load %d: not significant but delta %q", pair, s.Load, g.Delta)
			}
			if d := *g.DeltaPct; d < -10 || d > 10 {
				t.Errorf("%v load %d: medians differ by %.1f%% between runs of one configuration", pair, s.Load, d)
			}
		}
		if significant > 1 {
			t.Errorf("%v: %d of %d steps differ significantly in goodput, want at most 1", pair, significant, len(c.Steps))
		}
		for _, r := range c.Regressions(10) {
			if r.Metric != MetricTTFB {
				t.Errorf("%v: regression between runs of one configuration: %s", pair, r.Message)
			}
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

// synthetic is an analysis whose steps have the given loads and goodput
// series (bytes/s) and TTFB samples (s).
func synthetic(steps map[int][2][]float64) *measure.Analysis {
	a := &measure.Analysis{Scenario: "synthetic", Target: "testnet relay as bridge", Workload: "bulk", LoadUnit: "streams", Repetitions: 1, StoppedBy: "completed"}
	loads := make([]int, 0, len(steps))
	for l := range steps {
		loads = append(loads, l)
	}
	slices.Sort(loads)
	for i, l := range loads {
		a.Steps = append(a.Steps, measure.StepResult{
			Step: i, Load: l,
			GoodputSeries: steps[l][0], TTFBSamples: steps[l][1],
			Goodput: measure.NewEstimate(steps[l][0]),
		})
	}
	if len(a.Steps) > 0 {
		a.Capacity = &measure.Capacity{Step: 0, Load: loads[0], Goodput: a.Steps[0].Goodput}
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

func TestCompareTooFewSamples(t *testing.T) {
	a := synthetic(map[int][2][]float64{1: {series(3, 1e6, 1e3), series(3, 0.1, 0.01)}})
	b := synthetic(map[int][2][]float64{1: {series(3, 1.1e6, 1e3), series(3, 0.1, 0.01)}})
	c := Compare(a, b)
	g := c.Steps[0].Goodput
	all := strings.Join(append(append(slices.Clone(g.A.Warnings), g.B.Warnings...), g.Warnings...), "\n")
	for _, want := range []string{
		"need >= 6 samples for confidence interval at level 0.95",
		"need >= 4 samples to detect a difference at alpha level 0.05",
		"fewer than 6 samples on this side",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not say %q:\n%s", want, all)
		}
	}
	if g.Significant || g.Delta != "~" || g.A.CI != nil || g.A.CIText != "∞" {
		t.Errorf("3 vs 3 samples: %+v, want ~ and an unbounded interval", g)
	}
	var b2 bytes.Buffer
	if err := c.Text(&b2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b2.String(), "± ∞ ¹") || !strings.Contains(b2.String(), "¹ need >= 6 samples") {
		t.Errorf("text does not footnote the warnings:\n%s", b2.String())
	}
	// An unbounded interval must not break JSON (no Inf in it).
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("json: %v", err)
	}
}

func TestCompareIdenticalSamples(t *testing.T) {
	s := map[int][2][]float64{1: {series(20, 1e6, 1e4), series(20, 0.05, 0.001)}, 2: {series(20, 2e6, 0), series(20, 0.07, 0)}}
	c := Compare(synthetic(s), synthetic(s))
	for _, st := range c.Steps {
		for _, m := range []MetricComparison{st.Goodput, st.TTFB} {
			if !m.Compared || m.Significant || m.Delta != "~" || m.Verdict != "not significant" {
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
	if s := c.Steps[2]; s.StepA != nil || s.StepB == nil || *s.StepB != 2 || s.Goodput.Compared {
		t.Errorf("load 3 (only in new): %+v", s)
	}
	if s := c.Steps[3]; s.StepA == nil || *s.StepA != 2 || s.StepB != nil || s.Goodput.Compared || s.Goodput.A.N != 10 {
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
	Compare(a, b)
	if got := a.Steps[0].GoodputSeries; !slices.Equal(got, []float64{3, 1, 2, 5, 4, 6}) {
		t.Errorf("Compare reordered the analysis' samples: %v", got)
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
