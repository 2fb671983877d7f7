package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports/chart"
)

// The four charts of report.html, drawn with package chart: goodput and
// latency against load (one column per step), the run over time and CPU
// over time.

// stepChart makes a chart with one column per step of a (x = load) and
// returns it with the number of columns, their width and the x of a
// column's centre.
func stepChart(a *measure.Analysis, name, title, desc string, left float64) (ch *chart.Chart, n int, col float64, xAt func(int) float64) {
	ch = chart.New(name, title, desc, 600, 380, chart.Margins{Left: left, Right: 18, Top: 34, Bottom: 46})
	ch.XName, ch.XUnit = "load", a.LoadUnit
	n = len(a.Steps)
	col = ch.Plot.W / float64(n)
	ch.Tol = col / 2
	return ch, n, col, func(i int) float64 { return ch.Plot.X + (float64(i)+0.5)*col }
}

// goodputChart is goodput against load, one column per step.
func goodputChart(a *measure.Analysis) (*chart.Chart, string) {
	if len(a.Steps) == 0 {
		return nil, "No steps in summary.json: nothing to plot."
	}
	ch, _, col, xAt := stepChart(a, "goodput", "Goodput against load",
		"Client goodput in MiB/s at each load step with 95% confidence intervals; the capacity point and the overload onset are marked.", 62)

	top := 0.0
	anyRelay := false
	for _, s := range a.Steps {
		top = max(top, finite(s.Goodput.Mean), finite(s.Goodput.High))
		for _, r := range s.RepGoodput {
			top = max(top, finite(r))
		}
		if r := s.Relay; r != nil && r.Seconds > 0 {
			anyRelay = true
			top = max(top, finite(r.ReadBps), finite(r.WrittenBps))
		}
	}
	ymax, ystep := chart.NiceAxis(top/mib*1.08, 5)
	yAt := chart.Linear(0, ymax, ch.Plot.Bottom(), ch.Plot.Y)
	ch.Frame("load ("+a.LoadUnit+"), one column per step", "goodput (MiB/s)", chart.LinearTicks(0, ymax, ystep, yAt, ""))
	var xt []chart.Tick
	for i, s := range a.Steps {
		xt = append(xt, chart.Tick{Pos: xAt(i), Label: strconv.Itoa(s.Load)})
	}
	ch.XTicks(xt)

	good := &chart.Series{Key: "goodput", Name: "client goodput (mean, 95% CI)", Class: chart.Blue + " thick"}
	reps := &chart.Series{Key: "reps", Name: "repetitions", Class: chart.Blue + " hollow"}
	read := &chart.Series{Key: "relay-read", Name: "relay read", Class: chart.Green + " dash thin"}
	written := &chart.Series{Key: "relay-written", Name: "relay written", Class: chart.Orange + " dash thin"}
	for i, s := range a.Steps {
		x, load := xAt(i), strconv.Itoa(s.Load)
		if s.Goodput.N == 0 && s.Goodput.Mean == 0 {
			good.Gap()
		} else {
			m, lo, hi := finite(s.Goodput.Mean)/mib, finite(s.Goodput.Low)/mib, finite(s.Goodput.High)/mib
			text := fmt.Sprintf("%.3f MiB/s (95%% CI %.3f–%.3f, n=%d)", m, lo, hi, s.Goodput.N)
			good.Add(x, yAt(m), load, text)
			good.Dots = append(good.Dots, chart.Dot{X: x, Y: yAt(m), R: 4, Tip: fmt.Sprintf("load %d: %s", s.Load, text)})
			if s.Goodput.N >= 2 && hi > lo {
				good.ErrorBar(x, yAt(lo), yAt(hi))
			}
		}
		if k := len(s.RepGoodput); k > 0 {
			var texts []string
			for r, v := range s.RepGoodput {
				v = finite(v) / mib
				dx := (float64(r) - float64(k-1)/2) * 7
				reps.Dots = append(reps.Dots, chart.Dot{X: x + dx, Y: yAt(v), R: 2.5, Tip: fmt.Sprintf("load %d, repetition %d: %.3f MiB/s", s.Load, r+1, v)})
				texts = append(texts, fmt.Sprintf("%.3f", v))
			}
			reps.Tip(x, yAt(finite(s.RepGoodput[0])/mib), load, strings.Join(texts, ", ")+" MiB/s")
		}
		if r := s.Relay; r != nil && r.Seconds > 0 {
			for _, sr := range []struct {
				s *chart.Series
				v float64
			}{{read, r.ReadBps}, {written, r.WrittenBps}} {
				v := finite(sr.v) / mib
				sr.s.Add(x, yAt(v), load, fmt.Sprintf("%.3f MiB/s", v))
				sr.s.Dots = append(sr.s.Dots, chart.Dot{X: x, Y: yAt(v), R: 2.5, Tip: fmt.Sprintf("load %d: relay %.3f MiB/s", s.Load, v)})
			}
		} else {
			read.Gap()
			written.Gap()
		}
	}
	ch.Series = append(ch.Series, good, reps)
	if anyRelay {
		ch.Series = append(ch.Series, read, written)
	}
	if i := stepIndex(a, a.Onset); i >= 0 {
		ch.Marks = append(ch.Marks, ch.VMark("onset", "onset", xAt(i), "onset: "+a.Onset.Cause))
	}
	if c := a.Capacity; c != nil {
		for i, s := range a.Steps {
			if s.Step != c.Step {
				continue
			}
			x, y := xAt(i), yAt(finite(c.Goodput.Mean)/mib)
			label := fmt.Sprintf("capacity %.2f MiB/s", finite(c.Goodput.Mean)/mib)
			if c.LowerBound {
				label = fmt.Sprintf("capacity ≥ %.2f MiB/s (lower bound)", finite(c.Goodput.Mean)/mib)
			}
			t := chart.Text{X: x + 12, Y: y - 10, Anchor: "start", Text: label}
			if x+12+float64(len([]rune(label)))*6.4 > ch.W-4 {
				t.X, t.Anchor = x-12, "end"
			}
			if y-10 < ch.Plot.Y+24 { // below the point, clear of the onset label
				t.Y = y + 22
			}
			ch.Marks = append(ch.Marks, chart.Mark{Mark: "capacity", Class: "capacity", Rings: []chart.Dot{{X: x, Y: y, R: 9}}, Texts: []chart.Text{t}})
			break
		}
	}
	label := "generator-bound"
	if col < 110 {
		label = "gen.-bound"
	}
	for i, s := range a.Steps {
		if s.LoadGeneratorBound {
			y := ch.Plot.Bottom() - 6
			if i%2 == 1 { // neighbours' labels on two rows
				y -= 13
			}
			ch.Marks = append(ch.Marks, chart.Mark{Mark: "generator-bound", Class: "lgbound",
				Texts: []chart.Text{{X: xAt(i), Y: y, Anchor: "middle", Text: label}}})
		}
	}
	return ch, ""
}

