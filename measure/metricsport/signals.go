package metricsport

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// SignalName names one relay-declared overload signal.
type SignalName string

// The overload signals relaybench detects. Each follows tor's own rule for
// declaring overload (rephist.c, relay.c, connection.c), except
// metricsport-unreachable, which is what fd exhaustion looked like from the
// outside: the MetricsPort stopped answering.
const (
	// SignalOnionskinsDropped: tor_relay_load_onionskins_total{action="dropped"}
	// rose for any handshake type; the CPU cannot keep up with circuit creation.
	SignalOnionskinsDropped SignalName = "onionskins-dropped"
	// SignalOOM: tor_relay_load_oom_bytes_total rose for any subsystem; queued
	// cells reached MaxMemInQueues.
	SignalOOM SignalName = "oom"
	// SignalTCPExhaustion: tor_relay_load_tcp_exhaustion_total rose; out of
	// local ports.
	SignalTCPExhaustion SignalName = "tcp-exhaustion"
	// SignalRateLimit: tor_relay_load_global_rate_limit_reached_total rose on
	// either side; the BandwidthRate/BandwidthBurst bucket ran dry.
	SignalRateLimit SignalName = "rate-limit"
	// SignalSockets: open sockets reached SignalConfig.SocketFraction of the
	// socket limit; fd exhaustion is near.
	SignalSockets SignalName = "sockets"
	// SignalMetricsPortUnreachable: a scrape failed while the caller said the
	// relay was under load.
	SignalMetricsPortUnreachable SignalName = "metricsport-unreachable"
	// SignalDoS: tor_relay_dos_total rose for one of DoSLoadTypes: the
	// relay's DoS defence (dos.c) refused or killed circuits, connections
	// or streams of a client address, or marked one. Not overload: the
	// relay refuses a client it takes for an attacker, whatever its
	// capacity.
	SignalDoS SignalName = "dos"
)

// DoSLoadTypes are the tor_relay_dos_total types that a load generator
// trips (dos.c's circuit creation, connection and stream defences and the
// cell queue limits): SignalDoS watches them. single_hop_refused and
// introduce2_rejected count onion-service traffic, not relaybench's.
var DoSLoadTypes = []string{
	"circuit_rejected", "marked_address", "circuit_killed_max_cell", "circuit_killed_max_cell_outq",
	"marked_address_maxq", "conn_rejected", "concurrent_conn_rejected", "stream_rejected",
}

// DoSLoad returns the counts of m (tor_relay_dos_total by type, as
// RelayCounters.DoS) of the types in DoSLoadTypes; nil when there are none.
func DoSLoad(m map[string]float64) map[string]float64 {
	var out map[string]float64
	for _, k := range DoSLoadTypes {
		if v, ok := m[k]; ok {
			if out == nil {
				out = map[string]float64{}
			}
			out[k] = v
		}
	}
	return out
}

// UnreachableScrapes is how many scrapes in a row must fail under load
// for the metricsport-unreachable signal.
const UnreachableScrapes = 2

// DefaultSocketFraction is the share of the socket limit at which the sockets
// signal fires.
const DefaultSocketFraction = 0.90

// SignalConfig tunes DetectOnsets. The zero value uses the defaults.
type SignalConfig struct {
	// SocketFraction in (0, 1]; anything else means DefaultSocketFraction.
	SocketFraction float64
}

// Observation is one scrape of one relay as the signal detector sees it.
type Observation struct {
	// At is when the values were read (ScrapeRecord.Stamp).
	At time.Time
	// Slow marks a scrape that took more than half the sampling interval
	// (ScrapeRecord.Slow): At is less precise.
	Slow bool
	// Snapshot is nil when the scrape failed.
	Snapshot *RelaySnapshot
	// Err says why the scrape failed; empty when Snapshot is set.
	Err string
	// UnderLoad is the caller's judgement that load was being applied at At.
	// Only failed scrapes under load count as metricsport-unreachable: a
	// relay being restarted between steps is not overloaded.
	UnderLoad bool
}

