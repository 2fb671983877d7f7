package metricsport

import (
	"slices"
	"time"
)

// Family names relaybench maps into a RelaySnapshot, as served by tor 0.4.9.11.
// The TYPE column is what tor declares; note the two gauges ending in _total.
//
//	family                                          TYPE     labels             maps to
//	tor_relay_traffic_bytes                         counter  direction          Counters.TrafficReadBytes/TrafficWrittenBytes
//	tor_relay_load_onionskins_total                 counter  type, action       Counters.OnionskinsProcessed/OnionskinsDropped[type]
//	tor_relay_load_oom_bytes_total                  counter  subsys             Counters.OOMBytes[subsys]
//	tor_relay_load_tcp_exhaustion_total             counter  -                  Counters.TCPExhaustion
//	tor_relay_load_global_rate_limit_reached_total  counter  side               Counters.RateLimitReachedRead/RateLimitReachedWrite
//	tor_relay_dos_total                             counter  type               Counters.DoS[type]
//	tor_relay_connections_total                     counter  type, direction,   Counters.ConnectionsCreated/ConnectionsRejected[type]
//	                                                         state, family      (summed over direction and family)
//	tor_relay_streams_total                         counter  type               Counters.Streams[type]
//	tor_bug_reached_count                           counter  -                  Counters.BugsReached
//	tor_relay_circuits_total                        GAUGE    state="opened"     Gauges.CircuitsOpened
//	tor_relay_load_socket_total                     GAUGE    state="opened"     Gauges.SocketsOpened
//	                                                         (no labels)        Gauges.SocketLimit
//	tor_relay_connections                           gauge    type, direction,   Gauges.ConnectionsOpen[type]
//	                                                         state, family      (summed over direction and family)
//
// Socks connection counts are ConnectionsOpen["Socks"] and
// ConnectionsCreated["Socks"]; a tor client exposes them too.
const (
	FamilyTrafficBytes     = "tor_relay_traffic_bytes"
	FamilyOnionskins       = "tor_relay_load_onionskins_total"
	FamilyOOMBytes         = "tor_relay_load_oom_bytes_total"
	FamilyTCPExhaustion    = "tor_relay_load_tcp_exhaustion_total"
	FamilyRateLimitReached = "tor_relay_load_global_rate_limit_reached_total"
	FamilyDoS              = "tor_relay_dos_total"
	FamilyConnectionsTotal = "tor_relay_connections_total"
	FamilyStreams          = "tor_relay_streams_total"
	FamilyBugsReached      = "tor_bug_reached_count"
	FamilyCircuits         = "tor_relay_circuits_total"
	FamilySockets          = "tor_relay_load_socket_total"
	FamilyConnections      = "tor_relay_connections"
)

// MappedFamilies lists every family a RelaySnapshot reads, in table order.
var MappedFamilies = []string{
	FamilyTrafficBytes, FamilyOnionskins, FamilyOOMBytes, FamilyTCPExhaustion,
	FamilyRateLimitReached, FamilyDoS, FamilyConnectionsTotal, FamilyStreams,
	FamilyBugsReached, FamilyCircuits, FamilySockets, FamilyConnections,
}

// RelayCounters holds the monotonic counters of a relay. Rates reuses the
// same shape for increases and per-second rates, so a field means the same
// thing in both. Maps are nil when the family is absent.
type RelayCounters struct {
	TrafficReadBytes    float64
	TrafficWrittenBytes float64
	// OnionskinsProcessed and OnionskinsDropped are keyed by handshake type
	// ("tap", "fast", "ntor", "ntor_v3"). Dropped means tor's CPU could not
	// keep up with circuit creation.
	OnionskinsProcessed map[string]float64
	OnionskinsDropped   map[string]float64
	// OOMBytes is keyed by subsystem ("cell", "dns", "geoip", "hsdir").
	OOMBytes      map[string]float64
	TCPExhaustion float64
	// RateLimitReachedRead/Write count how often the global
	// BandwidthRate/BandwidthBurst bucket ran dry (RelayBandwidthRate does not
	// feed them).
	RateLimitReachedRead  float64
	RateLimitReachedWrite float64
	// DoS is keyed by the defense's type label ("circuit_rejected", ...).
	DoS map[string]float64
	// ConnectionsCreated and ConnectionsRejected are keyed by connection type
	// ("OR", "Exit", "Socks", ...), summed over direction and address family.
	ConnectionsCreated  map[string]float64
	ConnectionsRejected map[string]float64
	// Streams is keyed by stream type ("BEGIN", "BEGIN_DIR", "RESOLVE").
	Streams     map[string]float64
	BugsReached float64
}