// stepIndex is the position in a.Steps of the onset step, -1 without one.
func stepIndex(a *measure.Analysis, o *measure.Onset) int {
	if o == nil {
		return -1
	}
	for i, s := range a.Steps {
		if s.Step == o.Step {
			return i
		}
	}
	return -1
}

// latencyChart is the latency percentiles against load on a log scale:
// latencies span orders of magnitude once queues build up.
func latencyChart(a *measure.Analysis) (*chart.Chart, string) {
	if len(a.Steps) == 0 {
		return nil, "No steps in summary.json: nothing to plot."
	}
	type def struct {
		key, name, class string
		get              func(s measure.StepResult) measure.Distribution
		p                func(d measure.Distribution) float64
	}
	ttfb := func(s measure.StepResult) measure.Distribution { return s.TTFB }
	defs := []def{
		{"ttfb-p50", "TTFB p50", chart.Blue, ttfb, func(d measure.Distribution) float64 { return d.P50 }},
		{"ttfb-p95", "TTFB p95", chart.Orange + " thick", ttfb, func(d measure.Distribution) float64 { return d.P95 }},
		{"ttfb-p99", "TTFB p99", chart.Red, ttfb, func(d measure.Distribution) float64 { return d.P99 }},
		{"connect-p95", "connect p95", chart.Green + " dash", func(s measure.StepResult) measure.Distribution { return s.Connect },
			func(d measure.Distribution) float64 { return d.P95 }},
		{"ttlb-p95", "TTLB p95", chart.Purple + " dot", func(s measure.StepResult) measure.Distribution { return s.TTLB },
			func(d measure.Distribution) float64 { return d.P95 }},
	}
	lo, hi := math.Inf(1), 0.0
	for _, s := range a.Steps {
		for _, d := range defs {
			if dist := d.get(s); dist.N > 0 {
				if v := finite(d.p(dist)) * 1000; v > 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
	}
	if hi == 0 {
		return nil, "No latency samples: no request reached its first byte."
	}
	ch, _, _, xAt := stepChart(a, "latency", "Latency against load",
		"Time to first byte p50, p95 and p99, connect p95 and time to last byte p95 in milliseconds, log scale, at each load step.", 74)
	d0, d1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if d1 <= d0 {
		d1 = d0 + 1
	}
	yAt := func(ms float64) float64 {
		return ch.Plot.Bottom() - (math.Log10(ms)-d0)/(d1-d0)*ch.Plot.H
	}
	var yt []chart.Tick
	mults := []float64{1, 2, 5}
	if d1-d0 > 3 {
		mults = []float64{1}
	}
	for e := d0; e <= d1; e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if e == d1 && m > 1 {
				break
			}
			yt = append(yt, chart.Tick{Pos: yAt(v), Label: fmtMs(v)})
		}
	}
	ch.Frame("load ("+a.LoadUnit+"), one column per step", "latency (log scale)", yt)
	var xt []chart.Tick
	for i, s := range a.Steps {
		xt = append(xt, chart.Tick{Pos: xAt(i), Label: strconv.Itoa(s.Load)})
	}
	ch.XTicks(xt)
	for i, s := range a.Steps {
		if s.TTFB.N == 0 && s.Connect.N == 0 && s.TTLB.N == 0 {
			// Typically bulk downloads longer than the step: every request
			// measured was cut before its first byte.
			ch.Texts = append(ch.Texts, chart.Text{X: xAt(i), Y: ch.Plot.Bottom() - 8, Anchor: "middle", Class: "note", Text: "no samples"})
		}
	}
	for _, d := range defs {
		sr := &chart.Series{Key: d.key, Name: d.name, Class: d.class}
		for i, s := range a.Steps {
			dist := d.get(s)
			v := finite(d.p(dist)) * 1000
			if dist.N == 0 || v <= 0 {
				sr.Gap()
				continue
			}
			x, y := xAt(i), yAt(v)
			text := fmt.Sprintf("%.1f ms (n=%d)", v, dist.N)
			sr.Add(x, y, strconv.Itoa(s.Load), text)
			sr.Dots = append(sr.Dots, chart.Dot{X: x, Y: y, R: 3, Tip: fmt.Sprintf("load %d: %s %s", s.Load, d.name, text)})
		}
		if sr.HasValues() {
			ch.Series = append(ch.Series, sr)
		}
	}
	if i := stepIndex(a, a.Onset); i >= 0 {
		ch.Marks = append(ch.Marks, ch.VMark("onset", "onset", xAt(i), "onset: "+a.Onset.Cause))
	}
	return ch, ""
}

