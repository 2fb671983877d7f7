package measure

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// t975 are Student's t 0.975 quantiles from a printed table, by degrees
// of freedom: the expected intervals below do not come from gonum.
var t975 = map[int]float64{1: 12.706, 2: 4.303, 3: 3.182}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(math.Abs(b), 1) }

// TestGoodputEstimateOverRepetitions: issue 12's bw4 step 4, repetition
// means 2.65 and 2.88 MiB/s. Version 1 printed 2.77 ± 0.14 (n = 18
// seconds); over the two repetitions it is 2.77 ± 1.47, centred.
func TestGoodputEstimateOverRepetitions(t *testing.T) {
	const mib = 1 << 20
	reps := []float64{2.65 * mib, 2.88 * mib}
	e := goodputEstimate(reps, nil)
	mean := 2.765 * mib
	sd := 0.23 / math.Sqrt2 * mib
	h := t975[1] * sd / math.Sqrt2
	if e.N != 2 || e.Of != EstimateRepetitions || !near(e.Mean, mean, 1e-12) || !near(e.StdDev, sd, 1e-9) {
		t.Errorf("estimate %+v, want n=2 repetitions, mean %.0f, sd %.0f", e, mean, sd)
	}
	if !near(e.High-e.Mean, h, 1e-4) || !near(e.Mean-e.Low, h, 1e-4) {
		t.Errorf("interval %.0f..%.0f, want %.0f ± %.0f (t(0.975, 1) = 12.706)", e.Low, e.High, mean, h)
	}
	if got := goodputEstimate(nil, []float64{1, 2}); got != (Estimate{}) {
		t.Errorf("no repetition: %+v, want the zero Estimate", got)
	}
}

// TestBatchEstimate: one repetition's seconds cut into batches of at
// least 5 s; the interval is centred on the repetition's goodput.
func TestBatchEstimate(t *testing.T) {
	// 11 s: two batches, of 6 and 5 seconds.
	secs := []float64{10, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20}
	e := goodputEstimate([]float64{15}, secs)
	// Batch means 10 and 20: sd = 7.0711, half = 12.706 × 7.0711 / √2.
	h := t975[1] * math.Sqrt(50) / math.Sqrt2
	if e.N != 2 || e.Of != EstimateBatches || e.Mean != 15 || !near(e.StdDev, math.Sqrt(50), 1e-12) ||
		!near(e.Low, 15-h, 1e-4) || !near(e.High, 15+h, 1e-4) {
		t.Errorf("11 s: %+v, want 2 batches around 15 ± %.2f", e, h)
	}
	// 15 s: three batches of 5.
	secs = []float64{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 6, 6, 6, 6, 6}
	e = batchEstimate(3, secs)
	h = t975[2] * math.Sqrt(7) / math.Sqrt(3) // batch means 1, 2, 6: variance 7
	if e.N != 3 || e.Mean != 3 || !near(e.High-3, h, 1e-3) || !near(3-e.Low, h, 1e-3) {
		t.Errorf("15 s: %+v, want 3 batches around 3 ± %.3f", e, h)
	}
	// 9 s: one batch, no interval.
	if e := batchEstimate(4, make([]float64, 9)); e.N != 1 || e.Of != EstimateBatches || e.Low != 4 || e.High != 4 {
		t.Errorf("9 s: %+v, want one batch, no interval", e)
	}
}

