package reports

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports/verdict"
)

// The HTML report is one file that opens anywhere, offline and years later:
// CSS, script and charts are inline, nothing is fetched. The numbers are in
// plain tables so that the report reads without script; the charts are SVG
// computed here, so they need no charting library either. The script only
// adds hover tooltips and legend toggles.
//
// Coordinates are rounded to 0.1 and every map is walked in sorted order,
// so the same summary.json always gives the same bytes (golden tests).

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("html.tmpl").Funcs(template.FuncMap{
	"c": coord,
}).Parse(htmlSource))

// HTML writes the self-contained HTML report of a (report.html): the
// verdict, four charts (goodput and latency against load, the run over
// time, CPU over time) and the per-step tables. Missing parts of a (no
// relay data, no timeline, no onset) leave a note instead of a chart.
func HTML(w io.Writer, a *measure.Analysis) error {
	if a == nil {
		return errors.New("html report: no analysis")
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, newHTMLPage(finiteCopy(a))); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// htmlPage is what the template shows; everything is computed here so
// that the template only lays it out.
type htmlPage struct {
	A       *measure.Analysis
	Facts   []htmlFact
	Cards   []htmlCard
	Verdict []verdictBlock
	Charts  []chartSection
	Steps   htmlTable
	Details htmlTable
	Relay   htmlTable
	Procs   htmlTable
	Signals []stepSignals
	// HotPercent is measure.BottleneckUtilisation in percent.
	HotPercent string
}

type htmlFact struct{ Label, Value string }

// htmlCard is one headline figure above the verdict.
type htmlCard struct {
	Label, Value, Sub string
	// Class is ok, warn or bad: how the figure should be read.
	Class string
	Badge string
}

type htmlTable struct {
	Head []htmlCell
	Rows []htmlRow
	Note string
}

type htmlRow struct {
	Class string
	Cells []htmlCell
}

type htmlCell struct {
	Text, Class, Tip string
}

type stepSignals struct {
	Head    string
	Signals []measure.Signal
}

// chartSection is one chart with its caption, or the reason it is missing.
type chartSection struct {
	Heading, Caption string
	Chart            *svgChart
	Missing          string
	Wide             bool
}

func newHTMLPage(a *measure.Analysis) *htmlPage {
	v := verdict.Of(a)
	p := &htmlPage{A: a, HotPercent: fmt.Sprintf("%.0f", measure.BottleneckUtilisation*100)}
	p.Facts = []htmlFact{
		{"scenario", a.Scenario},
		{"target", a.Target},
		{"workload", a.Workload},
		{"load unit", a.LoadUnit},
		{"repetitions", strconv.Itoa(a.Repetitions)},
		{"stopped by", a.StoppedBy},
	}
	if tl := a.Timeline; tl != nil && !tl.Start.IsZero() {
		p.Facts = append(p.Facts, htmlFact{"started", tl.Start.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	th := a.Thresholds
	p.Facts = append(p.Facts, htmlFact{"onset thresholds", fmt.Sprintf(
		"saturation gain %.0f%% per doubling, latency ×%.1f, error rate %.1f%%, sockets %.0f%% of limit",
		finite(th.SaturationGain)*100, finite(th.LatencyFactor), finite(th.ErrorRate)*100, finite(th.SocketFraction)*100)})
	p.Cards = htmlCards(v)
	p.Verdict = verdictBlocks(v)

	gp, gpMissing := goodputChart(a)
	lat, latMissing := latencyChart(a)
	tlc, tlMissing := timelineChart(a)
	cpu, cpuMissing := cpuChart(a)
	p.Charts = []chartSection{
		{Heading: "Goodput against load", Chart: gp, Missing: gpMissing,
			Caption: "Client goodput after each step's warm-up, mean with its 95% confidence interval; small rings are the repetitions' means. Steps are evenly spaced whatever their load."},
		{Heading: "Latency against load", Chart: lat, Missing: latMissing,
			Caption: "Percentiles of all requests of each step, log scale: time to first byte (p50, p95, p99), SOCKS connect p95 (circuit build and stream attach) and time to last byte p95."},
		{Heading: "The run over time", Chart: tlc, Missing: tlMissing, Wide: true,
			Caption: "Client goodput each second and the relay's own traffic between MetricsPort scrapes; bars at the bottom count the relay's global rate-limit hits (right axis). Shaded: the steps, darker: their warm-up, which the statistics leave out."},
		{Heading: "CPU over time", Chart: cpu, Missing: cpuMissing, Wide: true,
			Caption: "CPU of the relay under test against the load generator, in % of one core (tor relays cells on one thread, so 100% is its ceiling). The machine line counts all cores busy: 200% on two cores means none was idle."},
	}
	p.Steps = stepTable(a)
	p.Details, p.Relay = detailTables(a)
	p.Procs = processTable(a)
	for _, s := range a.Steps {
		if len(s.Signals) > 0 {
			p.Signals = append(p.Signals, stepSignals{Head: fmt.Sprintf("step %d (%d %s)", s.Step+1, s.Load, a.LoadUnit), Signals: s.Signals})
		}
	}
	return p
}

func htmlCards(v verdict.Verdict) []htmlCard {
	var out []htmlCard
	if c := v.Capacity; c != nil {
		card := htmlCard{Label: "capacity", Class: "ok",
			Value: fmt.Sprintf("%.2f MiB/s", finite(c.Goodput.Mean)/mib),
			Sub: fmt.Sprintf("± %.2f (95%% CI %.2f–%.2f) at step %d (%d %s)", finite(c.Goodput.HalfWidth())/mib,
				finite(c.Goodput.Low)/mib, finite(c.Goodput.High)/mib, c.Step+1, c.Load, v.LoadUnit)}
		if c.LowerBound {
			card.Class, card.Badge, card.Value = "warn", "lower bound", "≥ "+card.Value
		}
		out = append(out, card)
		if c.RelayWrittenBps > 0 || c.RelayReadBps > 0 {
			out = append(out, htmlCard{Label: "relay at capacity", Class: "ok",
				Value: fmt.Sprintf("%.2f / %.2f MiB/s", finite(c.RelayReadBps)/mib, finite(c.RelayWrittenBps)/mib),
				Sub:   "read / written, cells and overhead included"})
		}
	} else {
		out = append(out, htmlCard{Label: "capacity", Value: "unknown", Sub: "no step carried any bytes", Class: "bad"})
	}
	if o := v.Onset; o != nil {
		card := htmlCard{Label: "overload onset", Class: "bad",
			Value: fmt.Sprintf("step %d (%d %s)", o.Step+1, o.Load, v.LoadUnit),
			Sub:   "cause: " + o.Cause}
		if o.LoadGeneratorBound {
			card.Class, card.Badge = "warn", "generator-bound"
		}
		out = append(out, card)
	} else {
		out = append(out, htmlCard{Label: "overload onset", Value: "none seen", Sub: "no overload signal fired at any step", Class: "ok"})
	}
	if len(v.Gates) > 0 {
		failed := v.FailedGates()
		card := htmlCard{Label: "thresholds", Value: "passed", Class: "ok", Sub: fmt.Sprintf("%d of %d gates", len(v.Gates)-failed, len(v.Gates))}
		if failed > 0 {
			card.Value, card.Class = "FAILED", "bad"
		}
		out = append(out, card)
	}
	return out
}

// verdictBlock is one section of the verdict (package verdict), in the
// words the terminal shows, so that the report and the terminal never
// disagree. Its classes come from the kinds of the section and its lines,
// never from their words.
type verdictBlock struct {
	Head  string
	Class string
	Parts []verdictPart
}

// verdictPart is a note line or a run of list items.
type verdictPart struct {
	Note  string
	Class string
	Items []string
}

func verdictBlocks(v verdict.Verdict) []verdictBlock {
	var out []verdictBlock
	for _, s := range v.Sections() {
		b := verdictBlock{Head: s.Head, Class: verdictClass(s.Kind)}
		for _, l := range s.Lines {
			if l.Kind != verdict.LineItem {
				b.Parts = append(b.Parts, verdictPart{Note: l.Text, Class: verdictClass(l.Kind)})
			} else if n := len(b.Parts); n > 0 && b.Parts[n-1].Items != nil {
				b.Parts[n-1].Items = append(b.Parts[n-1].Items, l.Text)
			} else {
				b.Parts = append(b.Parts, verdictPart{Items: []string{l.Text}})
			}
		}
		out = append(out, b)
	}
	return out
}

// verdictClass is the CSS class of a verdict section or note: capacity
// and ok draw green, onset and bad red, warn amber; list items have none.
func verdictClass(k verdict.Kind) string {
	switch k {
	case verdict.KindCapacity:
		return "capacity"
	case verdict.KindOnset:
		return "onset"
	case verdict.KindNoOnset, verdict.KindThresholdsPassed, verdict.LineGatePassed:
		return "ok"
	case verdict.KindCapacityUnknown, verdict.KindThresholdsFailed, verdict.LineGateFailed:
		return "bad"
	case verdict.KindBottlenecks, verdict.KindProblems, verdict.LineLowerBound, verdict.LineGeneratorBound:
		return "warn"
	}
	return ""
}

// --- tables ---

func stepTable(a *measure.Analysis) htmlTable {
	cols := StepColumns(a)
	t := htmlTable{Head: heads(cols, len(cols)-1)}
	for _, s := range a.Steps {
		row := htmlRow{Class: stepRowClass(a, s)}
		for i, cell := range StepRow(a, s) {
			row.Cells = append(row.Cells, htmlCell{Text: cell, Class: textIf(i == len(cols)-1)})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// stepRowClass marks the onset and capacity steps and the steps whose
// numbers the load generator limited.
func stepRowClass(a *measure.Analysis, s measure.StepResult) string {
	var cls []string
	if a.Onset != nil && a.Onset.Step == s.Step {
		cls = append(cls, "onset")
	}
	if a.Capacity != nil && a.Capacity.Step == s.Step {
		cls = append(cls, "capacity")
	}
	if s.LoadGeneratorBound {
		cls = append(cls, "lgbound")
	}
	return strings.Join(cls, " ")
}

// detailTables are the requests of each step and the relay's counters.
func detailTables(a *measure.Analysis) (requests, relay htmlTable) {
	requests = htmlTable{Head: heads([]string{"step", a.LoadUnit, "requests", "ok", "cut", "warm-up", "failed", "error rate", "errors by class", "circuits", "window s"}, 8)}
	relay = htmlTable{Head: heads([]string{
		"step", a.LoadUnit, "scrapes (failed)", "read / written MiB/s", "rate-limit hits rd / wr", "OOM bytes", "TCP exhaustion",
		"onionskins/s done / dropped", "circuits max", "sockets max / limit", "DoS actions",
	}, 10)}
	anyRelay := false
	for _, s := range a.Steps {
		failed := s.Requests - s.OK - s.Cut
		errs := "-"
		if len(s.Errors) > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
				parts = append(parts, fmt.Sprintf("%s %d", k, s.Errors[k]))
			}
			errs = strings.Join(parts, ", ")
		}
		cls := stepRowClass(a, s)
		step, load := htmlCell{Text: strconv.Itoa(s.Step + 1)}, htmlCell{Text: strconv.Itoa(s.Load)}
		requests.Rows = append(requests.Rows, htmlRow{Class: cls, Cells: []htmlCell{
			step, load,
			{Text: strconv.Itoa(s.Requests)}, {Text: strconv.Itoa(s.OK)}, {Text: strconv.Itoa(s.Cut)}, {Text: strconv.Itoa(s.Warmup)},
			{Text: strconv.Itoa(failed), Class: badIf(failed > 0)},
			{Text: fmt.Sprintf("%.1f%%", s.ErrorRate*100), Class: badIf(a.Thresholds.ErrorRate > 0 && s.ErrorRate > a.Thresholds.ErrorRate)},
			{Text: errs, Class: "text"},
			{Text: strconv.Itoa(s.Circuits)}, {Text: fmt.Sprintf("%.1f", s.WindowSeconds)},
		}})
		row := htmlRow{Class: cls, Cells: []htmlCell{step, load}}
		if r := s.Relay; r != nil {
			anyRelay = true
			scrapes := fmt.Sprintf("%d (%d)", r.Scrapes, r.FailedScrapes)
			tip := ""
			if r.Reset {
				scrapes += " reset"
				tip = "the relay's counters went back within the step (a restart): its rates are lower bounds"
			}
			rw := "-"
			if r.Seconds > 0 {
				rw = fmt.Sprintf("%.2f / %.2f", r.ReadBps/mib, r.WrittenBps/mib)
			}
			sockets := fmt.Sprintf("%.0f / %.0f", r.SocketsMax, r.SocketLimit)
			socketCls := ""
			if r.SocketLimit > 0 {
				share := r.SocketsMax / r.SocketLimit
				sockets += fmt.Sprintf(" (%.0f%%)", share*100)
				socketCls = warnIf(a.Thresholds.SocketFraction > 0 && share > a.Thresholds.SocketFraction)
			}
			dos := "-"
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(r.DoS)) {
				if r.DoS[k] != 0 {
					parts = append(parts, fmt.Sprintf("%s %.0f", k, r.DoS[k]))
				}
			}
			if len(parts) > 0 {
				dos = strings.Join(parts, ", ")
			}
			row.Cells = append(row.Cells,
				htmlCell{Text: scrapes, Class: warnIf(r.FailedScrapes > 0 || r.Reset), Tip: tip},
				htmlCell{Text: rw},
				htmlCell{Text: fmt.Sprintf("%.0f / %.0f", r.RateLimitRead, r.RateLimitWrite), Class: warnIf(r.RateLimitRead+r.RateLimitWrite > 0)},
				htmlCell{Text: fmt.Sprintf("%.0f", r.OOMBytes), Class: badIf(r.OOMBytes > 0)},
				htmlCell{Text: fmt.Sprintf("%.0f", r.TCPExhaustion), Class: badIf(r.TCPExhaustion > 0)},
				htmlCell{Text: fmt.Sprintf("%.2f / %.2f", r.OnionskinsProcessedPerSec, r.OnionskinsDroppedPerSec), Class: badIf(r.OnionskinsDroppedPerSec > 0)},
				htmlCell{Text: fmt.Sprintf("%.0f", r.CircuitsMax)},
				htmlCell{Text: sockets, Class: socketCls},
				htmlCell{Text: dos, Class: "text " + warnIf(dos != "-")},
			)
		} else {
			for range len(relay.Head) - 2 {
				row.Cells = append(row.Cells, htmlCell{Text: "-"})
			}
		}
		relay.Rows = append(relay.Rows, row)
	}
	if !anyRelay {
		relay.Note = "No relay-side data: the relay under test's MetricsPort was not scraped (or never answered)."
	}
	return requests, relay
}

// roleOrder sorts processes the way the report discusses them: the relay
// under test first, then the load generator, then the rest.
func roleOrder(role string) int {
	switch role {
	case "target":
		return 0
	case "client":
		return 1
	case "harness":
		return 2
	case "relay":
		return 3
	case "machine":
		return 5
	}
	return 4
}

func processTable(a *measure.Analysis) htmlTable {
	type proc struct{ name, role string }
	seen := map[proc]bool{}
	var procs []proc
	for _, s := range a.Steps {
		for _, p := range s.Processes {
			k := proc{p.Name, p.Role}
			if !seen[k] {
				seen[k] = true
				procs = append(procs, k)
			}
		}
	}
	slices.SortFunc(procs, func(x, y proc) int {
		if d := roleOrder(x.role) - roleOrder(y.role); d != 0 {
			return d
		}
		return strings.Compare(x.name, y.name)
	})
	t := htmlTable{Head: heads([]string{"process", "role"}, 0, 1)}
	for _, s := range a.Steps {
		t.Head = append(t.Head, htmlCell{Text: fmt.Sprintf("step %d (%d)", s.Step+1, s.Load)})
	}
	t.Head = append(t.Head, htmlCell{Text: "RSS max"})
	for _, pr := range procs {
		row := htmlRow{Cells: []htmlCell{{Text: pr.name, Class: "text"}, {Text: pr.role, Class: "text"}}}
		if pr.role == "target" {
			row.Class = "target"
		}
		var rss int64
		for _, s := range a.Steps {
			cell := htmlCell{Text: "-"}
			for _, p := range s.Processes {
				if p.Name != pr.name || p.Role != pr.role {
					continue
				}
				u := finite(p.Utilisation())
				peak := finite(p.CPUPeak)
				if p.Cores > 0 {
					peak /= float64(p.Cores)
				}
				cell = htmlCell{Text: fmt.Sprintf("%.0f%% / %.0f%%", u*100, peak*100), Class: warnIf(u >= measure.BottleneckUtilisation)}
				rss = max(rss, p.RSSMax)
			}
			row.Cells = append(row.Cells, cell)
		}
		rssText := "-"
		if rss > 0 {
			rssText = fmt.Sprintf("%.0f MiB", float64(rss)/mib)
		}
		row.Cells = append(row.Cells, htmlCell{Text: rssText})
		t.Rows = append(t.Rows, row)
	}
	if len(procs) == 0 {
		t.Note = "No process samples in this run."
	}
	return t
}

// heads are a table's column titles; the text columns are left-aligned.
func heads(names []string, text ...int) []htmlCell {
	out := make([]htmlCell, len(names))
	for i, n := range names {
		out[i] = htmlCell{Text: n, Class: textIf(slices.Contains(text, i))}
	}
	return out
}

func textIf(b bool) string {
	if b {
		return "text"
	}
	return ""
}

func warnIf(b bool) string {
	if b {
		return "warn"
	}
	return ""
}

func badIf(b bool) string {
	if b {
		return "bad"
	}
	return ""
}

// --- charts ---

// svgChart is one chart in SVG user units. The template draws it as is.
type svgChart struct {
	// Kind is goodput, latency, timeline or cpu: the data-chart attribute
	// the browser test looks for.
	Kind, Title, Desc string
	W, H              float64
	Plot              svgBox
	// XName and XUnit label the x value in tooltips ("load", "streams").
	XName, XUnit string
	// Tol is how far (SVG units) from the pointer a point may be for the
	// tooltip to show it: half a column, or a couple of samples.
	Tol    float64
	Bands  []svgRect
	Grid   []svgLine
	Axes   []svgLine
	Texts  []svgText
	Series []*svgSeries
	Marks  []svgMark
}

type svgBox struct{ X, Y, W, H float64 }

func (b svgBox) bottom() float64 { return b.Y + b.H }
func (b svgBox) right() float64  { return b.X + b.W }

type svgLine struct{ X1, Y1, X2, Y2 float64 }

type svgRect struct {
	X, Y, W, H float64
	Class, Tip string
}

type svgText struct {
	X, Y          float64
	Anchor, Class string
	Text          string
	// Rot turns the text to run upwards (y axis titles).
	Rot bool
}

type svgDot struct {
	X, Y, R float64
	Tip     string
}

// svgSeries is one legend entry: its lines, dots, bars or error bars, and
// the values the tooltip shows (Pts).
type svgSeries struct {
	Key, Name string
	// Class holds the colour (col0…col7) and style (thin, light, dash,
	// hollow, bars) the CSS draws it with.
	Class string
	Lines []string
	Dots  []svgDot
	Bars  []svgRect
	Errs  []string
	// Texts label values the scale clips.
	Texts []svgText
	// Pts is "px,py,x,text;…": each point's position, its x value and the
	// text of its value, for the tooltip script.
	Pts  string
	segs [][]string
	pts  []string
	cut  bool
}

// add appends a point to the series' current line; it starts a new line
// after gap().
func (s *svgSeries) add(px, py float64, x, text string) {
	xy := coord(px) + "," + coord(py)
	if s.cut || len(s.segs) == 0 {
		s.segs = append(s.segs, nil)
		s.cut = false
	}
	s.segs[len(s.segs)-1] = append(s.segs[len(s.segs)-1], xy)
	s.tip(px, py, x, text)
}

// tip adds a tooltip value without drawing a line through it.
func (s *svgSeries) tip(px, py float64, x, text string) {
	s.pts = append(s.pts, coord(px)+","+coord(py)+","+x+","+strings.ReplaceAll(text, ";", ","))
}

// gap ends the current line: the next point starts a new one.
func (s *svgSeries) gap() { s.cut = true }

func (s *svgSeries) done() *svgSeries {
	for _, seg := range s.segs {
		if len(seg) > 0 {
			s.Lines = append(s.Lines, strings.Join(seg, " "))
		}
	}
	s.Pts = strings.Join(s.pts, ";")
	return s
}

// Swatch is the legend's sample of the series: bar, dot or line.
func (s *svgSeries) Swatch() string {
	switch {
	case len(s.Bars) > 0 || strings.Contains(s.Class, "bars"):
		return "bar"
	case len(s.Lines) == 0 && len(s.Dots) > 0:
		return "dot"
	}
	return "line"
}

// svgMark is an annotation: the onset line, the capacity ring, a
// reference line. Mark is its data-mark attribute.
type svgMark struct {
	Mark, Class string
	Lines       []svgLine
	Rings       []svgDot
	Texts       []svgText
}

func newChart(kind, title, desc string, w, h float64, left, right, top, bottom float64) *svgChart {
	return &svgChart{Kind: kind, Title: title, Desc: desc, W: w, H: h,
		Plot: svgBox{X: left, Y: top, W: w - left - right, H: h - top - bottom}}
}

// frame draws the axes, the y grid and ticks, and the axis titles.
func (ch *svgChart) frame(xLabel, yLabel string, yTicks []svgTick) {
	p := ch.Plot
	ch.Axes = append(ch.Axes, svgLine{p.X, p.bottom(), p.right(), p.bottom()}, svgLine{p.X, p.Y, p.X, p.bottom()})
	for _, t := range yTicks {
		ch.Grid = append(ch.Grid, svgLine{p.X, t.Pos, p.right(), t.Pos})
		ch.Texts = append(ch.Texts, svgText{X: p.X - 6, Y: t.Pos + 4, Anchor: "end", Text: t.Label})
	}
	ch.Texts = append(ch.Texts,
		svgText{X: p.X + p.W/2, Y: ch.H - 8, Anchor: "middle", Class: "alabel", Text: xLabel},
		svgText{X: 14, Y: p.Y + p.H/2, Anchor: "middle", Class: "alabel", Text: yLabel, Rot: true})
}

func (ch *svgChart) xTicks(ticks []svgTick) {
	p := ch.Plot
	for _, t := range ticks {
		ch.Axes = append(ch.Axes, svgLine{t.Pos, p.bottom(), t.Pos, p.bottom() + 5})
		ch.Texts = append(ch.Texts, svgText{X: t.Pos, Y: p.bottom() + 18, Anchor: "middle", Text: t.Label})
	}
}

// vmark is a vertical line over the plot with a label above it, kept
// inside the chart.
func (ch *svgChart) vmark(mark, class string, x float64, label string) svgMark {
	p := ch.Plot
	anchor, tx := "middle", x
	if half := float64(len([]rune(label))) * 3.3; x-half < 4 {
		anchor, tx = "start", x+3
	} else if x+half > ch.W-4 {
		anchor, tx = "end", x-3
	}
	return svgMark{Mark: mark, Class: class,
		Lines: []svgLine{{x, p.Y - 4, x, p.bottom()}},
		Texts: []svgText{{X: tx, Y: p.Y - 8, Anchor: anchor, Text: label}}}
}

type svgTick struct {
	Pos   float64
	Label string
}

// colours of the series (Okabe-Ito, distinguishable with colour blindness),
// matching the col0…col7 CSS classes.
const (
	colBlue   = "col0"
	colOrange = "col1"
	colGreen  = "col2"
	colRed    = "col3"
	colPurple = "col4"
	colSky    = "col5"
	colInk    = "col6"
	colGrey   = "col7"
)

// stepChart makes a chart with one column per step of a (x = load) and
// returns it with the number of columns, their width and the x of a
// column's centre.
func stepChart(a *measure.Analysis, name, title, desc string, left float64) (ch *svgChart, n int, col float64, xAt func(int) float64) {
	ch = newChart(name, title, desc, 600, 380, left, 18, 34, 46)
	ch.XName, ch.XUnit = "load", a.LoadUnit
	n = len(a.Steps)
	col = ch.Plot.W / float64(n)
	ch.Tol = col / 2
	return ch, n, col, func(i int) float64 { return ch.Plot.X + (float64(i)+0.5)*col }
}

// goodputChart is goodput against load, one column per step.
func goodputChart(a *measure.Analysis) (*svgChart, string) {
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
	ymax, ystep := niceAxis(top/mib*1.08, 5)
	yAt := linear(0, ymax, ch.Plot.bottom(), ch.Plot.Y)
	ch.frame("load ("+a.LoadUnit+"), one column per step", "goodput (MiB/s)", linearTicks(0, ymax, ystep, yAt, ""))
	var xt []svgTick
	for i, s := range a.Steps {
		xt = append(xt, svgTick{xAt(i), strconv.Itoa(s.Load)})
	}
	ch.xTicks(xt)

	good := &svgSeries{Key: "goodput", Name: "client goodput (mean, 95% CI)", Class: colBlue + " thick"}
	reps := &svgSeries{Key: "reps", Name: "repetitions", Class: colBlue + " hollow"}
	read := &svgSeries{Key: "relay-read", Name: "relay read", Class: colGreen + " dash thin"}
	written := &svgSeries{Key: "relay-written", Name: "relay written", Class: colOrange + " dash thin"}
	for i, s := range a.Steps {
		x, load := xAt(i), strconv.Itoa(s.Load)
		if s.Goodput.N == 0 && s.Goodput.Mean == 0 {
			good.gap()
		} else {
			m, lo, hi := finite(s.Goodput.Mean)/mib, finite(s.Goodput.Low)/mib, finite(s.Goodput.High)/mib
			text := fmt.Sprintf("%.3f MiB/s (95%% CI %.3f–%.3f, n=%d)", m, lo, hi, s.Goodput.N)
			good.add(x, yAt(m), load, text)
			good.Dots = append(good.Dots, svgDot{x, yAt(m), 4, fmt.Sprintf("load %d: %s", s.Load, text)})
			if s.Goodput.N >= 2 && hi > lo {
				good.Errs = append(good.Errs, errBar(x, yAt(lo), yAt(hi)))
			}
		}
		if k := len(s.RepGoodput); k > 0 {
			var texts []string
			for r, v := range s.RepGoodput {
				v = finite(v) / mib
				dx := (float64(r) - float64(k-1)/2) * 7
				reps.Dots = append(reps.Dots, svgDot{x + dx, yAt(v), 2.5, fmt.Sprintf("load %d, repetition %d: %.3f MiB/s", s.Load, r+1, v)})
				texts = append(texts, fmt.Sprintf("%.3f", v))
			}
			reps.tip(x, yAt(finite(s.RepGoodput[0])/mib), load, strings.Join(texts, ", ")+" MiB/s")
		}
		if r := s.Relay; r != nil && r.Seconds > 0 {
			for _, sr := range []struct {
				s *svgSeries
				v float64
			}{{read, r.ReadBps}, {written, r.WrittenBps}} {
				v := finite(sr.v) / mib
				sr.s.add(x, yAt(v), load, fmt.Sprintf("%.3f MiB/s", v))
				sr.s.Dots = append(sr.s.Dots, svgDot{x, yAt(v), 2.5, fmt.Sprintf("load %d: relay %.3f MiB/s", s.Load, v)})
			}
		} else {
			read.gap()
			written.gap()
		}
	}
	ch.Series = append(ch.Series, good.done(), reps.done())
	if anyRelay {
		ch.Series = append(ch.Series, read.done(), written.done())
	}
	if i := stepIndex(a, a.Onset); i >= 0 {
		ch.Marks = append(ch.Marks, ch.vmark("onset", "onset", xAt(i), "onset: "+a.Onset.Cause))
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
			t := svgText{X: x + 12, Y: y - 10, Anchor: "start", Text: label}
			if x+12+float64(len([]rune(label)))*6.4 > ch.W-4 {
				t.X, t.Anchor = x-12, "end"
			}
			if y-10 < ch.Plot.Y+24 { // below the point, clear of the onset label
				t.Y = y + 22
			}
			ch.Marks = append(ch.Marks, svgMark{Mark: "capacity", Class: "capacity", Rings: []svgDot{{X: x, Y: y, R: 9}}, Texts: []svgText{t}})
			break
		}
	}
	label := "generator-bound"
	if col < 110 {
		label = "gen.-bound"
	}
	for i, s := range a.Steps {
		if s.LoadGeneratorBound {
			y := ch.Plot.bottom() - 6
			if i%2 == 1 { // neighbours' labels on two rows
				y -= 13
			}
			ch.Marks = append(ch.Marks, svgMark{Mark: "generator-bound", Class: "lgbound",
				Texts: []svgText{{X: xAt(i), Y: y, Anchor: "middle", Text: label}}})
		}
	}
	return ch, ""
}

func errBar(x, ylo, yhi float64) string {
	return fmt.Sprintf("M%s %sV%sM%s %sh8M%s %sh8", coord(x), coord(ylo), coord(yhi),
		coord(x-4), coord(ylo), coord(x-4), coord(yhi))
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
func latencyChart(a *measure.Analysis) (*svgChart, string) {
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
		{"ttfb-p50", "TTFB p50", colBlue, ttfb, func(d measure.Distribution) float64 { return d.P50 }},
		{"ttfb-p95", "TTFB p95", colOrange + " thick", ttfb, func(d measure.Distribution) float64 { return d.P95 }},
		{"ttfb-p99", "TTFB p99", colRed, ttfb, func(d measure.Distribution) float64 { return d.P99 }},
		{"connect-p95", "connect p95", colGreen + " dash", func(s measure.StepResult) measure.Distribution { return s.Connect },
			func(d measure.Distribution) float64 { return d.P95 }},
		{"ttlb-p95", "TTLB p95", colPurple + " dot", func(s measure.StepResult) measure.Distribution { return s.TTLB },
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
		return ch.Plot.bottom() - (math.Log10(ms)-d0)/(d1-d0)*ch.Plot.H
	}
	var yt []svgTick
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
			yt = append(yt, svgTick{yAt(v), fmtMs(v)})
		}
	}
	ch.frame("load ("+a.LoadUnit+"), one column per step", "latency (log scale)", yt)
	var xt []svgTick
	for i, s := range a.Steps {
		xt = append(xt, svgTick{xAt(i), strconv.Itoa(s.Load)})
	}
	ch.xTicks(xt)
	for i, s := range a.Steps {
		if s.TTFB.N == 0 && s.Connect.N == 0 && s.TTLB.N == 0 {
			// Typically bulk downloads longer than the step: every request
			// measured was cut before its first byte.
			ch.Texts = append(ch.Texts, svgText{X: xAt(i), Y: ch.Plot.bottom() - 8, Anchor: "middle", Class: "note", Text: "no samples"})
		}
	}
	for _, d := range defs {
		sr := &svgSeries{Key: d.key, Name: d.name, Class: d.class}
		for i, s := range a.Steps {
			dist := d.get(s)
			v := finite(d.p(dist)) * 1000
			if dist.N == 0 || v <= 0 {
				sr.gap()
				continue
			}
			x, y := xAt(i), yAt(v)
			text := fmt.Sprintf("%.1f ms (n=%d)", v, dist.N)
			sr.add(x, y, strconv.Itoa(s.Load), text)
			sr.Dots = append(sr.Dots, svgDot{x, y, 3, fmt.Sprintf("load %d: %s %s", s.Load, d.name, text)})
		}
		if len(sr.pts) > 0 {
			ch.Series = append(ch.Series, sr.done())
		}
	}
	if i := stepIndex(a, a.Onset); i >= 0 {
		ch.Marks = append(ch.Marks, ch.vmark("onset", "onset", xAt(i), "onset: "+a.Onset.Cause))
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
func (ch *svgChart) timeFrame(tl *measure.Timeline, a *measure.Analysis, end float64, labels bool) timeAxis {
	ax := timeAxis{at: linear(0, end, ch.Plot.X, ch.Plot.right())}
	ch.XName, ch.XUnit = "t", "s"
	_, step := niceAxis(end, 10)
	var xt []svgTick
	for i := 0; float64(i)*step <= end+step*1e-9; i++ {
		v := float64(i) * step
		xt = append(xt, svgTick{ax.at(v), fmtClock(v, end)})
	}
	ch.xTicks(xt)
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
			ch.Bands = append(ch.Bands, svgRect{X: ax.at(start), Y: p.Y, W: ax.at(warm) - ax.at(start), H: p.H, Class: "band-warm",
				Tip: fmt.Sprintf("%s: warm-up %.1f–%.1f s, not in the statistics", what, start, warm)})
		}
		cls := "band-a"
		if s.Step%2 == 1 {
			cls = "band-b"
		}
		ch.Bands = append(ch.Bands, svgRect{X: ax.at(warm), Y: p.Y, W: ax.at(stop) - ax.at(warm), H: p.H, Class: cls,
			Tip: fmt.Sprintf("%s: measured %.1f–%.1f s", what, warm, stop)})
		if labels && ax.at(stop)-ax.at(start) >= 14 {
			ch.Texts = append(ch.Texts, svgText{X: (ax.at(start) + ax.at(stop)) / 2, Y: p.Y - 6, Anchor: "middle", Class: "band-label", Text: strconv.Itoa(s.Load)})
		}
		if s.Rep != prevRep {
			if prevRep >= 0 {
				ch.Marks = append(ch.Marks, svgMark{Class: "rep", Lines: []svgLine{{ax.at(start), p.Y, ax.at(start), p.bottom()}}})
			}
			if labels && len(reps) > 1 {
				ch.Texts = append(ch.Texts, svgText{X: ax.at(start) + 2, Y: p.Y - 22, Anchor: "start", Class: "rep-label", Text: fmt.Sprintf("repetition %d", s.Rep+1)})
			}
			prevRep = s.Rep
		}
	}
	if o := tl.OnsetAt; o != nil && a.Onset != nil && finite(*o) >= 0 && finite(*o) <= end {
		label := fmt.Sprintf("onset: %s (step %d)", a.Onset.Cause, a.Onset.Step+1)
		m := ch.vmark("onset", "onset", ax.at(finite(*o)), label)
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
func timelineChart(a *measure.Analysis) (*svgChart, string) {
	tl := a.Timeline
	if tl == nil {
		return nil, "No time series: summary.json has no timeline (it was written by an older relaybench, or the run has no steps)."
	}
	end := timelineEnd(tl)
	if end <= 0 || len(tl.Goodput)+len(tl.RelayRead)+len(tl.RelayWritten) == 0 {
		return nil, "No time series: the timeline holds no goodput or relay samples."
	}
	ch := newChart("timeline", "The run over time",
		"Client goodput per second and relay read and written MiB/s over the run, with rate-limit hits as bars, step and warm-up periods shaded and the overload onset marked.",
		1000, 400, 62, 62, 44, 46)
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
	ymax, ystep := niceAxis(top/mib*1.05, 5)
	yAt := linear(0, ymax, ch.Plot.bottom(), ch.Plot.Y)
	ch.frame("time since the run started", "MiB/s", linearTicks(0, ymax, ystep, yAt, ""))
	ax := ch.timeFrame(tl, a, end, true)
	ch.Tol = max(8, 1.5*medianStep(goodput)*ch.Plot.W/end)

	mk := func(key, name, class string, pts []measure.Point) {
		if len(pts) == 0 {
			return
		}
		sr := &svgSeries{Key: key, Name: name, Class: class}
		brk := 3 * medianStep(pts)
		for i, p := range pts {
			if i > 0 && p.T-pts[i-1].T > brk {
				sr.gap()
			}
			v := finite(p.V) / mib
			sr.add(ax.at(finite(p.T)), yAt(v), secText(p.T), fmt.Sprintf("%.3f MiB/s", v))
		}
		ch.Series = append(ch.Series, sr.done())
	}
	mk("goodput", "client goodput", colBlue+" thick", goodput)
	mk("relay-read", "relay read", colGreen+" thin", read)
	mk("relay-written", "relay written", colOrange+" thin", written)
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
		htop, hstep := niceAxis(limit, 2)
		// The bars use the bottom 30% of the plot: small, under the lines.
		hAt := linear(0, htop, ch.Plot.bottom(), ch.Plot.bottom()-0.3*ch.Plot.H)
		for _, t := range linearTicks(0, htop, hstep, hAt, "") {
			ch.Texts = append(ch.Texts, svgText{X: ch.Plot.right() + 6, Y: t.Pos + 4, Anchor: "start", Class: "y2", Text: t.Label})
		}
		ch.Axes = append(ch.Axes, svgLine{ch.Plot.right(), hAt(htop), ch.Plot.right(), ch.Plot.bottom()})
		ch.Texts = append(ch.Texts, svgText{X: ch.W - 14, Y: ch.Plot.bottom() - 0.15*ch.Plot.H, Anchor: "middle", Class: "alabel y2", Text: "rate-limit hits", Rot: true})
		sr := &svgSeries{Key: "rate-limit", Name: "relay rate-limit hits (per scrape interval)", Class: colRed + " bars"}
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
				sr.Bars = append(sr.Bars, svgRect{X: x1 - w, Y: hAt(shown), W: w, H: hAt(0) - hAt(shown),
					Tip: fmt.Sprintf("%.0f rate-limit hits in %.1f–%.1f s", v, from, t)})
				if v > htop {
					sr.Texts = append(sr.Texts, svgText{X: x1 - w/2, Y: hAt(htop) - 3, Anchor: "middle", Class: "clip", Text: fmt.Sprintf("%.0f", v)})
				}
			}
			sr.tip(x1, hAt(shown), secText(t), fmt.Sprintf("%.0f hits", v))
		}
		ch.Series = append(ch.Series, sr.done())
	}
	if len(read)+len(written) == 0 {
		ch.Texts = append(ch.Texts, svgText{X: ch.Plot.right() - 6, Y: ch.Plot.Y + 14, Anchor: "end", Class: "note", Text: "no relay MetricsPort data"})
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
func cpuChart(a *measure.Analysis) (*svgChart, string) {
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
	ch := newChart("cpu", "CPU over time",
		"CPU use in percent of one core over the run: the relay under test, the tor clients of the load generator (sum and each), relaybench itself, the other test-network relays and the whole machine (dashed), with a reference line at one core.",
		1000, 340, 62, 62, 30, 46)
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
		groups = append(groups, group{"target-" + ps.Name, "relay under test (" + ps.Name + ")", colRed + " thick", [][]measure.Point{ps.Points}})
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
		groups = append(groups, group{"clients", name, colBlue + " thick", [][]measure.Point{sumPoints(all)}})
	}
	for _, ps := range harness {
		groups = append(groups, group{"harness-" + ps.Name, "relaybench (" + ps.Name + ")", colPurple, [][]measure.Point{ps.Points}})
	}
	if len(relays) > 0 {
		var all [][]measure.Point
		for _, ps := range relays {
			all = append(all, ps.Points)
		}
		groups = append(groups, group{"relays", "other test-network relays (sum of " + strconv.Itoa(len(relays)) + ")", colGreen + " thin", [][]measure.Point{sumPoints(all)}})
	}
	for _, ps := range machine {
		name := "machine (all cores busy)"
		if cores > 0 {
			name = fmt.Sprintf("machine (all %d cores = %d%%)", cores, cores*100)
		}
		groups = append(groups, group{"machine", name, colInk + " dash", [][]measure.Point{ps.Points}})
	}
	if len(clients) > 1 {
		for _, ps := range clients {
			groups = append(groups, group{"client-" + ps.Name, ps.Name, colSky + " thin light", [][]measure.Point{ps.Points}})
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
	ymax, ystep := niceAxis(top*1.05, 5)
	yAt := linear(0, ymax, ch.Plot.bottom(), ch.Plot.Y)
	ch.frame("time since the run started", "CPU (% of one core)", linearTicks(0, ymax, ystep, yAt, "%"))
	ax := ch.timeFrame(tl, a, end, false)
	ch.Tol = 8
	for _, g := range groups {
		sr := &svgSeries{Key: g.key, Name: g.name, Class: g.class}
		for _, pts := range g.series {
			brk := 3 * medianStep(pts)
			sr.gap()
			for i, p := range pts {
				if i > 0 && p.T-pts[i-1].T > brk {
					sr.gap()
				}
				v := finite(p.V) * 100
				sr.add(ax.at(finite(p.T)), yAt(v), secText(p.T), fmt.Sprintf("%.1f%%", v))
			}
			ch.Tol = max(ch.Tol, 1.5*medianStep(pts)*ch.Plot.W/end)
		}
		if len(sr.pts) > 0 {
			ch.Series = append(ch.Series, sr.done())
		}
	}
	ch.Tol = min(ch.Tol, ch.Plot.W/4)
	ref := yAt(100)
	ch.Marks = append(ch.Marks, svgMark{Mark: "one-core", Class: "ref",
		Lines: []svgLine{{ch.Plot.X, ref, ch.Plot.right(), ref}},
		Texts: []svgText{{X: ch.Plot.X + 6, Y: ref - 5, Anchor: "start", Text: "100% = one core"}}})
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

// --- scales and numbers ---

// linear maps [d0, d1] onto [r0, r1].
func linear(d0, d1, r0, r1 float64) func(float64) float64 {
	return func(v float64) float64 {
		if d1 == d0 {
			return r0
		}
		return r0 + (finite(v)-d0)/(d1-d0)*(r1-r0)
	}
}

// niceAxis rounds v up to a multiple of a 1-2-2.5-5 step that gives about
// n intervals; a non-positive v gives the axis [0, 1].
func niceAxis(v float64, n int) (top, step float64) {
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

// linearTicks are the ticks 0, step, … top, labelled with as many decimals
// as step needs.
func linearTicks(from, top, step float64, at func(float64) float64, suffix string) []svgTick {
	dec := 0
	for dec < 6 && math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-9 {
		dec++
	}
	var out []svgTick
	for i := 0; ; i++ {
		v := from + float64(i)*step
		if v > top+step*1e-9 {
			break
		}
		out = append(out, svgTick{at(v), strconv.FormatFloat(v, 'f', dec, 64) + suffix})
	}
	return out
}

// finiteCopy is a deep copy of a with every NaN and infinity replaced by 0:
// the verdict and the step table format numbers with fmt, which would
// print them as such. summary.json cannot hold them, but an Analysis
// built in memory can.
func finiteCopy(a *measure.Analysis) *measure.Analysis {
	return finiteValue(reflect.ValueOf(a)).Interface().(*measure.Analysis)
}

func finiteValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		out := reflect.New(v.Type()).Elem()
		out.SetFloat(finite(v.Float()))
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(finiteValue(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v) // unexported fields (time.Time's) as they are
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(finiteValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(finiteValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), finiteValue(iter.Value()))
		}
		return out
	}
	return v
}

// finite replaces NaN and ±Inf by 0 so that no chart coordinate or table
// cell ever shows them.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// coord formats an SVG coordinate to 0.1 unit: enough for any screen, and
// stable across platforms for the golden files.
func coord(v float64) string {
	r := math.Round(finite(v)*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
