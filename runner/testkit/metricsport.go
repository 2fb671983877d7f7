package testkit

import (
	"bytes"
	_ "embed"
	"errors"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// relayIdle is a real scrape of an idle exit relay (tor 0.4.9.11, every
// family tor serves): the shape the fake serves, with the series of
// RelayState set to the test's values.
//
//go:embed testdata/relay-idle.prom
var relayIdle []byte

// RelayState holds the series of the fake MetricsPort that a test drives:
// those relaybench reads for traffic and overload. Every other series keeps
// its value from the real scrape.
type RelayState struct {
	// TrafficRead and TrafficWritten are tor_relay_traffic_bytes
	// {direction="read"|"written"} (counter).
	TrafficRead, TrafficWritten float64
	// CircuitsOpened is tor_relay_circuits_total{state="opened"} (a gauge,
	// despite the name).
	CircuitsOpened float64
	// OnionskinsProcessed and OnionskinsDropped are
	// tor_relay_load_onionskins_total{type="ntor_v3",action=...} (counter).
	OnionskinsProcessed, OnionskinsDropped float64
	// OOMBytes is tor_relay_load_oom_bytes_total{subsys="cell"} (counter).
	OOMBytes float64
	// TCPExhaustion is tor_relay_load_tcp_exhaustion_total (counter).
	TCPExhaustion float64
	// RateLimitRead and RateLimitWrite are
	// tor_relay_load_global_rate_limit_reached_total{side="read"|"write"}
	// (counter).
	RateLimitRead, RateLimitWrite float64
	// SocketsOpened is tor_relay_load_socket_total{state="opened"} and
	// SocketLimit its unlabelled sample (both gauges).
	SocketsOpened, SocketLimit float64
	// DoS is tor_relay_dos_total{type=...} (counter), by type.
	DoS map[string]float64
}

// stateField is one series of RelayState: a family and its exact labels.
type stateField struct {
	family string
	labels map[string]string
	value  func(*RelayState) *float64
}

var stateFields = []stateField{
	{"tor_relay_traffic_bytes", map[string]string{"direction": "read"}, func(s *RelayState) *float64 { return &s.TrafficRead }},
	{"tor_relay_traffic_bytes", map[string]string{"direction": "written"}, func(s *RelayState) *float64 { return &s.TrafficWritten }},
	{"tor_relay_circuits_total", map[string]string{"state": "opened"}, func(s *RelayState) *float64 { return &s.CircuitsOpened }},
	{"tor_relay_load_onionskins_total", map[string]string{"type": "ntor_v3", "action": "processed"}, func(s *RelayState) *float64 { return &s.OnionskinsProcessed }},
	{"tor_relay_load_onionskins_total", map[string]string{"type": "ntor_v3", "action": "dropped"}, func(s *RelayState) *float64 { return &s.OnionskinsDropped }},
	{"tor_relay_load_oom_bytes_total", map[string]string{"subsys": "cell"}, func(s *RelayState) *float64 { return &s.OOMBytes }},
	{"tor_relay_load_tcp_exhaustion_total", map[string]string{}, func(s *RelayState) *float64 { return &s.TCPExhaustion }},
	{"tor_relay_load_global_rate_limit_reached_total", map[string]string{"side": "read"}, func(s *RelayState) *float64 { return &s.RateLimitRead }},
	{"tor_relay_load_global_rate_limit_reached_total", map[string]string{"side": "write"}, func(s *RelayState) *float64 { return &s.RateLimitWrite }},
	{"tor_relay_load_socket_total", map[string]string{"state": "opened"}, func(s *RelayState) *float64 { return &s.SocketsOpened }},
	{"tor_relay_load_socket_total", map[string]string{}, func(s *RelayState) *float64 { return &s.SocketLimit }},
}

const familyDoS = "tor_relay_dos_total"

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// get returns the value of the series family{labels} in s, and false when
// RelayState does not hold that series.
func (s *RelayState) get(family string, labels map[string]string) (float64, bool) {
	if family == familyDoS && len(labels) == 1 && labels["type"] != "" {
		v, ok := s.DoS[labels["type"]]
		return v, ok
	}
	for _, f := range stateFields {
		if f.family == family && maps.Equal(f.labels, labels) {
			return *f.value(s), true
		}
	}
	return 0, false
}

// set sets the series family{labels} in s, if RelayState holds it.
func (s *RelayState) set(family string, labels map[string]string, v float64) {
	if family == familyDoS && len(labels) == 1 && labels["type"] != "" {
		if s.DoS == nil {
			s.DoS = map[string]float64{}
		}
		s.DoS[labels["type"]] = v
		return
	}
	for _, f := range stateFields {
		if f.family == family && maps.Equal(f.labels, labels) {
			*f.value(s) = v
		}
	}
}

func (s RelayState) clone() RelayState {
	s.DoS = maps.Clone(s.DoS)
	return s
}

// MetricsFailure is how a fake MetricsPort fails its scrapes.
type MetricsFailure int

const (
	// MetricsHealthy answers every scrape.
	MetricsHealthy MetricsFailure = iota
	// MetricsRefuse stops listening: scrapes get "connection refused".
	// Healthy again, the port listens on the same address.
	MetricsRefuse
	// MetricsHangUp accepts and closes without a reply, as tor does with
	// a client its MetricsPortPolicy rejects.
	MetricsHangUp
	// MetricsStatus500 answers HTTP 500.
	MetricsStatus500
)

// MetricsPort is a fake tor MetricsPort on 127.0.0.1: `GET /metrics` in the
// Prometheus text format with tor's families (HELP and TYPE lines, no
// timestamps, no # EOF) and the values of a RelayState.
type MetricsPort struct {
	addr     string
	families []*dto.MetricFamily // the real scrape, sorted by name
	srv      *http.Server
	closing  chan struct{}
	wg       sync.WaitGroup // Serve loops and handlers

	mu       sync.Mutex
	ln       net.Listener // nil while refusing
	closed   bool
	state    RelayState
	follow   []*SOCKSServer
	defence  *circuitDefence
	failure  MetricsFailure
	delay    time.Duration
	scrapes  int
	requests int
}

// StartMetricsPort starts a fake MetricsPort on 127.0.0.1:0 that serves
// the values of a real idle relay until the test changes them; it is
// closed when the test ends.
func StartMetricsPort(t testing.TB) *MetricsPort {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(bytes.NewReader(relayIdle))
	if err != nil {
		t.Fatalf("testkit: parse the embedded MetricsPort scrape: %v", err)
	}
	m := &MetricsPort{closing: make(chan struct{})}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		mf := byName[name]
		m.families = append(m.families, mf)
		for _, metric := range mf.GetMetric() {
			m.state.set(name, labelsOf(metric), sampleValue(metric))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: listen for the fake MetricsPort: %v", err)
	}
	m.addr = ln.Addr().String()
	m.srv = &http.Server{Handler: http.HandlerFunc(m.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	// tor answers in HTTP/1.0 and closes after each response; without
	// kept-alive connections a refusing port also refuses every scrape.
	m.srv.SetKeepAlivesEnabled(false)
	m.serve(ln)
	t.Cleanup(m.Close)
	return m
}

// URL is the scrape URL, http://127.0.0.1:PORT/metrics.
func (m *MetricsPort) URL() string { return "http://" + m.addr + "/metrics" }

// Update changes the served values under the port's lock.
func (m *MetricsPort) Update(change func(*RelayState)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	change(&m.state)
}

// AddTraffic adds bytes read and written by the relay.
func (m *MetricsPort) AddTraffic(read, written float64) {
	m.Update(func(s *RelayState) { s.TrafficRead += read; s.TrafficWritten += written })
}

// AddRateLimitReached adds hits of the global rate limit, by side.
func (m *MetricsPort) AddRateLimitReached(read, write float64) {
	m.Update(func(s *RelayState) { s.RateLimitRead += read; s.RateLimitWrite += write })
}

// AddDoS adds n to tor_relay_dos_total{type=typ}, e.g. "circuit_rejected".
func (m *MetricsPort) AddDoS(typ string, n float64) {
	m.Update(func(s *RelayState) {
		if s.DoS == nil {
			s.DoS = map[string]float64{}
		}
		s.DoS[typ] += n
	})
}

// DefendCircuits makes the relay defend itself against the circuits of
// the SOCKS servers it follows (FollowSOCKS) as tor's circuit creation
// defence (dos.c) does against one client address: every stream's new
// credentials are a new circuit, taken from a bucket of burst tokens
// refilled at perSecond; the first circuit that finds the bucket empty
// marks the address (marked_address +1), and from then on every circuit is
// refused (circuit_rejected +1 each), for longer than any test. tor counts
// only from an address that holds DoSCircuitCreationMinConnections
// connections; the fake counts every circuit. The counts are computed from
// the servers' credential times at each scrape, so they follow the load.
func (m *MetricsPort) DefendCircuits(perSecond float64, burst int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defence = &circuitDefence{rate: perSecond, burst: float64(burst)}
}

// circuitDefence is tor's circuit creation defence for one address.
type circuitDefence struct {
	rate, burst float64
}

// count returns the addresses marked (0 or 1) and the circuits refused
// among circuits opened at times ts, in order.
func (d *circuitDefence) count(ts []time.Time) (marked, rejected float64) {
	tokens := d.burst
	var last time.Time
	for i, t := range ts {
		if marked > 0 {
			rejected++
			continue
		}
		if i > 0 {
			tokens = min(d.burst, tokens+d.rate*t.Sub(last).Seconds())
		}
		last = t
		if tokens >= 1 {
			tokens--
			continue
		}
		marked, rejected = 1, 1
	}
	return marked, rejected
}

// FollowSOCKS makes the relay carry what the servers forward: from now on
// each scrape adds, per server, the bytes forwarded (both ways) to traffic
// read and written, the open streams to the open circuits, and the streams
// that attached to the ntor_v3 onionskins processed, as if every stream
// had a circuit of its own through this relay.
func (m *MetricsPort) FollowSOCKS(servers ...*SOCKSServer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.follow = append(m.follow, servers...)
}

// State returns the values the next scrape serves.
func (m *MetricsPort) State() RelayState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current()
}

func (m *MetricsPort) current() RelayState {
	s := m.state.clone()
	for _, srv := range m.follow {
		st := srv.Stats()
		s.TrafficRead += float64(st.Forwarded())
		s.TrafficWritten += float64(st.Forwarded())
		s.CircuitsOpened += float64(st.Active)
		s.OnionskinsProcessed += float64(st.Succeeded)
	}
	if m.defence != nil {
		var ts []time.Time
		for _, srv := range m.follow {
			for _, c := range srv.Creds() {
				ts = append(ts, c.At)
			}
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		marked, rejected := m.defence.count(ts)
		if s.DoS == nil {
			s.DoS = map[string]float64{}
		}
		s.DoS["marked_address"] += marked
		s.DoS["circuit_rejected"] += rejected
	}
	return s
}

// SetFailure makes the following scrapes fail as f says (MetricsHealthy
// ends a failure).
func (m *MetricsPort) SetFailure(f MetricsFailure) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("testkit: the MetricsPort is closed")
	}
	m.failure = f
	switch {
	case f == MetricsRefuse && m.ln != nil:
		m.ln.Close()
		m.ln = nil
	case f != MetricsRefuse && m.ln == nil:
		ln, err := net.Listen("tcp", m.addr)
		if err != nil {
			return err
		}
		m.serve(ln)
	}
	return nil
}

// SetDelay holds every response back d: a MetricsPort too slow to answer
// within the scraper's timeout, as tor's is at fd exhaustion.
func (m *MetricsPort) SetDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}

