package metricsport

import (
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// The records of metrics.jsonl and the metric families they hold are the
// run directory's (package rundir); the parser produces what the log stores,
// so they are this package's vocabulary too.
type (
	// ScrapeRecord is one line of metrics.jsonl.
	ScrapeRecord = rundir.ScrapeRecord
	// FailureKind classifies why a scrape failed.
	FailureKind = rundir.FailureKind
	// MetricType is the TYPE a family declared.
	MetricType = rundir.MetricType
	// Family is one metric family.
	Family = rundir.MetricFamily
	// Sample is one exposed value.
	Sample = rundir.MetricSample
)

// Failure kinds recorded in ScrapeRecord.Kind.
const (
	FailTimeout    FailureKind = "timeout"     // no complete answer within the timeout
	FailConnect    FailureKind = "connect"     // could not connect or the connection broke
	FailHTTPStatus FailureKind = "http-status" // answered with a non-200 status
	FailRead       FailureKind = "read"        // body unreadable or too large
	FailParse      FailureKind = "parse"       // body is not Prometheus text
)

// ScrapeOf returns a record's families as a Scrape (empty when !OK).
func ScrapeOf(r ScrapeRecord) Scrape {
	fams := slices.Clone(r.Families)
	// Written sorted, but a hand-edited or foreign file need not be.
	slices.SortFunc(fams, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return Scrape{Families: fams}
}

// Observations turns the records of one URL into the series DetectOnsets
// reads, oldest first. url "" takes every record (a log with one URL).
// underLoad tells whether load was applied at a time; nil means never.
func Observations(records []ScrapeRecord, url string, underLoad func(time.Time) bool) []Observation {
	var out []Observation
	for _, r := range records {
		if url != "" && r.URL != url {
			continue
		}
		// Stamp, not At: the values are tor's at the response, and a
		// slow scrape's start would place them too early.
		at := r.Stamp()
		o := Observation{At: at, Err: r.Error, Slow: r.Slow}
		if underLoad != nil {
			o.UnderLoad = underLoad(at)
		}
		if r.OK {
			s := NewRelaySnapshot(ScrapeOf(r), at)
			o.Snapshot = &s
		} else if o.Err == "" {
			o.Err = "scrape failed (no error recorded)"
		}
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b Observation) int { return a.At.Compare(b.At) })
	return out
}

// Snapshots returns the snapshots of the successful scrapes of url (all URLs
// when url is ""), oldest first, ready for RateSeries.
func Snapshots(records []ScrapeRecord, url string) []RelaySnapshot {
	var out []RelaySnapshot
	for _, o := range Observations(records, url, nil) {
		if o.Snapshot != nil {
			out = append(out, *o.Snapshot)
		}
	}
	return out
}
