package measure

import (
	"fmt"
	"slices"
	"strings"
)

// What a step's goodput Estimate counts. The independent samples of a
// benchmark are its repetitions: each runs the ramp on its own circuits
// (and, with variants, on a freshly started network), while the seconds
// of one step are autocorrelated and share one set of circuit paths. So
// the interval printed beside a step's goodput is over the repetitions'
// goodputs, and compare tests one sample per repetition; the per-second
// series (goodput_series) only describes a step and draws charts.
const (
	// EstimateRepetitions: one sample per repetition, its goodput over its
	// measured window (body bytes after the warm-up / the window's
	// seconds).
	EstimateRepetitions = "repetitions"
	// EstimateBatches: a single repetition's measured window cut into
	// consecutive batches of at least BatchSeconds seconds, one sample per
	// batch (its mean per-second goodput): batch means, the textbook way to
	// put an interval on the mean of one autocorrelated series. With fewer
	// than two whole batches (a window under 2 × BatchSeconds) there is no
	// interval: N is 1 and Low = High = Mean.
	EstimateBatches = "batches"
)

// BatchSeconds is the shortest batch of EstimateBatches. Batches this long
// let most of the per-second autocorrelation die out within a batch
// (goodput seconds correlate at lag 1 about 0.6 on the embedded network,
// 0.6^5 ≈ 0.08), which is what makes batch means nearly independent.
const BatchSeconds = 5

// goodputEstimate is a step's goodput estimate from its repetitions'
// goodputs (bytes/s): with two or more, their mean with Student's t
// interval (N = repetitions); with one, that repetition's goodput with the
// batch-means interval of its per-second series; with none, the zero
// Estimate. Either way the interval is centred on the mean printed.
func goodputEstimate(repGoodput, oneRepSeries []float64) Estimate {
	switch len(repGoodput) {
	case 0:
		return Estimate{}
	case 1:
		return batchEstimate(repGoodput[0], oneRepSeries)
	}
	e := NewEstimate(repGoodput)
	e.Of = EstimateRepetitions
	return e
}

// batchEstimate is mean (the repetition's bytes over its window's seconds)
// with the interval of the batch means of its per-second series: the
// series cut into k = len/BatchSeconds consecutive batches as equal as
// possible (the first len%k one second longer). The interval's half-width
// is Student's t over the k batch means, placed around mean, so that it is
// centred on the number printed (the batch means' own mean weights a short
// last second like a whole one).
func batchEstimate(mean float64, seconds []float64) Estimate {
	k := len(seconds) / BatchSeconds
	if k < 2 {
		return Estimate{N: 1, Of: EstimateBatches, Mean: mean, Low: mean, High: mean}
	}
	means := make([]float64, 0, k)
	size, longer := len(seconds)/k, len(seconds)%k
	for i, from := 0, 0; i < k; i++ {
		n := size
		if i < longer {
			n++
		}
		sum := 0.0
		for _, v := range seconds[from : from+n] {
			sum += v
		}
		means = append(means, sum/float64(n))
		from += n
	}
	e := NewEstimate(means)
	h := e.HalfWidth()
	e.Of, e.Mean, e.Low, e.High = EstimateBatches, mean, mean-h, mean+h
	return e
}

// capacitySamples fills c.RepGoodput from the capacity step's repetitions
// (steps as in Analysis.Steps). The capacity step is chosen on all
// repetitions together (the onset rules work on pooled steps); each
// repetition's sample is its goodput at that step, so the capacity printed
// (c.Goodput.Mean) is the mean of these samples, and compare tests them.
func capacitySamples(c *Capacity, steps []StepResult) {
	if c == nil {
		return
	}
	c.RepGoodput = nil
	for _, s := range steps {
		if s.Step == c.Step {
			c.RepGoodput = slices.Clone(s.RepGoodput)
			return
		}
	}
}

// upgradeSummary brings a summary.json of an older schema to the current
// meaning, in place, as far as the summary allows.
//
// Version 1 put an interval over the per-second series pooled over
// repetitions (goodput.n counted seconds) around a mean taken differently;
// everything version 2 needs is in version 1's fields (rep_goodput,
// goodput_series, rep_stats), so the estimates are recomputed from them
// and the capacity's samples added.
//
// What version 3 changed (where requests count, TTFB without the SOCKS
// connect, the capacity at a healthy step) needs the raw requests: the
// numbers stay version 2's, the version says so, and a problem tells the
// reader how to recompute them.
//
// Versions before 4 had no attribution: each step's is taken from the
// bottlenecks and relay signals the file holds (judged then on the step's
// mean CPU, not its p90), the onset's and the capacity's from the steps,
// so an old capacity the relay is not shown to have limited becomes a
// lower bound, as it would be analysed today. A version 3 file is then
// version 4; an older one stays version 2 for the reason above.
func upgradeSummary(a *Analysis) {
	if a.Version >= AnalysisVersion {
		return
	}
	if a.Version < 3 {
		a.Problems = append(a.Problems, fmt.Sprintf("summary.json is version %d: requests counted by their start, TTFB including the SOCKS connect, "+
			"the capacity possibly at a step where requests failed; run relaybench analyze on the run directory to recompute it from the raw files", max(a.Version, 1)))
	}
	if a.Version < 2 {
		for i := range a.Steps {
			s := &a.Steps[i]
			s.Goodput = goodputEstimate(s.RepGoodput, s.GoodputSeries)
		}
		if c := a.Capacity; c != nil {
			for _, s := range a.Steps {
				if s.Step == c.Step {
					c.Goodput = s.Goodput
				}
			}
			capacitySamples(c, a.Steps)
		}
		a.Version = 2
	}
	for i := range a.Steps {
		s := &a.Steps[i]
		s.Attribution, s.AttributionEvidence = stepAttribution(s)
	}
	if o := a.Onset; o != nil {
		for i := range a.Steps {
			if a.Steps[i].Step == o.Step {
				o.Attribution, o.AttributionEvidence = onsetAttribution(&a.Steps[i])
			}
		}
	}
	if c := a.Capacity; c != nil {
		judgeCapacity(c, a.Steps, a.Onset, strings.HasPrefix(a.Target, "relay as "))
	}
	if a.Version == 3 {
		a.Version = AnalysisVersion
	}
}