// Scrapes counts the scrapes answered with 200; Requests every request
// that reached the handler, failed ones included.
func (m *MetricsPort) Scrapes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scrapes
}

// Requests counts every HTTP request that reached the port.
func (m *MetricsPort) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// Close stops the port and returns once every goroutine of it ended. It is
// safe to call more than once.
func (m *MetricsPort) Close() {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.closing)
		m.srv.Close() // closes the listener and every connection
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// serve runs the HTTP server on ln; called with mu held or before start.
func (m *MetricsPort) serve(ln net.Listener) {
	m.ln = ln
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.srv.Serve(ln)
	}()
}

func (m *MetricsPort) serveHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.wg.Add(1)
	defer m.wg.Done()
	m.requests++
	failure, delay := m.failure, m.delay
	m.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-m.closing:
			return
		}
	}
	switch {
	case failure == MetricsHangUp:
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	case failure == MetricsStatus500:
		http.Error(w, "fake MetricsPort: failing on purpose", http.StatusInternalServerError)
		return
	case r.Method != http.MethodGet || r.URL.Path != "/metrics":
		http.NotFound(w, r) // tor answers only GET /metrics
		return
	}
	m.mu.Lock()
	s := m.current()
	m.scrapes++
	m.mu.Unlock()
	var body bytes.Buffer
	for _, mf := range m.families {
		if _, err := expfmt.MetricFamilyToText(&body, withState(mf, &s)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(body.Bytes())
}

// withState returns a copy of mf whose series held by s have s's values.
func withState(mf *dto.MetricFamily, s *RelayState) *dto.MetricFamily {
	out := &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type}
	for _, metric := range mf.GetMetric() {
		v := sampleValue(metric)
		if sv, ok := s.get(mf.GetName(), labelsOf(metric)); ok {
			v = sv
		}
		c := &dto.Metric{Label: metric.Label}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			c.Counter = &dto.Counter{Value: &v}
		case dto.MetricType_GAUGE:
			c.Gauge = &dto.Gauge{Value: &v}
		default:
			c.Untyped = &dto.Untyped{Value: &v}
		}
		out.Metric = append(out.Metric, c)
	}
	return out
}

// sampleValue is the value of a counter, gauge or untyped sample (tor
// serves no other kind).
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}