// fmtMs labels a log-axis tick given in milliseconds.
func fmtMs(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}

// timeAxis is the shared x axis of the two time charts.
type timeAxis struct {
	// at maps seconds since Timeline.Start to x.
	at func(float64) float64
}

func timelineEnd(tl *measure.Timeline) float64 {
	end := 0.0
	for _, s := range tl.Steps {
		end = max(end, finite(s.End))
	}
	for _, ps := range [][]measure.Point{tl.Goodput, tl.RelayRead, tl.RelayWritten, tl.RateLimitHits} {
		for _, p := range ps {
			end = max(end, finite(p.T))
		}
	}
	for _, ps := range tl.CPU {
		for _, p := range ps.Points {
			end = max(end, finite(p.T))
		}
	}
	return end
}

// timeFrame draws the time axis and the step bands of a time chart.
func timeFrame(ch *chart.Chart, tl *measure.Timeline, a *measure.Analysis, end float64, labels bool) timeAxis {
	ax := timeAxis{at: chart.Linear(0, end, ch.Plot.X, ch.Plot.Right())}
	ch.XName, ch.XUnit = "t", "s"
	_, step := chart.NiceAxis(end, 10)
	var xt []chart.Tick
	for i := 0; float64(i)*step <= end+step*1e-9; i++ {
		v := float64(i) * step
		xt = append(xt, chart.Tick{Pos: ax.at(v), Label: fmtClock(v, end)})
	}
	ch.XTicks(xt)
	p := ch.Plot
	prevRep := -1
	reps := map[int]bool{}
	for _, s := range tl.Steps {
		reps[s.Rep] = true
	}
	for _, s := range tl.Steps {
		start, warm, stop := finite(s.Start), finite(s.WarmupEnd), finite(s.End)
		if stop <= start {
			continue
		}
		warm = min(max(warm, start), stop)
		what := fmt.Sprintf("repetition %d, step %d (%d %s)", s.Rep+1, s.Step+1, s.Load, a.LoadUnit)
		if warm > start {
			ch.Bands = append(ch.Bands, chart.Rect{X: ax.at(start), Y: p.Y, W: ax.at(warm) - ax.at(start), H: p.H, Class: "band-warm",
				Tip: fmt.Sprintf("%s: warm-up %.1f–%.1f s, not in the statistics", what, start, warm)})
		}
		cls := "band-a"
		if s.Step%2 == 1 {
			cls = "band-b"
		}
		ch.Bands = append(ch.Bands, chart.Rect{X: ax.at(warm), Y: p.Y, W: ax.at(stop) - ax.at(warm), H: p.H, Class: cls,
			Tip: fmt.Sprintf("%s: measured %.1f–%.1f s", what, warm, stop)})
		if labels && ax.at(stop)-ax.at(start) >= 14 {
			ch.Texts = append(ch.Texts, chart.Text{X: (ax.at(start) + ax.at(stop)) / 2, Y: p.Y - 6, Anchor: "middle", Class: "band-label", Text: strconv.Itoa(s.Load)})
		}
		if s.Rep != prevRep {
			if prevRep >= 0 {
				ch.Marks = append(ch.Marks, chart.Mark{Class: "rep", Lines: []chart.Line{{X1: ax.at(start), Y1: p.Y, X2: ax.at(start), Y2: p.Bottom()}}})
			}
			if labels && len(reps) > 1 {
				ch.Texts = append(ch.Texts, chart.Text{X: ax.at(start) + 2, Y: p.Y - 22, Anchor: "start", Class: "rep-label", Text: fmt.Sprintf("repetition %d", s.Rep+1)})
			}
			prevRep = s.Rep
		}
	}
	if o := tl.OnsetAt; o != nil && a.Onset != nil && finite(*o) >= 0 && finite(*o) <= end {
		label := fmt.Sprintf("onset: %s (step %d)", a.Onset.Cause, a.Onset.Step+1)
		m := ch.VMark("onset", "onset", ax.at(finite(*o)), label)
		m.Lines[0].Y1 = p.Y
		m.Texts[0].Y = p.Y + 14
		if m.Texts[0].Anchor == "middle" {
			m.Texts[0].Anchor, m.Texts[0].X = "start", m.Texts[0].X+4
		}
		ch.Marks = append(ch.Marks, m)
	}
	return ax
}

