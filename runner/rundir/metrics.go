package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// ScrapeRecord is one line of metrics.jsonl: one scrape of one URL, failed or
// not. Failed scrapes are kept because a MetricsPort that stops answering
// under load is an overload signal.
//
// JSON shape (one line each; keys short because a 30-minute run writes ~1800
// lines per URL):
//
//	{"url":"http://127.0.0.1:9035/metrics","t":"2025-11-23T08:26:34.01Z","dur_ms":1.9,"resp_ms":1.2,"ok":true,
//	 "fam":[{"n":"tor_relay_load_socket_total","t":"gauge","k":["state"],"s":[[["opened"],19],[[""],19968]]},
//	        {"n":"tor_relay_load_tcp_exhaustion_total","t":"counter","s":[[[],0]]}, ...]}
//	{"url":"...","t":"...","dur_ms":800.2,"ok":false,"kind":"timeout","err":"no complete answer within 800ms: ..."}
//
// A family's labels are a table: "k" lists the label names (sorted union over
// its samples, omitted when there are none) and each sample in "s" is
// [label values in "k" order, value] or, when its series name differs from the
// family name (summary/histogram _sum, _count, _bucket), [values, value, name].
// An empty label value means the label is absent, as in Prometheus; that is
// how the unlabelled socket limit reads above. Numbers that JSON cannot hold
// are strings: "NaN", "+Inf", "-Inf".
//
// Writing label names once per family instead of once per sample makes a tor
// 0.4.9 scrape ~12.7 KB instead of ~19.7 KB (label maps) or ~26 KB (text).
type ScrapeRecord struct {
	URL string `json:"url"`
	// At is when the scrape started (UTC). The counters were read later,
	// when tor answered: Stamp is the time to place them at.
	At time.Time `json:"t"`
	// DurationMS is the wall time of request, body read and parse.
	DurationMS float64 `json:"dur_ms"`
	// ResponseMS is the time from At to the response's headers; 0 when
	// no response came (or for a record written before the field existed).
	ResponseMS float64 `json:"resp_ms,omitempty"`
	// Slow marks a scrape that took more than half the sampling interval:
	// its Stamp may be off by up to half its duration, so rates over the
	// intervals next to it are rough.
	Slow bool `json:"slow,omitempty"`
	OK   bool `json:"ok"`
	// Kind classifies a failure: see metricsport's Fail constants.
	Kind FailureKind `json:"kind,omitempty"`
	// Error is the failure message; empty when OK.
	Error string `json:"err,omitempty"`
	// HTTPStatus is set when a response arrived.
	HTTPStatus int `json:"status,omitempty"`
	// BodyHead holds the first bytes of the body of a failed scrape, to show
	// what was served instead of metrics.
	BodyHead string `json:"body_head,omitempty"`
	// Families holds every kept family of a successful scrape.
	Families []MetricFamily `json:"fam,omitempty"`
}

// Stamp is when the scraped values were read: tor renders the metrics
// between receiving the request and sending the response, so the midpoint
// of At and the response is the best estimate, off by at most half of
// ResponseMS. Without ResponseMS it is the midpoint of the whole scrape.
// Stamping at At instead puts a slow scrape's values too early and skews
// the rates of the intervals around it.
func (r ScrapeRecord) Stamp() time.Time {
	ms := r.ResponseMS
	if ms <= 0 {
		ms = r.DurationMS
	}
	if !(ms > 0) || math.IsInf(ms, 0) {
		return r.At
	}
	return r.At.Add(time.Duration(ms / 2 * float64(time.Millisecond)))
}

// FailureKind classifies why a scrape failed (the metricsport sampler
// names the kinds).
type FailureKind string

// MetricType is the TYPE a family declared in the exposition ("counter",
// "gauge", ...; metricsport names them). It is kept verbatim because tor's names lie: several families
// ending in _total are gauges.
type MetricType string

// MetricSample is one exposed value: a series name, its labels and its value.
type MetricSample struct {
	// Name is the series name. It equals the family name except for the
	// _sum/_count/_bucket series of summaries and histograms.
	Name string
	// Labels holds the label pairs; nil when the sample has none (like tor's
	// socket limit, the unlabelled tor_relay_load_socket_total).
	Labels map[string]string
	// Value is the sample value; it may be NaN or ±Inf.
	Value float64
}

// Label returns the value of label name, or "" when the sample lacks it.
func (s MetricSample) Label(name string) string { return s.Labels[name] }

// MetricFamily is one metric family: every sample that shares a # TYPE.
// It is both what metricsport parses from a MetricsPort and what a
// ScrapeRecord stores.
type MetricFamily struct {
	Name string
	Type MetricType
	// Help is the # HELP text. It is not written to the metrics log (it never
	// changes and would cost ~2 KB per scrape), so it is empty for families
	// read back from metrics.jsonl.
	Help    string
	Samples []MetricSample
}

