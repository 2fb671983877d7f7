package chart

import (
	"encoding/xml"
	"flag"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/runner/testkit"
)

// update rewrites the golden files instead of comparing with them:
// go test ./reports/chart/ -update (the convention of package reports).
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// demoChart is a chart with one of everything, at positions worked out by
// hand below: 400 × 300 units, margins 50/10/20/30, so the plot area is
// x 50…390 (340 wide) and y 20…270 (250 high); x data 0…10 maps onto
// 50…390 (34 units per 1), y data 0…5 onto 270…20 (50 units per 1, up).
func demoChart() *Chart {
	c := New("demo", "Demo & <chart>", `A chart "for" tests`, 400, 300, Margins{Left: 50, Right: 10, Top: 20, Bottom: 30})
	c.XName, c.XUnit = "x", "units"
	xAt := Linear(0, 10, c.Plot.X, c.Plot.Right())
	top, step := NiceAxis(4.6, 5)
	yAt := Linear(0, top, c.Plot.Bottom(), c.Plot.Y)
	c.Tol = 17
	c.Frame("x label", "y label", LinearTicks(0, top, step, yAt, ""))
	c.XTicks([]Tick{{Pos: xAt(0), Label: "0"}, {Pos: xAt(5), Label: "5"}, {Pos: xAt(10), Label: "10"}})
	c.Bands = append(c.Bands, Rect{X: xAt(0), Y: c.Plot.Y, W: xAt(3) - xAt(0), H: c.Plot.H, Class: "band-a", Tip: "first band"})

	line := &Series{Key: "line", Name: "a line", Class: Blue + " thick"}
	line.Add(xAt(1), yAt(1), "1", "1.0 u")
	line.Add(xAt(2), yAt(2.5), "2", "2.5 u; with a semicolon")
	line.Gap()
	line.Add(xAt(4), yAt(4.6), "4", "4.6 u")
	line.ErrorBar(xAt(2), yAt(2), yAt(3))
	line.Dots = append(line.Dots, Dot{X: xAt(2), Y: yAt(2.5), R: 4, Tip: "x 2: 2.5 u"})
	bars := &Series{Key: "bars", Name: "bars", Class: Red + " bars"}
	bars.Bars = append(bars.Bars, Rect{X: xAt(6), Y: yAt(1.5), W: 10, H: yAt(0) - yAt(1.5), Tip: "1.5 at 6"})
	bars.Tip(xAt(6)+5, yAt(1.5), "6", "1.5")
	bars.Texts = append(bars.Texts, Text{X: xAt(6) + 5, Y: yAt(1.5) - 3, Anchor: "middle", Class: "clip", Text: "1.5"})
	c.Series = append(c.Series, line, bars)

	c.Marks = append(c.Marks, c.VMark("onset", "onset", xAt(9.5), "onset: latency"),
		Mark{Mark: "capacity", Class: "capacity", Rings: []Dot{{X: xAt(4), Y: yAt(4.6), R: 9}}},
		Mark{Class: "ref", Lines: []Line{{X1: c.Plot.X, Y1: math.NaN(), X2: c.Plot.Right(), Y2: math.Inf(1)}}})
	return c
}

func renderSVG(t *testing.T, c *Chart) []byte {
	t.Helper()
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(svg)
}

func TestSVGGolden(t *testing.T) {
	got := renderSVG(t, demoChart())
	testkit.Golden(t, filepath.Join("testdata", "demo.svg.golden"), got, *update)
}

// node is an element of the parsed SVG.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n node) attr(key string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == key {
			return a.Value
		}
	}
	return ""
}

// all lists n and its descendants named name, in document order.
func (n node) all(name string) []node {
	var out []node
	if n.XMLName.Local == name {
		out = append(out, n)
	}
	for _, c := range n.Nodes {
		out = append(out, c.all(name)...)
	}
	return out
}

// group is the <g> whose class starts with class.
func (n node) group(t *testing.T, class string) node {
	t.Helper()
	for _, g := range n.all("g") {
		if strings.HasPrefix(g.attr("class"), class) {
			return g
		}
	}
	t.Fatalf("no <g class=%q…>", class)
	return node{}
}