// fmtClock labels a time tick: seconds, or m:ss for runs of minutes.
func fmtClock(v, end float64) string {
	if end < 180 {
		return strconv.FormatFloat(v, 'f', -1, 64) + " s"
	}
	s := int(math.Round(v))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// timelineChart is the run over time: client goodput, relay traffic and
// rate-limit hits.
func timelineChart(a *measure.Analysis) (*chart.Chart, string) {
	tl := a.Timeline
	if tl == nil {
		return nil, "No time series: summary.json has no timeline (it was written by an older relaybench, or the run has no steps)."
	}
	end := timelineEnd(tl)
	if end <= 0 || len(tl.Goodput)+len(tl.RelayRead)+len(tl.RelayWritten) == 0 {
		return nil, "No time series: the timeline holds no goodput or relay samples."
	}
	ch := chart.New("timeline", "The run over time",
		"Client goodput per second and relay read and written MiB/s over the run, with rate-limit hits as bars, step and warm-up periods shaded and the overload onset marked.",
		1000, 400, chart.Margins{Left: 62, Right: 62, Top: 44, Bottom: 46})
	goodput := thinPoints(tl.Goodput, maxPoints, false)
	read := thinPoints(tl.RelayRead, maxPoints, false)
	written := thinPoints(tl.RelayWritten, maxPoints, false)
	hits := thinPoints(tl.RateLimitHits, maxPoints, true)
	top := 0.0
	for _, ps := range [][]measure.Point{goodput, read, written} {
		for _, p := range ps {
			top = max(top, finite(p.V))
		}
	}
	ymax, ystep := chart.NiceAxis(top/mib*1.05, 5)
	yAt := chart.Linear(0, ymax, ch.Plot.Bottom(), ch.Plot.Y)
	ch.Frame("time since the run started", "MiB/s", chart.LinearTicks(0, ymax, ystep, yAt, ""))
	ax := timeFrame(ch, tl, a, end, true)
	ch.Tol = max(8, 1.5*medianStep(goodput)*ch.Plot.W/end)

	mk := func(key, name, class string, pts []measure.Point) {
		if len(pts) == 0 {
			return
		}
		sr := &chart.Series{Key: key, Name: name, Class: class}
		brk := 3 * medianStep(pts)
		for i, p := range pts {
			if i > 0 && p.T-pts[i-1].T > brk {
				sr.Gap()
			}
			v := finite(p.V) / mib
			sr.Add(ax.at(finite(p.T)), yAt(v), secText(p.T), fmt.Sprintf("%.3f MiB/s", v))
		}
		ch.Series = append(ch.Series, sr)
	}
	mk("goodput", "client goodput", chart.Blue+" thick", goodput)
	mk("relay-read", "relay read", chart.Green+" thin", read)
	mk("relay-written", "relay written", chart.Orange+" thin", written)
	if len(hits) > 0 {
		maxHits := 0.0
		for _, p := range hits {
			maxHits = max(maxHits, finite(p.V))
		}
		// One burst (tor's bucket at start-up) would flatten every other
		// bar: above four times the 90th percentile the scale stops at
		// twice it and taller bars are clipped, their count written on top.
		limit := maxHits
		if p90 := percentile(hits, 0.9); p90 > 0 && maxHits > 4*p90 {
			limit = 2 * p90
		}
		htop, hstep := chart.NiceAxis(limit, 2)
		// The bars use the bottom 30% of the plot: small, under the lines.
		hAt := chart.Linear(0, htop, ch.Plot.Bottom(), ch.Plot.Bottom()-0.3*ch.Plot.H)
		for _, t := range chart.LinearTicks(0, htop, hstep, hAt, "") {
			ch.Texts = append(ch.Texts, chart.Text{X: ch.Plot.Right() + 6, Y: t.Pos + 4, Anchor: "start", Class: "y2", Text: t.Label})
		}
		ch.Axes = append(ch.Axes, chart.Line{X1: ch.Plot.Right(), Y1: hAt(htop), X2: ch.Plot.Right(), Y2: ch.Plot.Bottom()})
		ch.Texts = append(ch.Texts, chart.Text{X: ch.W - 14, Y: ch.Plot.Bottom() - 0.15*ch.Plot.H, Anchor: "middle", Class: "alabel y2", Text: "rate-limit hits", Rot: true})
		sr := &chart.Series{Key: "rate-limit", Name: "relay rate-limit hits (per scrape interval)", Class: chart.Red + " bars"}
		width := medianStep(hits)
		for i, p := range hits {
			t, v := finite(p.T), finite(p.V)
			from := t - width // the first count's interval is not known
			if i > 0 {
				from = finite(hits[i-1].T) // a failed scrape makes it longer
			}
			x0, x1 := ax.at(from), ax.at(t)
			shown := min(v, htop)
			if v > 0 {
				w := max((x1-x0)*0.8, 1)
				sr.Bars = append(sr.Bars, chart.Rect{X: x1 - w, Y: hAt(shown), W: w, H: hAt(0) - hAt(shown),
					Tip: fmt.Sprintf("%.0f rate-limit hits in %.1f–%.1f s", v, from, t)})
				if v > htop {
					sr.Texts = append(sr.Texts, chart.Text{X: x1 - w/2, Y: hAt(htop) - 3, Anchor: "middle", Class: "clip", Text: fmt.Sprintf("%.0f", v)})
				}
			}
			sr.Tip(x1, hAt(shown), secText(t), fmt.Sprintf("%.0f hits", v))
		}
		ch.Series = append(ch.Series, sr)
	}
	if len(read)+len(written) == 0 {
		ch.Texts = append(ch.Texts, chart.Text{X: ch.Plot.Right() - 6, Y: ch.Plot.Y + 14, Anchor: "end", Class: "note", Text: "no relay MetricsPort data"})
	}
	return ch, ""
}

// maxPoints bounds the points of a drawn series: a day-long run would
// otherwise make a report of many megabytes for no visible gain.
const maxPoints = 2400

// thinPoints merges consecutive points into at most max points: means of
// rates, sums of counts (sum true).
func thinPoints(pts []measure.Point, limit int, sum bool) []measure.Point {
	if len(pts) <= limit {
		return pts
	}
	g := (len(pts) + limit - 1) / limit
	var out []measure.Point
	for i := 0; i < len(pts); i += g {
		j := min(i+g, len(pts))
		var v float64
		for _, p := range pts[i:j] {
			v += finite(p.V)
		}
		if !sum {
			v /= float64(j - i)
		}
		out = append(out, measure.Point{T: pts[j-1].T, V: v})
	}
	return out
}

// percentile is the q-quantile (nearest rank) of the points' values.
func percentile(pts []measure.Point, q float64) float64 {
	if len(pts) == 0 {
		return 0
	}
	v := make([]float64, len(pts))
	for i, p := range pts {
		v[i] = finite(p.V)
	}
	slices.Sort(v)
	return v[int(math.Ceil(q*float64(len(v))))-1]
}

// medianStep is the median time between consecutive points (1 s when
// there are fewer than two).
func medianStep(pts []measure.Point) float64 {
	if len(pts) < 2 {
		return 1
	}
	d := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		if dt := finite(pts[i].T - pts[i-1].T); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) == 0 {
		return 1
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func secText(t float64) string { return strconv.FormatFloat(math.Round(finite(t)*10)/10, 'f', 1, 64) }

// cpuChart is the CPU of the relay under test against the load generator
// over time: whether the relay or the generator ran out of CPU first.
func cpuChart(a *measure.Analysis) (*chart.Chart, string) {
	tl := a.Timeline
	if tl == nil {
		return nil, "No CPU series: summary.json has no timeline."
	}
	if len(tl.CPU) == 0 {
		return nil, "No CPU series: no process was sampled in this run."
	}
	end := timelineEnd(tl)
	if end <= 0 {
		return nil, "No CPU series: the timeline is empty."
	}
	ch := chart.New("cpu", "CPU over time",
		"CPU use in percent of one core over the run: the relay under test, the tor clients of the load generator (sum and each), relaybench itself, the other test-network relays and the whole machine (dashed), with a reference line at one core.",
		1000, 340, chart.Margins{Left: 62, Right: 62, Top: 30, Bottom: 46})
	type group struct {
		key, name, class string
		series           [][]measure.Point
	}
	var target, clients, harness, relays, machine []measure.ProcessSeries
	for _, ps := range tl.CPU {
		switch ps.Role {
		case "target":
			target = append(target, ps)
		case "client":
			clients = append(clients, ps)
		case "harness":
			harness = append(harness, ps)
		case "machine":
			machine = append(machine, ps)
		default:
			relays = append(relays, ps)
		}
	}
	cores := 0
	for _, s := range a.Steps {
		for _, p := range s.Processes {
			if p.Role == "machine" && p.Cores > 0 {
				cores = p.Cores
			}
		}
	}
	var groups []group
	for _, ps := range target {
		groups = append(groups, group{"target-" + ps.Name, "relay under test (" + ps.Name + ")", chart.Red + " thick", [][]measure.Point{ps.Points}})
	}
	if len(clients) > 0 {
		var all [][]measure.Point
		for _, ps := range clients {
			all = append(all, ps.Points)
		}
		name := "tor clients (sum of " + strconv.Itoa(len(clients)) + ")"
		if len(clients) == 1 {
			name = "tor client (" + clients[0].Name + ")"
		}
		groups = append(groups, group{"clients", name, chart.Blue + " thick", [][]measure.Point{sumPoints(all)}})
	}
	for _, ps := range harness {
		groups = append(groups, group{"harness-" + ps.Name, "relaybench (" + ps.Name + ")", chart.Purple, [][]measure.Point{ps.Points}})
	}
	if len(relays) > 0 {
		var all [][]measure.Point
		for _, ps := range relays {
			all = append(all, ps.Points)
		}
		groups = append(groups, group{"relays", "other test-network relays (sum of " + strconv.Itoa(len(relays)) + ")", chart.Green + " thin", [][]measure.Point{sumPoints(all)}})
	}
	for _, ps := range machine {
		name := "machine (all cores busy)"
		if cores > 0 {
			name = fmt.Sprintf("machine (all %d cores = %d%%)", cores, cores*100)
		}
		groups = append(groups, group{"machine", name, chart.Ink + " dash", [][]measure.Point{ps.Points}})
	}
	if len(clients) > 1 {
		for _, ps := range clients {
			groups = append(groups, group{"client-" + ps.Name, ps.Name, chart.Sky + " thin light", [][]measure.Point{ps.Points}})
		}
	}
	top := 100.0
	for i := range groups {
		for j := range groups[i].series {
			groups[i].series[j] = thinPoints(groups[i].series[j], maxPoints, false)
			for _, p := range groups[i].series[j] {
				top = max(top, finite(p.V)*100)
			}
		}
	}
	ymax, ystep := chart.NiceAxis(top*1.05, 5)
	yAt := chart.Linear(0, ymax, ch.Plot.Bottom(), ch.Plot.Y)
	ch.Frame("time since the run started", "CPU (% of one core)", chart.LinearTicks(0, ymax, ystep, yAt, "%"))
	ax := timeFrame(ch, tl, a, end, false)
	ch.Tol = 8
	for _, g := range groups {
		sr := &chart.Series{Key: g.key, Name: g.name, Class: g.class}
		for _, pts := range g.series {
			brk := 3 * medianStep(pts)
			sr.Gap()
			for i, p := range pts {
				if i > 0 && p.T-pts[i-1].T > brk {
					sr.Gap()
				}
				v := finite(p.V) * 100
				sr.Add(ax.at(finite(p.T)), yAt(v), secText(p.T), fmt.Sprintf("%.1f%%", v))
			}
			ch.Tol = max(ch.Tol, 1.5*medianStep(pts)*ch.Plot.W/end)
		}
		if sr.HasValues() {
			ch.Series = append(ch.Series, sr)
		}
	}
	ch.Tol = min(ch.Tol, ch.Plot.W/4)
	ref := yAt(100)
	ch.Marks = append(ch.Marks, chart.Mark{Mark: "one-core", Class: "ref",
		Lines: []chart.Line{{X1: ch.Plot.X, Y1: ref, X2: ch.Plot.Right(), Y2: ref}},
		Texts: []chart.Text{{X: ch.Plot.X + 6, Y: ref - 5, Anchor: "start", Text: "100% = one core"}}})
	return ch, ""
}

// sumPoints adds series sampled at (nearly) the same times: each value is
// the CPU over the interval ending at its point, so a series contributes
// the interval that contains each time of the longest series.
func sumPoints(series [][]measure.Point) []measure.Point {
	if len(series) == 1 {
		return series[0]
	}
	var grid []measure.Point
	for _, s := range series {
		if len(s) > len(grid) {
			grid = s
		}
	}
	out := make([]measure.Point, len(grid))
	for i, g := range grid {
		out[i] = measure.Point{T: g.T}
	}
	for _, s := range series {
		if len(s) == 0 {
			continue
		}
		tol := medianStep(s) / 4
		j := 0
		for i, g := range grid {
			if g.T < s[0].T-medianStep(s)-tol || g.T > s[len(s)-1].T+tol {
				continue
			}
			for j < len(s)-1 && s[j].T < g.T-tol {
				j++
			}
			if s[j].T >= g.T-tol {
				out[i].V += finite(s[j].V)
			}
		}
	}
	return out
}