// MarshalJSON writes the record as one JSON object (no newline), in the
// shape documented on ScrapeRecord.
func (r ScrapeRecord) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// AppendJSON appends the record as MarshalJSON writes it. It is the
// sampler's hot path (Writer uses it): hand-written so a scrape costs one
// buffer append instead of reflection plus re-validation of every family.
func (r ScrapeRecord) AppendJSON(b []byte) []byte {
	b = append(b, `{"url":`...)
	b = appendJSONString(b, r.URL)
	b = append(b, `,"t":`...)
	b = appendJSONString(b, r.At.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"dur_ms":`...)
	dur := r.DurationMS
	if math.IsNaN(dur) || math.IsInf(dur, 0) {
		dur = 0 // JSON cannot hold it; a duration is never legitimately non-finite
	}
	b = strconv.AppendFloat(b, math.Round(dur*1000)/1000, 'f', -1, 64)
	if resp := r.ResponseMS; resp > 0 && !math.IsInf(resp, 0) {
		b = append(b, `,"resp_ms":`...)
		b = strconv.AppendFloat(b, math.Round(resp*1000)/1000, 'f', -1, 64)
	}
	if r.Slow {
		b = append(b, `,"slow":true`...)
	}
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, r.OK)
	if r.Kind != "" {
		b = append(b, `,"kind":`...)
		b = appendJSONString(b, string(r.Kind))
	}
	if r.Error != "" {
		b = append(b, `,"err":`...)
		b = appendJSONString(b, r.Error)
	}
	if r.HTTPStatus != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	}
	if r.BodyHead != "" {
		b = append(b, `,"body_head":`...)
		b = appendJSONString(b, r.BodyHead)
	}
	if len(r.Families) > 0 {
		b = append(b, `,"fam":[`...)
		for i, f := range r.Families {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFamilyJSON(b, f)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// MarshalJSON writes the compact family form described on ScrapeRecord.
func (f MetricFamily) MarshalJSON() ([]byte, error) {
	return appendFamilyJSON(nil, f), nil
}

// familyLabelKeys is the sorted union of the label names of f's samples: the
// columns of the family's label table.
func familyLabelKeys(f MetricFamily) []string {
	var keys []string
	for _, s := range f.Samples {
		for k := range s.Labels {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys) // stable output: equal scrapes give equal lines
	return keys
}

func appendFamilyJSON(b []byte, f MetricFamily) []byte {
	b = append(b, `{"n":`...)
	b = appendJSONString(b, f.Name)
	b = append(b, `,"t":`...)
	b = appendJSONString(b, string(f.Type))
	keys := familyLabelKeys(f)
	if len(keys) > 0 {
		b = append(b, `,"k":[`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
		}
		b = append(b, ']')
	}
	b = append(b, `,"s":[`...)
	for i, s := range f.Samples {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "[["...)
		for j, k := range keys {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s.Labels[k])
		}
		b = append(b, "],"...)
		b = appendJSONNumber(b, s.Value)
		if s.Name != f.Name {
			b = append(b, ',')
			b = appendJSONString(b, s.Name)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// UnmarshalJSON reads the compact family form described on ScrapeRecord.
func (f *MetricFamily) UnmarshalJSON(data []byte) error {
	var raw struct {
		N string              `json:"n"`
		T MetricType          `json:"t"`
		K []string            `json:"k"`
		S [][]json.RawMessage `json:"s"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("family: %w", err)
	}
	*f = MetricFamily{Name: raw.N, Type: raw.T, Samples: make([]MetricSample, 0, len(raw.S))}
	for i, parts := range raw.S {
		if len(parts) != 2 && len(parts) != 3 {
			return fmt.Errorf("family %s sample %d: want [label values, value] or [label values, value, name], got %d elements", raw.N, i, len(parts))
		}
		s := MetricSample{Name: raw.N}
		var vals []string
		if err := json.Unmarshal(parts[0], &vals); err != nil {
			return fmt.Errorf("family %s sample %d label values: %w", raw.N, i, err)
		}
		if len(vals) != len(raw.K) {
			return fmt.Errorf("family %s sample %d: %d label values for %d label names", raw.N, i, len(vals), len(raw.K))
		}
		for j, v := range vals {
			if v == "" {
				continue // an empty label is an absent label (Prometheus semantics)
			}
			if s.Labels == nil {
				s.Labels = make(map[string]string, len(vals))
			}
			s.Labels[raw.K[j]] = v
		}
		v, err := parseJSONNumber(parts[1])
		if err != nil {
			return fmt.Errorf("family %s sample %d value: %w", raw.N, i, err)
		}
		s.Value = v
		if len(parts) == 3 {
			if err := json.Unmarshal(parts[2], &s.Name); err != nil {
				return fmt.Errorf("family %s sample %d name: %w", raw.N, i, err)
			}
		}
		f.Samples = append(f.Samples, s)
	}
	return nil
}

// appendJSONNumber writes integers without exponent (tor's byte counters
// reach 1e9 quickly and "2.8906085e+07" is hard to read) and non-finite
// values as strings.
func appendJSONNumber(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Inf"`...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func parseJSONNumber(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "+Inf", "Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("value %q is neither a number nor NaN/+Inf/-Inf", s)
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, errors.New("value is not a number")
	}
	return v, nil
}

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does, so every line stays valid JSON.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r == 0x2028 || r == 0x2029:
			// Valid JSON, but some JavaScript-based viewers choke on them.
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
