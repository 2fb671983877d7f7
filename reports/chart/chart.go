// Package chart draws the charts of relaybench's HTML report as SVG: a
// chart of a given size with a plot area, axes, grid and tick labels;
// series of lines, dots, bars and error bars, each with the values a
// tooltip shows; shaded bands; and marks that annotate it (a vertical
// line with a label, a ring around a point, a reference line). Scales map
// data onto the plot (Linear, NiceAxis, LinearTicks).
//
// The package knows nothing of relaybench's data: package reports decides
// what each chart shows and places it with the scales. Positions are SVG
// user units (x to the right, y down, from the chart's top left corner),
// written rounded to 0.1 (Coord), so the same chart always gives the same
// bytes.
//
// The SVG carries classes, not styles: the page that embeds it styles
// them (reports/html.tmpl): svg.chart, .plotarea, .grid, .axis, .bands,
// .series with its colour (col0…col7, the constants Blue…Grey) and style
// (thick, thin, light, dash, dot, hollow, bars), .err, .mark with its
// class (onset, capacity, ref, rep, lgbound), and the text classes given.
// The page's script reads the data attributes: data-chart, data-xname,
// data-xunit, data-tol on <svg>, the .plotarea rectangle, and
// data-series, data-name and data-pts ("px,py,x,text;…", see Series.Tip)
// on each series.
package chart

// Chart is one chart. New sets its size and plot area; the rest is filled
// by its builder and drawn in this order: bands, grid, axes and texts,
// series, marks.
type Chart struct {
	// Kind names the chart: its id (chart-<Kind>) and data-chart
	// attribute.
	Kind, Title, Desc string
	W, H              float64
	// Plot is the area inside the axes.
	Plot Box
	// XName and XUnit label the x value in tooltips ("load", "streams").
	XName, XUnit string
	// Tol is how far (SVG units) from the pointer a point may be for the
	// tooltip to show it: half a column, or a couple of samples.
	Tol    float64
	Bands  []Rect
	Grid   []Line
	Axes   []Line
	Texts  []Text
	Series []*Series
	Marks  []Mark
}

// Margins are the space around the plot area, for tick labels and axis
// titles.
type Margins struct{ Left, Right, Top, Bottom float64 }

// New is a chart of w × h units whose plot area leaves margins m.
func New(kind, title, desc string, w, h float64, m Margins) *Chart {
	return &Chart{Kind: kind, Title: title, Desc: desc, W: w, H: h,
		Plot: Box{X: m.Left, Y: m.Top, W: w - m.Left - m.Right, H: h - m.Top - m.Bottom}}
}

// Box is a rectangle: its top left corner, width and height.
type Box struct{ X, Y, W, H float64 }

// Bottom is the y of the box's bottom edge.
func (b Box) Bottom() float64 { return b.Y + b.H }

// Right is the x of the box's right edge.
func (b Box) Right() float64 { return b.X + b.W }

// Line is a straight line from (X1, Y1) to (X2, Y2).
type Line struct{ X1, Y1, X2, Y2 float64 }

// Rect is a band or a bar, with the class that fills it and the tooltip
// (<title>) it shows.
type Rect struct {
	X, Y, W, H float64
	Class, Tip string
}

// Text is a label at (X, Y).
type Text struct {
	X, Y float64
	// Anchor is the SVG text-anchor (start, middle, end); empty leaves
	// the default (start).
	Anchor, Class string
	Text          string
	// Rot turns the text to run upwards (y axis titles).
	Rot bool
}

// Dot is a circle of radius R at (X, Y) with its tooltip; as a Mark's
// ring it has none.
type Dot struct {
	X, Y, R float64
	Tip     string
}

// Mark is an annotation: the onset line, the capacity ring, a reference
// line. Mark is its data-mark attribute (none when empty); Class styles
// it.
type Mark struct {
	Mark, Class string
	Lines       []Line
	Rings       []Dot
	Texts       []Text
}

// Tick is a position on an axis and its label.
type Tick struct {
	Pos   float64
	Label string
}

// Colours of the series (Okabe-Ito, distinguishable with colour
// blindness): the col0…col7 classes of the page's stylesheet.
const (
	Blue   = "col0"
	Orange = "col1"
	Green  = "col2"
	Red    = "col3"
	Purple = "col4"
	Sky    = "col5"
	Ink    = "col6"
	Grey   = "col7"
)

// Frame draws the x and y axes, the horizontal grid lines and labels of
// yTicks, and the axis titles.
func (c *Chart) Frame(xLabel, yLabel string, yTicks []Tick) {
	p := c.Plot
	c.Axes = append(c.Axes, Line{p.X, p.Bottom(), p.Right(), p.Bottom()}, Line{p.X, p.Y, p.X, p.Bottom()})
	for _, t := range yTicks {
		c.Grid = append(c.Grid, Line{p.X, t.Pos, p.Right(), t.Pos})
		c.Texts = append(c.Texts, Text{X: p.X - 6, Y: t.Pos + 4, Anchor: "end", Text: t.Label})
	}
	c.Texts = append(c.Texts,
		Text{X: p.X + p.W/2, Y: c.H - 8, Anchor: "middle", Class: "alabel", Text: xLabel},
		Text{X: 14, Y: p.Y + p.H/2, Anchor: "middle", Class: "alabel", Text: yLabel, Rot: true})
}

// XTicks draws tick marks and labels under the x axis.
func (c *Chart) XTicks(ticks []Tick) {
	p := c.Plot
	for _, t := range ticks {
		c.Axes = append(c.Axes, Line{t.Pos, p.Bottom(), t.Pos, p.Bottom() + 5})
		c.Texts = append(c.Texts, Text{X: t.Pos, Y: p.Bottom() + 18, Anchor: "middle", Text: t.Label})
	}
}

// VMark is a vertical line across the plot at x with a label above it,
// kept inside the chart: the label runs right of the line near the left
// edge and left of it near the right edge.
func (c *Chart) VMark(mark, class string, x float64, label string) Mark {
	p := c.Plot
	anchor, tx := "middle", x
	if half := float64(len([]rune(label))) * 3.3; x-half < 4 {
		anchor, tx = "start", x+3
	} else if x+half > c.W-4 {
		anchor, tx = "end", x-3
	}
	return Mark{Mark: mark, Class: class,
		Lines: []Line{{x, p.Y - 4, x, p.Bottom()}},
		Texts: []Text{{X: tx, Y: p.Y - 8, Anchor: anchor, Text: label}}}
}
