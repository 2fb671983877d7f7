package chart

import (
	"math"
	"strconv"
)

// Linear maps the data range [d0, d1] onto the positions [r0, r1]: for a
// y axis from 0 to top, Linear(0, top, plot.Bottom(), plot.Y). A value
// that is not finite maps as 0; an empty range maps everything to r0.
func Linear(d0, d1, r0, r1 float64) func(float64) float64 {
	return func(v float64) float64 {
		if d1 == d0 {
			return r0
		}
		return r0 + (Finite(v)-d0)/(d1-d0)*(r1-r0)
	}
}

// NiceAxis rounds v up to a multiple of a 1-2-2.5-5 step that gives about
// n intervals; a v that is not positive and finite gives the axis [0, 1].
func NiceAxis(v float64, n int) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		v = 1
	}
	step = niceNum(v / float64(n))
	top = math.Ceil(v/step-1e-9) * step
	return top, step
}

func niceNum(x float64) float64 {
	e := math.Floor(math.Log10(x))
	f := x / math.Pow(10, e)
	switch {
	case f <= 1:
		f = 1
	case f <= 2:
		f = 2
	case f <= 2.5:
		f = 2.5
	case f <= 5:
		f = 5
	default:
		f = 10
	}
	return f * math.Pow(10, e)
}

// LinearTicks are the ticks from, from+step, … up to top, placed by at
// and labelled with as many decimals as step needs and suffix.
func LinearTicks(from, top, step float64, at func(float64) float64, suffix string) []Tick {
	dec := 0
	for dec < 6 && math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-9 {
		dec++
	}
	var out []Tick
	for i := 0; ; i++ {
		v := from + float64(i)*step
		if v > top+step*1e-9 {
			break
		}
		out = append(out, Tick{at(v), strconv.FormatFloat(v, 'f', dec, 64) + suffix})
	}
	return out
}

// Finite is v, or 0 for NaN and ±Inf: no coordinate (and no number the
// report shows) is ever one of them.
func Finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Coord formats an SVG coordinate to 0.1 unit: enough for any screen, and
// stable across platforms for golden files.
func Coord(v float64) string {
	r := math.Round(Finite(v)*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
