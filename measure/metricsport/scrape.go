package metricsport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The metric types of the Prometheus text format.
const (
	TypeCounter   MetricType = "counter"
	TypeGauge     MetricType = "gauge"
	TypeUntyped   MetricType = "untyped"
	TypeSummary   MetricType = "summary"
	TypeHistogram MetricType = "histogram"
)

// Scrape is one parsed MetricsPort response: all families, sorted by name so
// that two scrapes of the same relay compare line by line even though tor
// changes family order between processes.
type Scrape struct {
	Families []Family
}

// Family returns the family called name, or nil when the scrape lacks it.
func (s Scrape) Family(name string) *Family {
	i, ok := slices.BinarySearchFunc(s.Families, name, func(f Family, n string) int {
		return strings.Compare(f.Name, n)
	})
	if !ok {
		return nil
	}
	return &s.Families[i]
}

// SampleCount returns the number of samples over all families.
func (s Scrape) SampleCount() int {
	n := 0
	for _, f := range s.Families {
		n += len(f.Samples)
	}
	return n
}

// Filter returns a scrape holding only the families for which keep returns
// true. A nil keep keeps everything.
func (s Scrape) Filter(keep func(family string) bool) Scrape {
	if keep == nil {
		return s
	}
	out := Scrape{Families: make([]Family, 0, len(s.Families))}
	for _, f := range s.Families {
		if keep(f.Name) {
			out.Families = append(out.Families, f)
		}
	}
	return out
}

// ParseScrape parses one MetricsPort response body in the Prometheus text
// format. It accepts what tor serves: no timestamps, no "# EOF", families in
// any order. Any syntax error fails the whole scrape: a half-parsed scrape
// would silently drop counters and make rates lie.
func ParseScrape(r io.Reader) (Scrape, error) {
	// The zero TextParser is invalid in common v0.73; UTF8Validation is the
	// permissive scheme (every legacy tor name is also valid UTF-8).
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Scrape{}, fmt.Errorf("parse MetricsPort text: %w (is the URL a tor MetricsPort /metrics endpoint?)", err)
	}
	if len(mfs) == 0 {
		// tor always serves ~24 families; an empty 200 is a wrong endpoint
		// or a relay shutting down, and must not read as "all counters 0".
		return Scrape{}, errors.New("parse MetricsPort text: no metric families in the body; check the URL points at tor's MetricsPort /metrics")
	}
	sc := Scrape{Families: make([]Family, 0, len(mfs))}
	for name, mf := range mfs {
		sc.Families = append(sc.Families, convertFamily(name, mf))
	}
	slices.SortFunc(sc.Families, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return sc, nil
}

// ParseScrapeBytes is ParseScrape for a body already in memory.
func ParseScrapeBytes(body []byte) (Scrape, error) {
	return ParseScrape(bytes.NewReader(body))
}

func convertFamily(name string, mf *dto.MetricFamily) Family {
	f := Family{Name: name, Help: mf.GetHelp(), Samples: make([]Sample, 0, len(mf.GetMetric()))}
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		f.Type = TypeCounter
	case dto.MetricType_GAUGE:
		f.Type = TypeGauge
	case dto.MetricType_SUMMARY:
		f.Type = TypeSummary
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		f.Type = TypeHistogram
	default:
		f.Type = TypeUntyped
	}
	for _, m := range mf.GetMetric() {
		labels := labelMap(m.GetLabel())
		switch {
		case m.Counter != nil:
			f.Samples = append(f.Samples, Sample{Name: name, Labels: labels, Value: m.GetCounter().GetValue()})
		case m.Gauge != nil:
			f.Samples = append(f.Samples, Sample{Name: name, Labels: labels, Value: m.GetGauge().GetValue()})
		case m.Untyped != nil:
			f.Samples = append(f.Samples, Sample{Name: name, Labels: labels, Value: m.GetUntyped().GetValue()})
		case m.Summary != nil:
			// Flatten back to the series the text format exposed, so the
			// record keeps "all samples" in one shape.
			s := m.GetSummary()
			for _, q := range s.GetQuantile() {
				f.Samples = append(f.Samples, Sample{Name: name, Labels: withLabel(labels, model.QuantileLabel, formatFloat(q.GetQuantile())), Value: q.GetValue()})
			}
			f.Samples = append(f.Samples,
				Sample{Name: name + "_sum", Labels: labels, Value: s.GetSampleSum()},
				Sample{Name: name + "_count", Labels: labels, Value: float64(s.GetSampleCount())})
		case m.Histogram != nil:
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				f.Samples = append(f.Samples, Sample{Name: name + "_bucket", Labels: withLabel(labels, model.BucketLabel, formatFloat(b.GetUpperBound())), Value: float64(b.GetCumulativeCount())})
			}
			count := float64(h.GetSampleCount())
			if h.SampleCountFloat != nil {
				count = h.GetSampleCountFloat()
			}
			f.Samples = append(f.Samples,
				Sample{Name: name + "_sum", Labels: labels, Value: h.GetSampleSum()},
				Sample{Name: name + "_count", Labels: labels, Value: count})
		}
	}
	return f
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	var m map[string]string
	for _, lp := range pairs {
		if lp.GetValue() == "" {
			continue // an empty label is an absent label (Prometheus semantics)
		}
		if m == nil {
			m = make(map[string]string, len(pairs))
		}
		m[lp.GetName()] = lp.GetValue()
	}
	return m
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	m := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		m[lk] = lv
	}
	m[k] = v
	return m
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
