package reports

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"golang.org/x/perf/benchmath"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// The simulated runs of TestCompareSimulation: what goodput looks like on
// the embedded network (issue 12). Each repetition has its own true mean,
// drawn around the configuration's with 5 % standard deviation (circuit
// paths differ per repetition); its seconds wander around that mean as an
// AR(1) series with lag-1 autocorrelation 0.6 and 10 % standard deviation.
const (
	simPairs       = 2000
	simRunToRun    = 0.05 // standard deviation of a repetition's mean, relative
	simAutocorr    = 0.6  // lag-1 autocorrelation of the seconds
	simSecondNoise = 0.10 // standard deviation of a second around its repetition's mean, relative
	simMean        = 3e6  // bytes/s
)

// simScenario is one step of 10 s with a 2 s warm-up: 8 measured seconds
// per repetition.
func simScenario(t *testing.T) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse([]byte("name: sim\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [4], step_duration: 10s, warmup: 2s}\n"), "sim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// simRun simulates reps repetitions of a configuration whose true
// goodput is mean and analyses them with measure.Analyze, as compare does
// a run directory: the runner's per-second byte counts in, summary out.
func simRun(rng *rand.Rand, sc *scenarios.Scenario, reps int, mean float64) *measure.Analysis {
	r := &measure.Run{Scenario: sc}
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	innovation := simSecondNoise * mean * math.Sqrt(1-simAutocorr*simAutocorr)
	for rep := range reps {
		repMean := mean * (1 + simRunToRun*rng.NormFloat64())
		st := rundir.StepSummary{StepKey: rundir.StepKey{Repetition: rep, Step: 0}, Load: 4, Start: at, WarmupEnd: at.Add(2 * time.Second), End: at.Add(10 * time.Second)}
		dev := simSecondNoise * mean * rng.NormFloat64() // the stationary distribution
		for sec := range 10 {
			if sec > 0 {
				dev = simAutocorr*dev + innovation*rng.NormFloat64()
			}
			n := int64(max(repMean+dev, 0))
			st.SecondBytes = append(st.SecondBytes, n)
			if sec >= 2 {
				st.Bytes += n
			}
		}
		r.Steps = append(r.Steps, st)
		at = st.End.Add(30 * time.Second)
	}
	return measure.Analyze(r)
}

// pooledSecondsP is the test compare made before issue 12, kept here only
// to show what the simulation catches: Mann-Whitney U on the per-second
// goodput of all repetitions pooled, as if each second were independent.
func pooledSecondsP(a, b *measure.Analysis) float64 {
	th := &benchmath.DefaultThresholds
	sa := benchmath.NewSample(slices.Clone(a.Steps[0].GoodputSeries), th)
	sb := benchmath.NewSample(slices.Clone(b.Steps[0].GoodputSeries), th)
	return benchmath.AssumeNothing.Compare(sa, sb).P
}

// simOutcomes compares simPairs pairs of simulated runs of reps
// repetitions each, B's true goodput ratio times A's. It returns how
// often compare's goodput verdict was each Outcome and, with old, how
// often the old pooled-seconds test was significant.
func simOutcomes(t *testing.T, seed uint64, reps int, ratio float64, old bool) (outcomes map[Outcome]float64, oldRate float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 12))
	sc := simScenario(t)
	counts := map[Outcome]int{}
	oldCount := 0
	for range simPairs {
		a := simRun(rng, sc, reps, simMean)
		b := simRun(rng, sc, reps, simMean*ratio)
		counts[Compare(a, b).Steps[0].Goodput.Verdict]++
		if old && pooledSecondsP(a, b) < benchmath.DefaultThresholds.CompareAlpha {
			oldCount++
		}
	}
	outcomes = map[Outcome]float64{}
	for o, n := range counts {
		outcomes[o] = float64(n) / simPairs
	}
	return outcomes, float64(oldCount) / simPairs
}

