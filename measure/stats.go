package measure

import (
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Estimate is the mean of samples with their spread and the 95 %
// confidence interval of the mean (Student's t), centred on Mean. What one
// sample is matters more than the arithmetic: the seconds of one run are
// not independent (a slow second tends to follow a slow second), so a
// step's goodput is estimated over repetitions (see GoodputEstimate).
type Estimate struct {
	// N is the number of samples; Of says what they are.
	N int `json:"n"`
	// Of is EstimateRepetitions or EstimateBatches for a step's goodput
	// (and the capacity); empty for an Estimate of other samples, and in
	// summaries of schema version 1, whose N counted seconds.
	Of     string  `json:"n_of,omitempty"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	// Low and High bound the 95 % confidence interval of the mean; both
	// equal Mean when N < 2.
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
}

// HalfWidth is half the width of the confidence interval.
func (e Estimate) HalfWidth() float64 { return (e.High - e.Low) / 2 }

// NewEstimate computes the Estimate of xs.
func NewEstimate(xs []float64) Estimate {
	e := Estimate{N: len(xs)}
	switch len(xs) {
	case 0:
		return e
	case 1:
		e.Mean, e.Low, e.High = xs[0], xs[0], xs[0]
		return e
	}
	e.Mean, e.StdDev = stat.MeanStdDev(xs, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
	h := t * e.StdDev / math.Sqrt(float64(len(xs)))
	e.Low, e.High = e.Mean-h, e.Mean+h
	return e
}

// Distribution summarises samples by exact percentiles (nearest rank on the
// sorted raw samples, gonum's Empirical quantile), in the samples' unit.
type Distribution struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// NewDistribution computes the Distribution of xs; xs is sorted in place.
func NewDistribution(xs []float64) Distribution {
	d := Distribution{N: len(xs)}
	if len(xs) == 0 {
		return d
	}
	slices.Sort(xs)
	q := func(p float64) float64 { return stat.Quantile(p, stat.Empirical, xs, nil) }
	d.Mean = stat.Mean(xs, nil)
	d.P50, d.P90, d.P95, d.P99 = q(0.50), q(0.90), q(0.95), q(0.99)
	d.Max = xs[len(xs)-1]
	return d
}

// seconds converts a duration in nanoseconds to seconds.
func seconds(ns int64) float64 { return time.Duration(ns).Seconds() }

// perSecond spreads byte counts over 1-second bins of a window. A transfer
// is assumed to move its bytes evenly between its first and its last byte;
// records say when those were, not how the bytes in between arrived.
type perSecond struct {
	from time.Time
	bins []float64
	// last is the length of the last bin in seconds (a window of 9.5 s
	// has 9 whole bins and a half one).
	last float64
}

// newPerSecond makes the bins of [from, to). A last bin shorter than half a
// second is dropped: its rate would rest on too little time.
func newPerSecond(from, to time.Time) *perSecond {
	d := to.Sub(from).Seconds()
	if d <= 0 {
		return &perSecond{from: from}
	}
	n := int(math.Floor(d))
	last := d - float64(n)
	if last >= 0.5 {
		n++
	} else {
		last = 1
		if n == 0 { // window under half a second: one short bin
			n, last = 1, d
		}
	}
	return &perSecond{from: from, bins: make([]float64, n), last: last}
}

// end is where the kept bins end.
func (p *perSecond) end() time.Time {
	if len(p.bins) == 0 {
		return p.from
	}
	return p.from.Add(time.Duration((float64(len(p.bins)-1) + p.last) * float64(time.Second)))
}

// add spreads n bytes evenly over [a, b]; bytes outside the bins are not
// counted.
func (p *perSecond) add(a, b time.Time, n float64) {
	if n <= 0 || len(p.bins) == 0 {
		return
	}
	s, e := a.Sub(p.from).Seconds(), b.Sub(p.from).Seconds()
	if e <= s { // all at once
		if i := int(math.Floor(s)); s >= 0 && i < len(p.bins) && s < float64(len(p.bins)-1)+p.last {
			p.bins[i] += n
		}
		return
	}
	rate := n / (e - s)
	lo := max(int(math.Floor(s)), 0)
	hi := min(int(math.Ceil(e)), len(p.bins))
	for i := lo; i < hi; i++ {
		binEnd := float64(i + 1)
		if i == len(p.bins)-1 {
			binEnd = float64(i) + p.last
		}
		if ov := min(e, binEnd) - max(s, float64(i)); ov > 0 {
			p.bins[i] += rate * ov
		}
	}
}

// rates returns bytes per second of each bin.
func (p *perSecond) rates() []float64 {
	out := make([]float64, len(p.bins))
	for i, v := range p.bins {
		w := 1.0
		if i == len(p.bins)-1 {
			w = p.last
		}
		out[i] = v / w
	}
	return out
}

// total returns the bytes in all bins and the bins' length in seconds.
func (p *perSecond) total() (bytes, secs float64) {
	for _, v := range p.bins {
		bytes += v
	}
	if len(p.bins) > 0 {
		secs = float64(len(p.bins)-1) + p.last
	}
	return bytes, secs
}