func parseSVG(t *testing.T, b []byte) node {
	t.Helper()
	var root node
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	return root
}

// TestSVGPositions checks where the chart's parts land against positions
// worked out by hand from the axis ranges (see demoChart).
func TestSVGPositions(t *testing.T) {
	svg := parseSVG(t, renderSVG(t, demoChart()))
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("viewBox", svg.attr("viewBox"), "0 0 400 300")
	check("data-chart", svg.attr("data-chart"), "demo")
	check("data-tol", svg.attr("data-tol"), "17")
	check("title", svg.all("title")[0].Text, "Demo & <chart>")
	check("desc", svg.all("desc")[0].Text, `A chart "for" tests`)
	area := svg.all("rect")[0]
	check("plot area", strings.Join([]string{area.attr("class"), area.attr("x"), area.attr("y"), area.attr("width"), area.attr("height")}, " "),
		"plotarea 50 20 340 250")

	// NiceAxis(4.6, 5): a step of 1 (4.6/5 = 0.92 rounds up to 1), top 5:
	// grid lines at y = 270 - 50 v for v = 0…5, labelled without decimals.
	var gridY []string
	for _, l := range svg.group(t, "grid").all("line") {
		gridY = append(gridY, l.attr("y1"))
		check("grid line x", l.attr("x1")+"-"+l.attr("x2"), "50-390")
	}
	check("grid", strings.Join(gridY, " "), "270 220 170 120 70 20")
	var labels []string
	for _, tx := range svg.group(t, "axis").all("text") {
		labels = append(labels, tx.Text+"@"+tx.attr("x")+","+tx.attr("y"))
	}
	// y labels 6 left of the axis and 4 below the line; x labels 18 under
	// the plot; the axis titles centred, the y title turned.
	check("axis texts", strings.Join(labels, " "),
		"0@44,274 1@44,224 2@44,174 3@44,124 4@44,74 5@44,24 x label@220,292 y label@14,145 0@50,288 5@220,288 10@390,288")
	yTitle := svg.group(t, "axis").all("text")[7]
	check("y title transform", yTitle.attr("transform"), "rotate(-90 14 145)")

	// The line: (1, 1) → (84, 220), (2, 2.5) → (118, 145), then after the
	// gap (4, 4.6) → (186, 40) on a line of its own.
	line := svg.group(t, "series col0 thick")
	var polys []string
	for _, p := range line.all("polyline") {
		polys = append(polys, p.attr("points"))
	}
	check("polylines", strings.Join(polys, " | "), "84,220 118,145 | 186,40")
	check("data-pts", line.attr("data-pts"), "84,220,1,1.0 u;118,145,2,2.5 u, with a semicolon;186,40,4,4.6 u")
	check("data-series", line.attr("data-series"), "line")
	// The error bar from y 2 to 3 at x 2: 170 up to 120 at 118, caps 8
	// wide from 114.
	check("error bar", line.all("path")[0].attr("d"), "M118 170V120M114 170h8M114 120h8")
	dot := line.all("circle")[0]
	check("dot", dot.attr("cx")+","+dot.attr("cy")+" r"+dot.attr("r"), "118,145 r4")

	// The bar at x 6 (254) from 0 up to 1.5 (195 to 270).
	bars := svg.group(t, "series col3 bars")
	bar := bars.all("rect")[0]
	check("bar", strings.Join([]string{bar.attr("x"), bar.attr("y"), bar.attr("width"), bar.attr("height")}, " "), "254 195 10 75")
	check("bar tooltip", bars.attr("data-pts"), "259,195,6,1.5")
	band := svg.group(t, "bands").all("rect")[0]
	check("band", strings.Join([]string{band.attr("class"), band.attr("x"), band.attr("width")}, " "), "band-a 50 102")

	// The onset at x 9.5 → 373: its 14-letter label would pass the right
	// edge (373 + 14×3.3 > 396), so it ends 3 left of the line.
	onset := svg.group(t, "mark onset")
	ol, ot := onset.all("line")[0], onset.all("text")[0]
	check("onset line", strings.Join([]string{ol.attr("x1"), ol.attr("y1"), ol.attr("x2"), ol.attr("y2")}, " "), "373 16 373 270")
	check("onset label", ot.attr("x")+" "+ot.attr("y")+" "+ot.attr("text-anchor"), "370 12 end")
	check("data-mark", onset.attr("data-mark"), "onset")
	ring := svg.group(t, "mark capacity").all("circle")[0]
	check("capacity ring", ring.attr("cx")+","+ring.attr("cy")+" r"+ring.attr("r"), "186,40 r9")
	// A NaN or infinite position is drawn at 0, never written as NaN.
	ref := svg.group(t, "mark ref")
	check("ref mark", ref.attr("data-mark")+"|"+ref.all("line")[0].attr("y1")+"|"+ref.all("line")[0].attr("y2"), "|0|0")
}

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct {
		v         float64
		n         int
		top, step float64
	}{
		{4.6, 5, 5, 1},          // 0.92 → 1
		{7.3, 5, 8, 2},          // 1.46 → 2
		{11, 5, 12.5, 2.5},      // 2.2 → 2.5
		{0.93, 5, 1, 0.2},       // 0.186 → 0.2
		{340, 10, 350, 50},      // 34 → 50
		{610, 10, 700, 100},     // 61 → 100
		{100, 5, 100, 20},       // exactly on a step: not one more
		{0, 5, 1, 0.2},          // nothing to show: [0, 1]
		{-3, 5, 1, 0.2},         //
		{math.NaN(), 5, 1, 0.2}, //
		{math.Inf(1), 5, 1, 0.2},
	} {
		top, step := NiceAxis(tc.v, tc.n)
		if math.Abs(top-tc.top) > 1e-9 || math.Abs(step-tc.step) > 1e-9 {
			t.Errorf("NiceAxis(%v, %d) = %v, %v; want %v, %v", tc.v, tc.n, top, step, tc.top, tc.step)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	at := Linear(0, 1, 100, 0)
	var got []string
	for _, tk := range LinearTicks(0, 1, 0.25, at, "%") {
		got = append(got, tk.Label+"@"+Coord(tk.Pos))
	}
	if want := []string{"0.00%@100", "0.25%@75", "0.50%@50", "0.75%@25", "1.00%@0"}; !slices.Equal(got, want) {
		t.Errorf("ticks %q, want %q", got, want)
	}
}

func TestLinear(t *testing.T) {
	y := Linear(0, 5, 270, 20)
	for v, want := range map[float64]float64{0: 270, 1: 220, 2.5: 145, 5: 20, 6: -30, math.NaN(): 270} {
		if got := y(v); got != want {
			t.Errorf("y(%v) = %v, want %v", v, got, want)
		}
	}
	if got := Linear(3, 3, 7, 9)(100); got != 7 {
		t.Errorf("an empty range maps to %v, want its start 7", got)
	}
}

func TestCoord(t *testing.T) {
	for v, want := range map[float64]string{
		12: "12", 12.34: "12.3", 12.36: "12.4", -0.04: "0", -1.25: "-1.3", 1e6: "1000000",
		math.NaN(): "0", math.Inf(-1): "0",
	} {
		if got := Coord(v); got != want {
			t.Errorf("Coord(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSeriesSwatchAndValues(t *testing.T) {
	dots := &Series{Dots: []Dot{{X: 1, Y: 1, R: 2}}}
	bars := &Series{Class: Red + " bars"}
	line := &Series{}
	line.Add(1, 2, "a", "b")
	for s, want := range map[*Series]string{dots: "dot", bars: "bar", line: "line"} {
		if got := s.Swatch(); got != want {
			t.Errorf("%+v: swatch %q, want %q", s, got, want)
		}
	}
	if dots.HasValues() || !line.HasValues() {
		t.Errorf("HasValues: dots %v (no tooltip value), line %v (one point)", dots.HasValues(), line.HasValues())
	}
	// A gap before the first point or two in a row leave no empty line.
	gappy := &Series{}
	gappy.Gap()
	gappy.Add(1, 1, "1", "x")
	gappy.Gap()
	gappy.Gap()
	gappy.Add(2, 2, "2", "y")
	if got := gappy.Polylines(); !slices.Equal(got, []string{"1,1", "2,2"}) {
		t.Errorf("polylines %q, want two of one point each", got)
	}
}
