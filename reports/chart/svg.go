package chart

import (
	_ "embed"
	"fmt"
	"html/template"
	"strings"
)

//go:embed svg.tmpl
var svgSource string

var svgTemplate = template.Must(template.New("svg.tmpl").Funcs(template.FuncMap{"c": Coord}).Parse(svgSource))

// SVG is the chart as an <svg> element, escaped for embedding in an HTML
// page; it is also well-formed XML.
func (c *Chart) SVG() (template.HTML, error) {
	var b strings.Builder
	if err := svgTemplate.Execute(&b, c); err != nil {
		return "", fmt.Errorf("chart %s: %w", c.Kind, err)
	}
	return template.HTML(b.String()), nil
}