// OnsetSignal is the first time one overload signal fired, with the evidence.
type OnsetSignal struct {
	Name SignalName
	// At is the time of the first observation that showed the signal.
	At time.Time
	// Since is the previous successful observation: the onset lies in
	// (Since, At]. Zero when there was none.
	Since time.Time
	// Series is the exposition series that showed it, e.g.
	// tor_relay_load_global_rate_limit_reached_total{side="write"}. When
	// several series rose at once it is the one that rose most.
	Series string
	// Before and After are the series values at Since and At (for the sockets
	// signal, open sockets). Both are 0 for metricsport-unreachable.
	Before, After float64
	// Limit is the socket limit for the sockets signal, else 0.
	Limit float64
	// Evidence is a one-line human-readable account for reports.
	Evidence string
}

// DetectOnsets returns, for each signal that fired in obs, the first time it
// did, ordered by time. Counter signals compare consecutive successful
// snapshots, so the first snapshot is the baseline: counts accumulated before
// the run (or before load) do not fire. A counter that went backwards (relay
// restart) counts as risen when its new value is above 0, like ComputeRates.
// A family missing from either snapshot never fires, so an older tor without
// it is not read as "all quiet then suddenly overloaded".
func DetectOnsets(obs []Observation, cfg SignalConfig) []OnsetSignal {
	frac := cfg.SocketFraction
	if !(frac > 0 && frac <= 1) {
		frac = DefaultSocketFraction
	}
	sorted := slices.Clone(obs)
	slices.SortStableFunc(sorted, func(a, b Observation) int { return a.At.Compare(b.At) })

	fired := map[SignalName]OnsetSignal{}
	fire := func(s OnsetSignal) {
		if _, done := fired[s.Name]; !done {
			fired[s.Name] = s
		}
	}
	var prev *RelaySnapshot
	var prevAt time.Time
	var failedRun []Observation // consecutive failed scrapes under load
	for _, o := range sorted {
		if o.Snapshot == nil {
			if !o.UnderLoad {
				failedRun = nil
				continue
			}
			failedRun = append(failedRun, o)
			// One slow answer is a busy machine as often as a relay out of
			// descriptors; a relay at fd exhaustion stays silent, so it
			// takes UnreachableScrapes failures in a row.
			if len(failedRun) == UnreachableScrapes {
				first := failedRun[0]
				ev := fmt.Sprintf("%d scrapes in a row failed under load, from %s: %s", UnreachableScrapes, fmtTime(first.At), first.Err)
				if prev != nil && prev.Has(FamilySockets) && prev.Gauges.SocketLimit > 0 {
					ev += fmt.Sprintf("; the last scrape that answered showed %s of %s sockets open",
						formatFloat(prev.Gauges.SocketsOpened), formatFloat(prev.Gauges.SocketLimit))
				}
				fire(OnsetSignal{Name: SignalMetricsPortUnreachable, At: o.At, Since: prevAt, Evidence: ev})
			}
			continue
		}
		failedRun = nil
		cur := o.Snapshot
		if s, ok := socketSignal(cur, prev, o.At, prevAt, frac); ok {
			fire(s)
		}
		if prev != nil {
			for _, c := range counterSignals {
				if s, ok := c.detect(prev, cur, prevAt, o.At); ok {
					fire(s)
				}
			}
		}
		prev, prevAt = cur, o.At
	}
	out := make([]OnsetSignal, 0, len(fired))
	for _, s := range fired {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b OnsetSignal) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(string(a.Name), string(b.Name))
	})
	return out
}

func socketSignal(cur, prev *RelaySnapshot, at, prevAt time.Time, frac float64) (OnsetSignal, bool) {
	g := cur.Gauges
	if !cur.Has(FamilySockets) || !(g.SocketLimit > 0) || !(g.SocketsOpened >= frac*g.SocketLimit) {
		return OnsetSignal{}, false
	}
	var before float64
	if prev != nil {
		before = prev.Gauges.SocketsOpened
	}
	return OnsetSignal{
		Name: SignalSockets, At: at, Since: prevAt,
		Series: FamilySockets + `{state="opened"}`, Before: before, After: g.SocketsOpened, Limit: g.SocketLimit,
		Evidence: fmt.Sprintf("%s{state=\"opened\"} = %s at %s, >= %.0f%% of the socket limit %s (unlabelled %s)",
			FamilySockets, formatFloat(g.SocketsOpened), fmtTime(at), frac*100, formatFloat(g.SocketLimit), FamilySockets),
	}, true
}