// RelayGauges holds the point-in-time values of a relay.
type RelayGauges struct {
	CircuitsOpened float64
	SocketsOpened  float64
	// SocketLimit is the unlabelled tor_relay_load_socket_total sample: the
	// number of sockets tor allows itself (from ulimit -n). 0 means unknown.
	SocketLimit float64
	// ConnectionsOpen is keyed by connection type, summed over direction and
	// address family.
	ConnectionsOpen map[string]float64
}

// RelaySnapshot is the typed view of one scrape that the analysis uses.
type RelaySnapshot struct {
	// At is when the scrape was taken; zero when unknown (e.g. a bare file).
	At       time.Time
	Counters RelayCounters
	Gauges   RelayGauges
	// Missing lists mapped families the scrape did not have, sorted. A
	// missing family reads as 0, so signals check Has before trusting a 0.
	Missing []string
}

// Has reports whether the scrape behind s contained family.
func (s RelaySnapshot) Has(family string) bool {
	_, found := slices.BinarySearch(s.Missing, family)
	return !found
}

// NewRelaySnapshot extracts the typed view from a scrape taken at at: each
// sample of a mapped family goes where its route says (routes, the table
// above as code). A series that appears twice (malformed input) keeps its
// last value.
func NewRelaySnapshot(sc Scrape, at time.Time) RelaySnapshot {
	s := RelaySnapshot{At: at}
	routes := s.routes()
	for _, name := range MappedFamilies {
		f := sc.Family(name)
		if f == nil {
			s.Missing = append(s.Missing, name)
			continue
		}
		for _, smp := range f.Samples {
			if smp.Name != name {
				continue // _sum/_count of a summary; tor has none here
			}
			for _, r := range routes {
				if r.family == name {
					r.put(smp)
				}
			}
		}
	}
	slices.Sort(s.Missing)
	return s
}

// A route puts the samples of one family into one field of a snapshot:
// those whose label has the value, or, without a label, the sample without
// labels (into a number) or every sample (into a map). A number takes the
// sample's value; a map takes it under the sample's key label, replacing
// what was there or, with sum, adding to it (to sum over the labels that
// are not the key: direction and address family).
type route struct {
	family       string
	label, value string
	number       *float64
	keyed        *map[string]float64
	key          string
	sum          bool
}

// routes are where the samples of each mapped family go in s.
func (s *RelaySnapshot) routes() []route {
	c, g := &s.Counters, &s.Gauges
	return []route{
		{family: FamilyTrafficBytes, label: "direction", value: "read", number: &c.TrafficReadBytes},
		{family: FamilyTrafficBytes, label: "direction", value: "written", number: &c.TrafficWrittenBytes},
		{family: FamilyOnionskins, label: "action", value: "processed", keyed: &c.OnionskinsProcessed, key: "type"},
		{family: FamilyOnionskins, label: "action", value: "dropped", keyed: &c.OnionskinsDropped, key: "type"},
		{family: FamilyOOMBytes, keyed: &c.OOMBytes, key: "subsys"},
		{family: FamilyTCPExhaustion, number: &c.TCPExhaustion},
		{family: FamilyRateLimitReached, label: "side", value: "read", number: &c.RateLimitReachedRead},
		{family: FamilyRateLimitReached, label: "side", value: "write", number: &c.RateLimitReachedWrite},
		{family: FamilyDoS, keyed: &c.DoS, key: "type"},
		{family: FamilyConnectionsTotal, label: "state", value: "created", keyed: &c.ConnectionsCreated, key: "type", sum: true},
		{family: FamilyConnectionsTotal, label: "state", value: "rejected", keyed: &c.ConnectionsRejected, key: "type", sum: true},
		{family: FamilyStreams, keyed: &c.Streams, key: "type"},
		{family: FamilyBugsReached, number: &c.BugsReached},
		{family: FamilyCircuits, label: "state", value: "opened", number: &g.CircuitsOpened},
		// The socket limit is the sample WITHOUT labels; {state="opened"}
		// is the current use. Same family, different meaning.
		{family: FamilySockets, number: &g.SocketLimit},
		{family: FamilySockets, label: "state", value: "opened", number: &g.SocketsOpened},
		{family: FamilyConnections, label: "state", value: "opened", keyed: &g.ConnectionsOpen, key: "type", sum: true},
	}
}

// put stores smp where r says, if r takes it.
func (r route) put(smp Sample) {
	if r.label != "" && smp.Label(r.label) != r.value {
		return
	}
	if r.number != nil {
		if r.label != "" || len(smp.Labels) == 0 {
			*r.number = smp.Value
		}
		return
	}
	if *r.keyed == nil {
		*r.keyed = make(map[string]float64)
	}
	if r.sum {
		(*r.keyed)[smp.Label(r.key)] += smp.Value
	} else {
		(*r.keyed)[smp.Label(r.key)] = smp.Value
	}
}