// repRun is a run of two steps (loads 1 and 2, 10 s with 2 s warm-up) in
// len(perRep) repetitions, with repetition i moving perRep[i][step] bytes
// per second, evenly: the runner's per-second counts, no records.
func repRun(t *testing.T, perRep [][2]int64) *Run {
	t.Helper()
	sc, err := scenarios.Parse([]byte("name: reps\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1, 2], step_duration: 10s, warmup: 2s}\n"), "reps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Scenario: sc}
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for rep, rates := range perRep {
		for step, rate := range rates {
			st := rundir.StepSummary{StepKey: rundir.StepKey{Repetition: rep, Step: step}, Load: step + 1, Start: at, WarmupEnd: at.Add(2 * time.Second), End: at.Add(10 * time.Second)}
			for sec := range 10 {
				st.SecondBytes = append(st.SecondBytes, rate)
				if sec >= 2 {
					st.Bytes += rate
				}
			}
			r.Steps = append(r.Steps, st)
			at = st.End
		}
	}
	return r
}

// TestAnalyzeGoodputOverRepetitions: three repetitions of a step at 1, 2
// and 6 MB/s print 3 MB/s ± t(0.975, 2) × √7 / √3 MB/s, n = 3
// repetitions; the capacity's samples are the repetitions' goodputs at
// the capacity step, and their mean is the capacity.
func TestAnalyzeGoodputOverRepetitions(t *testing.T) {
	a := Analyze(repRun(t, [][2]int64{{1e6, 2e6}, {2e6, 4e6}, {6e6, 9e6}}))
	g := a.Steps[0].Goodput
	h := t975[2] * math.Sqrt(7e12) / math.Sqrt(3)
	if g.N != 3 || g.Of != EstimateRepetitions || g.Mean != 3e6 || !near(g.High-3e6, h, 1e-3) || !near(3e6-g.Low, h, 1e-3) {
		t.Errorf("step 1 goodput %+v, want 3e6 ± %.0f over 3 repetitions", g, h)
	}
	if got := a.Steps[0].RepGoodput; !slices.Equal(got, []float64{1e6, 2e6, 6e6}) {
		t.Errorf("step 1 repetitions %v", got)
	}
	if len(a.Steps[0].GoodputSeries) != 24 {
		t.Errorf("step 1 has %d seconds, want 3 × 8 (description only)", len(a.Steps[0].GoodputSeries))
	}
	c := a.Capacity
	if c == nil || c.Step != 1 || !slices.Equal(c.RepGoodput, []float64{2e6, 4e6, 9e6}) || c.Goodput.Mean != 5e6 || c.Goodput != a.Steps[1].Goodput {
		t.Errorf("capacity %+v, want step 2 with samples 2, 4, 9 MB/s and mean 5 MB/s", c)
	}
}

// TestReadSummaryUpgradesVersion1: a version 1 summary.json (interval over
// pooled seconds, not centred on the mean) reads as version 2: intervals
// over the repetitions, the capacity's samples filled. It cannot become
// version 3 (where requests count needs the raw files): it stays version 2
// and a problem says how to recompute it.
func TestReadSummaryUpgradesVersion1(t *testing.T) {
	// bw4's step 4 as version 1 wrote it (issue 12): mean 2.77 MiB/s,
	// n = 18 seconds, bounds around the series' mean.
	v1 := `{"version": 1, "scenario": "bw4", "repetitions": 2,
  "steps": [{"step": 0, "load": 8, "reps": 2,
    "goodput": {"n": 18, "mean": 2901267.117723087, "stddev": 297710.3, "ci95_low": 2753558.9, "ci95_high": 3049654.6},
    "goodput_series": [1, 2, 3],
    "rep_goodput": [2779726.9024667908, 3022841.6724662078],
    "rep_stats": [{"rep": 0, "goodput": 2779726.9024667908}, {"rep": 1, "goodput": 3022841.6724662078}]}],
  "capacity": {"step": 0, "load": 8, "goodput": {"n": 18, "mean": 2901267.117723087, "ci95_low": 2753558.9, "ci95_high": 3049654.6}}}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rundir.SummaryFile), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := a.Steps[0].Goodput
	mean := (2779726.9024667908 + 3022841.6724662078) / 2
	if a.Version != 2 || g.N != 2 || g.Of != EstimateRepetitions || !near(g.Mean, mean, 1e-12) || !near(g.High-g.Mean, g.Mean-g.Low, 1e-9) {
		t.Errorf("upgraded: version %d, goodput %+v; want version 2, n=2 repetitions centred on %.0f", a.Version, g, mean)
	}
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "relaybench analyze") || len(a.Problems) > 0 {
		t.Errorf("notes %q, problems %q: want one note saying to recompute the summary from the raw files", a.Notes, a.Problems)
	}
	if c := a.Capacity; c.Goodput != g || !slices.Equal(c.RepGoodput, a.Steps[0].RepGoodput) {
		t.Errorf("upgraded capacity %+v, want the step's estimate and samples", c)
	}
}