// RelayDeclared lists the signals the relay declares itself: each is a
// counter tor keeps of its own overload or defences (the counter rules
// of DetectOnsets), unlike sockets (relaybench's threshold on a gauge) and
// metricsport-unreachable (what the outside sees). onset.abort stops a run
// on these; a counter rule added to DetectOnsets joins them.
func RelayDeclared() []SignalName {
	out := make([]SignalName, len(counterSignals))
	for i, c := range counterSignals {
		out[i] = c.name
	}
	return out
}

// counterSignal is one rule "this counter family rose".
type counterSignal struct {
	name   SignalName
	family string
	// series lists (series text, value) of the counters to watch.
	series func(c RelayCounters) []seriesValue
}

type seriesValue struct {
	series string
	value  float64
}

var counterSignals = []counterSignal{
	{SignalOnionskinsDropped, FamilyOnionskins, func(c RelayCounters) []seriesValue {
		return keyedSeries(FamilyOnionskins, `type="%s",action="dropped"`, c.OnionskinsDropped)
	}},
	{SignalOOM, FamilyOOMBytes, func(c RelayCounters) []seriesValue {
		return keyedSeries(FamilyOOMBytes, `subsys="%s"`, c.OOMBytes)
	}},
	{SignalTCPExhaustion, FamilyTCPExhaustion, func(c RelayCounters) []seriesValue {
		return []seriesValue{{FamilyTCPExhaustion, c.TCPExhaustion}}
	}},
	{SignalDoS, FamilyDoS, func(c RelayCounters) []seriesValue {
		return keyedSeries(FamilyDoS, `type="%s"`, DoSLoad(c.DoS))
	}},
	{SignalRateLimit, FamilyRateLimitReached, func(c RelayCounters) []seriesValue {
		return []seriesValue{
			{FamilyRateLimitReached + `{side="read"}`, c.RateLimitReachedRead},
			{FamilyRateLimitReached + `{side="write"}`, c.RateLimitReachedWrite},
		}
	}},
}

func keyedSeries(family, labelFmt string, m map[string]float64) []seriesValue {
	out := make([]seriesValue, 0, len(m))
	for k, v := range m {
		out = append(out, seriesValue{family + "{" + fmt.Sprintf(labelFmt, k) + "}", v})
	}
	slices.SortFunc(out, func(a, b seriesValue) int { return strings.Compare(a.series, b.series) })
	return out
}

func (c counterSignal) detect(prev, cur *RelaySnapshot, prevAt, at time.Time) (OnsetSignal, bool) {
	if !prev.Has(c.family) || !cur.Has(c.family) {
		return OnsetSignal{}, false
	}
	before := map[string]float64{}
	for _, sv := range c.series(prev.Counters) {
		before[sv.series] = sv.value
	}
	var best OnsetSignal
	bestInc := 0.0
	var rose []string
	for _, sv := range c.series(cur.Counters) {
		b := before[sv.series] // a series new in cur counts from 0
		inc, reset := increase(b, sv.value)
		if !(inc > 0) {
			continue
		}
		note := ""
		if reset {
			note = " (counter went backwards: relay restarted)"
		}
		rose = append(rose, fmt.Sprintf("%s %s -> %s%s", sv.series, formatFloat(b), formatFloat(sv.value), note))
		if inc > bestInc || math.IsInf(inc, 1) {
			bestInc = inc
			best = OnsetSignal{Name: c.name, At: at, Since: prevAt, Series: sv.series, Before: b, After: sv.value}
		}
	}
	if len(rose) == 0 {
		return OnsetSignal{}, false
	}
	best.Evidence = fmt.Sprintf("rose between %s and %s: %s", fmtTime(prevAt), fmtTime(at), strings.Join(rose, "; "))
	return best, true
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(unknown time)"
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}
