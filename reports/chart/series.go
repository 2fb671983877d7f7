package chart

import (
	"fmt"
	"strings"
)

// Series is one legend entry: its lines, dots, bars, error bars and
// labels, and the values its tooltip shows.
type Series struct {
	// Key is its data-series attribute (the legend toggles it by Key);
	// Name is what the legend and the tooltip call it.
	Key, Name string
	// Class holds the colour (Blue…Grey) and the styles (thick, thin,
	// light, dash, dot, hollow, bars) the page draws it with, space
	// separated.
	Class string
	Dots  []Dot
	Bars  []Rect
	// Texts label values the scale clips.
	Texts []Text

	lines [][]string // the "x,y" points of each polyline
	errs  []string   // the path of each error bar
	tips  []string   // "px,py,x,text" of each tooltip value
	cut   bool       // Gap was called: the next point starts a line
}

// Add appends a point at (px, py) to the series' current line, with its
// tooltip value (x is the x value's text, text the y value's); after Gap
// it starts a new line.
func (s *Series) Add(px, py float64, x, text string) {
	if s.cut || len(s.lines) == 0 {
		s.lines = append(s.lines, nil)
		s.cut = false
	}
	s.lines[len(s.lines)-1] = append(s.lines[len(s.lines)-1], Coord(px)+","+Coord(py))
	s.Tip(px, py, x, text)
}

// Tip adds a tooltip value at (px, py) without drawing a line through
// it. The tooltip shows the value of each series nearest the pointer.
func (s *Series) Tip(px, py float64, x, text string) {
	s.tips = append(s.tips, Coord(px)+","+Coord(py)+","+x+","+strings.ReplaceAll(text, ";", ","))
}

// Gap ends the current line: the next point Add gets starts a new one.
func (s *Series) Gap() { s.cut = true }

// ErrorBar draws a vertical error bar at x from ylo to yhi with a short
// cap at each end.
func (s *Series) ErrorBar(x, ylo, yhi float64) {
	s.errs = append(s.errs, fmt.Sprintf("M%s %sV%sM%s %sh8M%s %sh8", Coord(x), Coord(ylo), Coord(yhi),
		Coord(x-4), Coord(ylo), Coord(x-4), Coord(yhi)))
}

// HasValues reports whether the series has any tooltip value, that is
// any point (Add) or value (Tip).
func (s *Series) HasValues() bool { return len(s.tips) > 0 }

// Polylines are the points attribute of each line of the series.
func (s *Series) Polylines() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.Join(l, " "))
	}
	return out
}

// ErrorBars are the path data of each error bar.
func (s *Series) ErrorBars() []string { return s.errs }

// Values is the data-pts attribute: "px,py,x,text" of each tooltip value,
// separated by ";" (a ";" in a text becomes ",").
func (s *Series) Values() string { return strings.Join(s.tips, ";") }

// Swatch is the legend's sample of the series: bar, dot or line.
func (s *Series) Swatch() string {
	switch {
	case len(s.Bars) > 0 || strings.Contains(s.Class, "bars"):
		return "bar"
	case len(s.lines) == 0 && len(s.Dots) > 0:
		return "dot"
	}
	return "line"
}
