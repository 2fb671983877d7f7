package reports

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports/chart"
	"github.com/relaybench/relaybench/reports/verdict"
)

// The HTML report is one file that opens anywhere, offline and years later:
// CSS, script and charts are inline, nothing is fetched. The numbers are in
// plain tables so that the report reads without script; the charts are SVG
// drawn by package chart (charts.go says what each shows), so they need no
// charting library either. The script only adds hover tooltips and legend
// toggles.
//
// Chart coordinates are rounded to 0.1 and every map is walked in sorted
// order, so the same summary.json always gives the same bytes (golden
// tests).

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("html.tmpl").Funcs(template.FuncMap{
	"svg": (*chart.Chart).SVG,
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
	Chart            *chart.Chart
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
	connect := "" // a summary.json from before the connect rule has no factor for it
	if th.ConnectFactor > 0 {
		connect = fmt.Sprintf(", connect ×%.1f", finite(th.ConnectFactor))
	}
	p.Facts = append(p.Facts, htmlFact{"onset thresholds", fmt.Sprintf(
		"saturation gain %.0f%% per doubling, ttfb ×%.1f%s, error rate %.1f%%, sockets %.0f%% of limit",
		finite(th.SaturationGain)*100, finite(th.LatencyFactor), connect, finite(th.ErrorRate)*100, finite(th.SocketFraction)*100)})
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
		if c.Path {
			card.Label = "path capacity"
		}
		if c.LowerBound {
			card.Class, card.Badge, card.Value = "warn", "lower bound", "≥ "+card.Value
		}
		if c.Attribution != "" {
			card.Sub += "; " + c.Bound()
			if c.Attribution == measure.AttributionRelay {
				card.Badge = "relay-bound"
			}
		}
		out = append(out, card)
		if c.RelayWrittenBps > 0 || c.RelayReadBps > 0 {
			out = append(out, htmlCard{Label: "relay at capacity", Class: "ok",
				Value: fmt.Sprintf("%.2f / %.2f MiB/s", finite(c.RelayReadBps)/mib, finite(c.RelayWrittenBps)/mib),
				Sub:   "read / written, cells and overhead included"})
		}
		if c.RelayEfficiency > 0 {
			out = append(out, htmlCard{Label: "relay efficiency", Class: "ok",
				Value: fmt.Sprintf("%.1f MiB per CPU-s", finite(c.RelayEfficiency)/mib),
				Sub:   "bytes the relay wrote per second of its CPU at the capacity step"})
		}
	} else {
		why := v.NoCapacity
		if why == "" {
			why = "no step carried any bytes"
		}
		out = append(out, htmlCard{Label: "capacity", Value: "unknown", Sub: why, Class: "bad"})
	}
	if o := v.Onset; o != nil {
		card := htmlCard{Label: "overload onset", Class: "bad",
			Value: fmt.Sprintf("step %d (%d %s)", o.Step+1, o.Load, v.LoadUnit),
			Sub:   "cause: " + o.Cause}
		if o.Attribution != "" {
			card.Sub += "; limit: " + string(o.Attribution)
		}
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
	case verdict.KindOnset, verdict.KindOnsetAbort:
		return "onset"
	case verdict.KindNoOnset, verdict.KindThresholdsPassed, verdict.LineGatePassed, verdict.LineLimitRelay:
		return "ok"
	case verdict.KindCapacityUnknown, verdict.KindThresholdsFailed, verdict.LineGateFailed,
		verdict.KindThresholdsNotJudged, verdict.KindInterrupted:
		return "bad"
	case verdict.KindBottlenecks, verdict.KindProblems, verdict.LineLowerBound, verdict.LineGeneratorBound, verdict.LineRuleNotApplied, verdict.LineLimitOther,
		verdict.KindWarnings, verdict.KindLiveRelay:
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
				sh := p.Shares()
				p90 := "-" // a summary from before the sampling intervals were kept
				if p.Intervals > 0 {
					p90 = fmt.Sprintf("%.0f%%", finite(p.UtilisationP90())*100)
				}
				cell = htmlCell{Text: fmt.Sprintf("%.0f%% / %s / %.0f%%", finite(sh.Mean)*100, p90, finite(sh.Peak)*100),
					Class: warnIf(p.UtilisationP90() >= measure.BottleneckUtilisation)}
				if p.QuotaCores > 0 {
					cell.Tip = fmt.Sprintf("of its %.2f-core quota; throttled in %d of %d periods", p.QuotaCores, p.ThrottledPeriods, p.Periods)
				}
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
var finite = chart.Finite
