package reports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/relaybench/relaybench/measure"
)

// NamedAnalysis is one variant's analysis with the variant's name and how
// its set-up differs from the first variant's.
type NamedAnalysis struct {
	Name     string
	Analysis *measure.Analysis
	// Differences from the first variant (torrc, nofile, env.json).
	Differences []EnvDifference
}

// Ranking orders the variants of a run from the highest capacity to the
// lowest and compares each with the best, so that "which setting is
// better" comes with its p-value. It is comparison.json of a run with
// variants.
type Ranking struct {
	// Entries are the variants, best first.
	Entries []RankEntry `json:"entries"`
	// Comparisons holds every variant compared with the first variant of
	// the scenario (the baseline), in scenario order, baseline excluded.
	Comparisons []*Comparison `json:"comparisons"`
}

// RankEntry is one variant's place in the ranking.
type RankEntry struct {
	Rank    int    `json:"rank"`
	Variant string `json:"variant"`
	// Capacity is nil when no step of the variant carried bytes.
	Capacity *measure.Capacity `json:"capacity"`
	Onset    *measure.Onset    `json:"onset"`
	// VsBest compares the variant's capacity with the best's (nil for
	// the best itself).
	VsBest *MetricComparison `json:"vs_best,omitempty"`
	// Failed lists the variant's failed thresholds.
	Failed []string `json:"failed_thresholds,omitempty"`
	// Differences says how the variant's set-up differs from the
	// baseline's.
	Differences []EnvDifference `json:"differences,omitempty"`
}

// Rank ranks variants (in scenario order, the first being the baseline)
// by the mean goodput of their capacity. A variant whose capacity is a
// lower bound still ranks by it; the table marks it ("≥") and says whose
// limit each capacity is.
func Rank(variants []NamedAnalysis) *Ranking {
	r := &Ranking{}
	order := slices.Clone(variants)
	capOf := func(v NamedAnalysis) float64 {
		if c := v.Analysis.Capacity; c != nil {
			return c.Goodput.Mean
		}
		return -1
	}
	slices.SortStableFunc(order, func(a, b NamedAnalysis) int { return cmp.Compare(capOf(b), capOf(a)) })
	for i, v := range order {
		e := RankEntry{Rank: i + 1, Variant: v.Name, Capacity: v.Analysis.Capacity, Onset: v.Analysis.Onset, Differences: v.Differences}
		for _, g := range v.Analysis.Failed() {
			e.Failed = append(e.Failed, g.Name)
		}
		if i > 0 {
			c := Compare(order[0].Analysis, v.Analysis, WithNames(order[0].Name, v.Name))
			e.VsBest = &c.Capacity.Goodput
		}
		r.Entries = append(r.Entries, e)
	}
	for _, v := range variants[1:] {
		r.Comparisons = append(r.Comparisons, Compare(variants[0].Analysis, v.Analysis,
			WithNames(variants[0].Name, v.Name), WithEnvDifferences(v.Differences)))
	}
	return r
}

// Text writes the ranking table and, per variant, what fired at its
// onset; then the full comparison of each variant with the baseline.
func (r *Ranking) Text(w io.Writer) error { return r.render(w, false) }

// Markdown writes the same as Text in Markdown.
func (r *Ranking) Markdown(w io.Writer) error { return r.render(w, true) }

// render writes the ranking as text or in Markdown: the table, then each
// comparison under a heading.
func (r *Ranking) render(w io.Writer, markdown bool) error {
	var rend tw.Renderer // the table's own text layout
	heading, compared := "\n%s compared with %s:\n", (*Comparison).Text
	if markdown {
		fmt.Fprintf(w, "# Variants ranked by capacity\n\n")
		rend, heading, compared = renderer.NewMarkdown(), "\n## %s compared with %s\n\n", (*Comparison).Markdown
	}
	if err := r.table(w, rend); err != nil {
		return err
	}
	for _, c := range r.Comparisons {
		fmt.Fprintf(w, heading, c.B.Name, c.A.Name)
		if err := compared(c, w); err != nil {
			return err
		}
	}
	return nil
}

// JSON writes the ranking as indented JSON.
func (r *Ranking) JSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func (r *Ranking) table(w io.Writer, rend tw.Renderer) error {
	opts := []tablewriter.Option{tablewriter.WithHeaderAutoFormat(tw.Off)}
	if rend != nil {
		opts = append(opts, tablewriter.WithRenderer(rend))
	}
	t := tablewriter.NewTable(w, opts...)
	t.Header([]string{"rank", "variant", "capacity MiB/s ±95%", "at load", "limit", "vs best", "p", "overload onset", "differs from baseline"})
	var notes []string
	for _, e := range r.Entries {
		capText, at, limit := "-", "-", "-"
		if c := e.Capacity; c != nil {
			capText = fmt.Sprintf("%.2f ± %.2f", c.Goodput.Mean/mib, c.Goodput.HalfWidth()/mib)
			if c.LowerBound {
				capText = "≥ " + capText
			}
			at = fmt.Sprintf("step %d (%d)", c.Step+1, c.Load)
			if c.Attribution != "" {
				limit = c.Bound()
			}
		}
		delta, p := "best", ""
		if e.VsBest != nil {
			delta, p = deltaParts(*e.VsBest)
		}
		onset := "none"
		if o := e.Onset; o != nil {
			onset = fmt.Sprintf("step %d: %s", o.Step+1, o.Cause)
		}
		var diffs []string
		for _, d := range e.Differences {
			diffs = append(diffs, fmt.Sprintf("%s=%s", strings.TrimPrefix(d.Key, "torrc/"), d.B))
		}
		if len(e.Failed) > 0 {
			notes = append(notes, fmt.Sprintf("%s failed thresholds: %s", e.Variant, strings.Join(e.Failed, ", ")))
		}
		if err := t.Append([]string{fmt.Sprint(e.Rank), e.Variant, capText, at, limit, delta, p, onset, strings.Join(diffs, " ")}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, `capacity is the mean over the repetitions at the capacity step, ± its 95% interval (n = repetitions). "vs best" is the change of the median of the repetitions' capacities against the best variant, "~" when the Mann-Whitney U test finds no significant difference (p >= 0.05), "too few repetitions to test" below `+fmt.Sprint(MinRepetitions)+` repetitions per variant; "≥" marks a capacity that is a lower bound, and "limit" says whose limit it is (relay-bound: the relay's own; otherwise the machine's, the load generator's, the test network's, or unknown), so a lower bound ranks by a number that is not the relay's.`)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}