// TestCompareSimulation checks the compare statistic both ways on
// simulated runs whose truth is known. A/A (one configuration twice, 6
// repetitions each, the default of the compare scenarios): compare must
// find a significant goodput difference in at most 5 % of the pairs (the
// U test's exact rate for 6 against 6 is 4.1 %). The old per-second
// method on the same runs must fail this (it did: issue 12), or the
// simulation could not tell a broken statistic from a sound one. A/B
// (B's true goodput 20 % higher): compare must call B better in most
// pairs.
func TestCompareSimulation(t *testing.T) {
	const reps = 6
	alpha := benchmath.DefaultThresholds.CompareAlpha

	aa, oldFP := simOutcomes(t, 1, reps, 1, true)
	fp := aa[OutcomeBetter] + aa[OutcomeWorse]
	t.Logf("A/A, %d pairs of %d repetitions: significant in %.1f%% of pairs (limit %.0f%%); pooling seconds (the old method) on the same runs: %.1f%%",
		simPairs, reps, fp*100, alpha*100, oldFP*100)
	if fp > alpha {
		t.Errorf("A/A false-positive rate %.1f%%, want at most %.0f%%", fp*100, alpha*100)
	}
	if oldFP <= 2*alpha {
		t.Errorf("the old pooled-seconds test has a false-positive rate of %.1f%% here: the simulation no longer shows what it exists to show", oldFP*100)
	}

	aa2, oldFP2 := simOutcomes(t, 2, 2, 1, true)
	t.Logf("A/A, 2 repetitions: compare says too few repetitions to test in %.0f%% of pairs; pooling seconds: %.1f%% significant", aa2[OutcomeTooFew]*100, oldFP2*100)
	if aa2[OutcomeTooFew] != 1 {
		t.Errorf("2 repetitions: outcomes %v, want too-few always", aa2)
	}

	ab, _ := simOutcomes(t, 3, reps, 1.2, false)
	t.Logf("A/B, B 20%% faster, %d repetitions: compare calls B better in %.1f%% of pairs, worse in %.1f%%", reps, ab[OutcomeBetter]*100, ab[OutcomeWorse]*100)
	if ab[OutcomeBetter] < 0.8 || ab[OutcomeWorse] > 0 {
		t.Errorf("power %.1f%% (worse %.1f%%) against a true 20%% difference with %d repetitions, want at least 80%% (and never worse)", ab[OutcomeBetter]*100, ab[OutcomeWorse]*100, reps)
	}
	ab4, _ := simOutcomes(t, 4, 4, 1.2, false)
	t.Logf("A/B, B 20%% faster, 4 repetitions (the fewest tested): B better in %.1f%% of pairs", ab4[OutcomeBetter]*100)
	if ab4[OutcomeBetter] < 0.5 {
		t.Errorf("power %.1f%% with 4 repetitions, want more than half", ab4[OutcomeBetter]*100)
	}
}

// TestCompareTooFewNeverSignificant: with fewer than MinRepetitions on a
// side compare does not test, however far apart the samples are, and no
// regression comes of it.
func TestCompareTooFewNeverSignificant(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 12))
	sc := simScenario(t)
	a := simRun(rng, sc, 3, simMean)
	b := simRun(rng, sc, 8, simMean/4)
	c := Compare(a, b)
	g := c.Steps[0].Goodput
	if g.Verdict != OutcomeTooFew || g.Tested || g.Significant || g.P != 0 || g.DeltaPct == nil || *g.DeltaPct > -50 {
		t.Errorf("3 against 8 repetitions, 4× apart: %+v, want too-few, untested, with the delta shown", g)
	}
	if r := c.Regressions(10); len(r) != 0 {
		t.Errorf("regressions from an untested metric: %+v", r)
	}
	if n, of := c.TooFew(); n != of || n == 0 {
		t.Errorf("TooFew = %d of %d, want all", n, of)
	}
}
