package scenarios

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults that do not depend on other fields. They are filled in before
// decoding (as blackbox_exporter does), so an explicit value, even 0s,
// always wins over a default.
const (
	// derived marks a default that depends on other fields (the ramp):
	// applyKindDefaults replaces it. A file cannot hold it, as durations
	// cannot be negative, so an explicit value still wins.
	derived               = Duration(-1)
	defaultStepDuration   = Duration(30 * time.Second)
	defaultWarmup         = Duration(5 * time.Second)
	defaultInterval       = Duration(time.Second)
	defaultMaxDuration    = Duration(30 * time.Minute)
	defaultMaxBytes       = ByteSize(20 << 30)
	defaultClients        = 2
	defaultBulkSize       = ByteSize(10 << 20)
	defaultChurnSize      = ByteSize(64 << 10)
	defaultTorConnLimit   = 1000 // tor's ConnLimit default
	maxNameLen            = 64
	minInterval           = Duration(100 * time.Millisecond)
	maxInterval           = Duration(60 * time.Second)
	minStepDuration       = Duration(time.Second)
	placeholder           = "FILL-IN"
	defaultSaturationGain = 0.10
	defaultLatencyFactor  = 2.0
	defaultConnectFactor  = 2.0
	defaultOnsetErrorRate = 0.01
	defaultSocketFraction = 0.90
)

// defaultScenario returns a scenario with every field-independent default.
func defaultScenario() *Scenario {
	return &Scenario{
		Workload: Workload{Isolation: IsolationStream, Timeout: derived, StallTimeout: derived},
		Ramp:     Ramp{StepDuration: defaultStepDuration, Warmup: defaultWarmup},
		Sampling: Sampling{Interval: defaultInterval},
		Limits:   Limits{MaxDuration: defaultMaxDuration, MaxBytes: defaultMaxBytes},
		Onset: Onset{
			SaturationGain: defaultSaturationGain,
			LatencyFactor:  defaultLatencyFactor,
			ConnectFactor:  defaultConnectFactor,
			ErrorRate:      defaultOnsetErrorRate,
			SocketFraction: defaultSocketFraction,
		},
		Repetitions: 1,
	}
}

// applyKindDefaults fills in the defaults that depend on other fields and
// normalizes empty lists and maps to nil, so that resolved scenarios compare
// equal after a Marshal/Parse round trip. clientsSet says whether the file
// set clients.
func (s *Scenario) applyKindDefaults(clientsSet bool) {
	if !clientsSet && s.Target.Kind != TargetSocks {
		s.Clients = defaultClients
	}
	switch s.Target.Kind {
	case TargetTestnet:
		if s.Target.Testnet == nil {
			s.Target.Testnet = &TestnetTarget{}
		}
	case TargetRelay:
		if s.Target.Relay == nil {
			s.Target.Relay = &RelayTarget{}
		}
	case TargetSocks:
		if s.Target.Socks == nil {
			s.Target.Socks = &SocksTarget{}
		}
	}
	if s.Workload.Timeout == derived {
		s.Workload.Timeout = s.Ramp.DefaultTimeout()
	}
	if s.Workload.StallTimeout == derived {
		s.Workload.StallTimeout = s.Ramp.DefaultStallTimeout()
	}
	if s.Payload.Size == 0 {
		s.Payload.Size = defaultBulkSize
		if s.Workload.Kind == WorkloadChurn {
			s.Payload.Size = defaultChurnSize
		}
	}
	for i := range s.Variants {
		v := &s.Variants[i]
		if v.Repetitions == 0 {
			v.Repetitions = s.Repetitions
		}
		v.Torrc = nilIfEmptyMap(v.Torrc)
		v.Setup = nilIfEmpty(v.Setup)
		v.Teardown = nilIfEmpty(v.Teardown)
	}
	if t := s.Target.Testnet; t != nil {
		t.Torrc = nilIfEmptyMap(t.Torrc)
	}
	if t := s.Target.Socks; t != nil {
		t.Addresses = nilIfEmpty(t.Addresses)
		t.MetricsURLs = nilIfEmpty(t.MetricsURLs)
	}
	s.Sampling.MetricsURLs = nilIfEmpty(s.Sampling.MetricsURLs)
	s.Ramp.Steps = nilIfEmpty(s.Ramp.Steps)
	s.Variants = nilIfEmpty(s.Variants)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Validate checks every rule on an already resolved scenario, e.g. one
// changed by command-line overrides after Parse. It reports the first
// problem as an *Error without file or line.
func (s *Scenario) Validate() error {
	if err := s.validate("", nil); err != nil {
		return err
	}
	return nil
}

// checker builds *Errors for one scenario.
type checker struct {
	src string
	idx *index
}

func (c *checker) errf(path, format string, args ...any) *Error {
	return &Error{Source: c.src, Line: c.idx.lineOf(path), Field: path, Msg: fmt.Sprintf(format, args...)}
}

// validate checks the rules in file order, then the rules that relate
// fields from different sections, and returns the first problem.
func (s *Scenario) validate(src string, idx *index) *Error {
	c := &checker{src: src, idx: idx}
	for _, check := range []func(*checker) *Error{
		s.checkName,
		s.checkTarget,
		s.checkClients,
		s.checkPayload,
		s.checkWorkload,
		s.checkRamp,
		s.checkSampling,
		s.checkLimits,
		s.checkThresholds,
		s.checkOnset,
		s.checkVariants,
		s.checkCrossSection,
	} {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func checkName(c *checker, path, name string) *Error {
	switch {
	case name == "":
		return c.errf(path, "not set (use lowercase letters, digits and '-', e.g. local-bulk)")
	case !nameRE.MatchString(name):
		return c.errf(path, "%s is not a valid name: use lowercase letters, digits and '-', starting with a letter or digit (it becomes part of run directory names)", quote(name))
	case len(name) > maxNameLen:
		return c.errf(path, "%d characters is too long: use at most %d (it becomes part of run directory names)", len(name), maxNameLen)
	}
	return nil
}

func (s *Scenario) checkName(c *checker) *Error { return checkName(c, "name", s.Name) }

func (s *Scenario) checkTarget(c *checker) *Error {
	t := &s.Target
	switch t.Kind {
	case "":
		return c.errf("target.kind", "not set (use testnet, relay or socks)")
	case TargetTestnet, TargetRelay, TargetSocks:
	default:
		return c.errf("target.kind", "%s is not a target kind (use testnet, relay or socks)", quote(string(t.Kind)))
	}
	switch {
	case t.Kind == TargetSocks && t.Role != "":
		return c.errf("target.role", "not used with target.kind socks (the tor behind the SOCKS port picks its own paths); remove it")
	case t.Kind == TargetSocks:
	case t.Role == "":
		return c.errf("target.role", "not set (use bridge, entry or middle: how relaybench's tor clients use the relay under test)")
	case t.Role != RoleBridge && t.Role != RoleEntry && t.Role != RoleMiddle:
		return c.errf("target.role", "%s is not a role (use bridge, entry or middle)", quote(string(t.Role)))
	}
	for _, sec := range []struct {
		kind TargetKind
		set  bool
	}{{TargetTestnet, t.Testnet != nil}, {TargetRelay, t.Relay != nil}, {TargetSocks, t.Socks != nil}} {
		if sec.set && sec.kind != t.Kind {
			return c.errf("target."+string(sec.kind), "only used with target.kind %s; remove it or change target.kind", sec.kind)
		}
	}
	switch t.Kind {
	case TargetTestnet:
		tn := t.Testnet
		if tn == nil {
			tn = &TestnetTarget{}
		}
		if err := checkTorrc(c, "target.testnet.torrc", tn.Torrc); err != nil {
			return err
		}
		return checkNofile(c, "target.testnet.nofile", tn.Nofile, "", tn.Torrc)
	case TargetRelay:
		return s.checkRelay(c)
	default:
		return s.checkSocks(c)
	}
}

// managedTorrc lists options that relaybench sets itself for the relay under
// test in the test network, by lower-case name, with a hint for the user.
var managedTorrc = map[string]string{
	"datadirectory": "", "nickname": "", "orport": "", "dirport": "",
	"socksport": "", "controlport": "", "metricsport": "",
	"testingtornetwork": "", "dirauthority": "", "runasdaemon": "",
	"bridgerelay": " (target.role chooses bridge, entry or middle)",
}

func managed(option string) bool {
	_, ok := managedTorrc[option]
	return ok
}

var torOptionRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkTorrc(c *checker, path string, torrc map[string]string) *Error {
	keys := make([]string, 0, len(torrc))
	for k := range torrc {
		keys = append(keys, k)
	}
	// File order, so that the first problem in the file is reported.
	sort.SliceStable(keys, func(i, j int) bool {
		li, lj := c.idx.lineOf(path+"."+keys[i]), c.idx.lineOf(path+"."+keys[j])
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	seen := map[string]string{}
	for _, k := range keys {
		p := path + "." + k
		lk := strings.ToLower(k)
		switch {
		case !torOptionRE.MatchString(k):
			return c.errf(p, "%s is not a tor option name (letters, digits and '_', e.g. BandwidthRate)", quote(k))
		case managed(lk):
			return c.errf(p, "set by relaybench for the test network and cannot be overridden; remove it%s", managedTorrc[lk])
		case seen[lk] != "":
			return c.errf(p, "same option as %s (tor option names are case-insensitive); keep one", seen[lk])
		case strings.ContainsAny(torrc[k], "\r\n"):
			return c.errf(p, "the value spans several lines; a torrc value must be a single line")
		}
		seen[lk] = k
	}
	return nil
}

// connLimit returns tor's effective ConnLimit from torrc overrides, later
// maps winning, and whether it is known.
func connLimit(torrcs ...map[string]string) (int, bool) {
	limit := defaultTorConnLimit
	for _, torrc := range torrcs {
		for k, v := range torrc {
			if strings.EqualFold(k, "ConnLimit") {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return 0, false // tor itself will complain
				}
				limit = n
			}
		}
	}
	return limit, true
}

// checkNofile checks an open-files limit against tor's ConnLimit. from names
// the field the value was inherited from, if any.
func checkNofile(c *checker, path string, nofile int, from string, torrcs ...map[string]string) *Error {
	if nofile == 0 {
		return nil
	}
	if nofile < 0 {
		return c.errf(path, "%d is negative; use a positive open-files limit, or remove it to keep relaybench's own", nofile)
	}
	if limit, ok := connLimit(torrcs...); ok && nofile < limit {
		if from != "" {
			from = " (from " + from + ")"
		}
		return c.errf(path, "%d%s is below tor's ConnLimit (%d): tor refuses to start with fewer open files than ConnLimit; raise nofile or lower ConnLimit in torrc", nofile, from, limit)
	}
	return nil
}

// checkPlaceholder reports a value still holding the example files'
// placeholder.
func checkPlaceholder(c *checker, path, value, what string) *Error {
	if strings.Contains(value, placeholder) {
		return c.errf(path, "still the example's %s placeholder: replace it with %s", placeholder, what)
	}
	return nil
}

var fingerprintRE = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)

func (s *Scenario) checkRelay(c *checker) *Error {
	r := s.Target.Relay
	if r == nil {
		r = &RelayTarget{}
	}
	if s.Target.Role == RoleBridge {
		if r.Fingerprint != "" {
			return c.errf("target.relay.fingerprint", "not used with role bridge (the fingerprint is part of bridge_line); remove it")
		}
		if r.BridgeLine == "" {
			return c.errf("target.relay.bridge_line", `not set (role bridge needs the bridge's "ADDR:PORT FINGERPRINT")`)
		}
		if err := checkPlaceholder(c, "target.relay.bridge_line", r.BridgeLine,
			`your bridge's "ADDR:PORT FINGERPRINT" (its ORPort address and the fingerprint from its DataDirectory/fingerprint file)`); err != nil {
			return err
		}
		if err := checkBridgeLine(c, "target.relay.bridge_line", r.BridgeLine); err != nil {
			return err
		}
	} else {
		if r.BridgeLine != "" {
			return c.errf("target.relay.bridge_line", "only used with role bridge; remove it and set fingerprint")
		}
		if r.Fingerprint == "" {
			return c.errf("target.relay.fingerprint", "not set (role %s needs the relay's 40 hex digit fingerprint)", s.Target.Role)
		}
		if err := checkPlaceholder(c, "target.relay.fingerprint", r.Fingerprint,
			"your relay's 40 hex digit fingerprint (from its DataDirectory/fingerprint file)"); err != nil {
			return err
		}
		if !fingerprintRE.MatchString(r.Fingerprint) {
			return c.errf("target.relay.fingerprint", "%s is not a relay fingerprint: use the 40 hex digits from the relay's DataDirectory/fingerprint file, without spaces or '$'", quote(r.Fingerprint))
		}
	}
	if r.MetricsURL != "" {
		if err := checkPlaceholder(c, "target.relay.metrics_url", r.MetricsURL,
			"your relay's MetricsPort URL, or remove the line"); err != nil {
			return err
		}
		return checkHTTPURL(c, "target.relay.metrics_url", r.MetricsURL, "http://127.0.0.1:9035/metrics")
	}
	return nil
}

func checkBridgeLine(c *checker, path, line string) *Error {
	fields := strings.Fields(line)
	if len(fields) > 0 && strings.EqualFold(fields[0], "bridge") {
		fields = fields[1:]
	}
	if len(fields) >= 1 && !strings.Contains(fields[0], ":") && len(fields) >= 3 {
		return c.errf(path, "pluggable-transport bridge lines (%s ...) are not supported; use the bridge's plain ORPort line \"ADDR:PORT FINGERPRINT\"", quote(fields[0]))
	}
	bad := func() *Error {
		return c.errf(path, `%s is not a bridge line: use "ADDR:PORT FINGERPRINT", e.g. "203.0.113.5:443 0123456789ABCDEF0123456789ABCDEF01234567"`, quote(line))
	}
	if len(fields) != 2 || !fingerprintRE.MatchString(fields[1]) {
		return bad()
	}
	ap, err := netip.ParseAddrPort(fields[0])
	if err != nil || ap.Port() == 0 {
		return bad()
	}
	return nil
}

func checkHTTPURL(c *checker, path, raw, example string) *Error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return c.errf(path, "%s is not an http(s) URL (use e.g. %s)", quote(raw), example)
	}
	return nil
}

func (s *Scenario) checkSocks(c *checker) *Error {
	so := s.Target.Socks
	if so == nil {
		so = &SocksTarget{}
	}
	if len(so.Addresses) == 0 {
		return c.errf("target.socks.addresses", "not set (list tor SocksPort addresses, e.g. [127.0.0.1:9050])")
	}
	seen := map[string]int{}
	for i, a := range so.Addresses {
		p := fmt.Sprintf("target.socks.addresses[%d]", i)
		if err := checkPlaceholder(c, p, a, "your tor's SocksPort address"); err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return c.errf(p, "%s is not a HOST:PORT address (use e.g. 127.0.0.1:9050)", quote(a))
		}
		if j, dup := seen[a]; dup {
			return c.errf(p, "%s is already listed as target.socks.addresses[%d]; remove one", a, j)
		}
		seen[a] = i
	}
	for i, u := range so.MetricsURLs {
		if err := checkHTTPURL(c, fmt.Sprintf("target.socks.metrics_urls[%d]", i), u, "http://127.0.0.1:9035/metrics"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) checkClients(c *checker) *Error {
	if s.Target.Kind == TargetSocks {
		if s.Clients != 0 {
			return c.errf("clients", "must be 0 or absent with target.kind socks (relaybench starts no tor clients; it uses target.socks.addresses)")
		}
		return nil
	}
	if s.Clients < 1 {
		return c.errf("clients", "%d is too few: use at least 1 tor client (default %d)", s.Clients, defaultClients)
	}
	return nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func (s *Scenario) checkPayload(c *checker) *Error {
	p := s.Payload
	if s.Target.Kind == TargetRelay {
		if p.URL == "" {
			return c.errf("payload.url", "not set (target.kind relay needs the http(s) URL of a large file reachable through Tor exits)")
		}
		if err := checkPlaceholder(c, "payload.url", p.URL,
			"the URL of a large file you may download repeatedly through Tor"); err != nil {
			return err
		}
		if err := checkHTTPURL(c, "payload.url", p.URL, "https://example.org/10MiB.bin"); err != nil {
			return err
		}
		host := mustHostname(p.URL)
		if a, err := netip.ParseAddr(host); isLoopbackHost(host) || (err == nil &&
			(a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified())) {
			return c.errf("payload.url", "%s is a local or private address, which Tor exits refuse to connect to; use a public URL", quote(host))
		}
	} else if p.URL != "" {
		if err := checkHTTPURL(c, "payload.url", p.URL, "http://127.0.0.1:8080/payload"); err != nil {
			return err
		}
		if !isLoopbackHost(mustHostname(p.URL)) {
			return c.errf("payload.url", "%s is not a loopback URL: with target.kind %s the payload must come from this machine (127.0.0.1, ::1 or localhost); leave url empty for the built-in payload server", quote(p.URL), s.Target.Kind)
		}
	}
	if p.Size <= 0 {
		return c.errf("payload.size", "must be more than 0 bytes")
	}
	return nil
}

// mustHostname returns the host of an URL already checked by checkHTTPURL.
func mustHostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (s *Scenario) checkWorkload(c *checker) *Error {
	w := s.Workload
	switch w.Kind {
	case "":
		return c.errf("workload.kind", "not set (use bulk, churn or slow-readers)")
	case WorkloadBulk, WorkloadChurn, WorkloadSlowReaders:
	default:
		return c.errf("workload.kind", "%s is not a workload kind (use bulk, churn or slow-readers)", quote(string(w.Kind)))
	}
	if w.Isolation != IsolationStream && w.Isolation != IsolationWorker {
		return c.errf("workload.isolation", "%s is not an isolation mode (use stream or worker)", quote(string(w.Isolation)))
	}
	if w.Kind == WorkloadSlowReaders && w.ReadRate <= 0 {
		return c.errf("workload.read_rate", "not set (slow-readers needs a per-stream read cap, e.g. 64KiB/s)")
	}
	if w.Kind != WorkloadSlowReaders && w.ReadRate != 0 {
		return c.errf("workload.read_rate", "only used with workload.kind slow-readers; remove it")
	}
	return nil
}

func (s *Scenario) checkRamp(c *checker) *Error {
	r := s.Ramp
	if len(r.Steps) == 0 {
		return c.errf("ramp.steps", "not set (list increasing load levels, e.g. [1, 2, 4, 8])")
	}
	for i, n := range r.Steps {
		p := fmt.Sprintf("ramp.steps[%d]", i)
		if n < 1 {
			return c.errf(p, "%d is not a load level: every step must be 1 or more", n)
		}
		if i > 0 && n <= r.Steps[i-1] {
			return c.errf(p, "%d does not exceed the previous step (%d): steps must be strictly increasing", n, r.Steps[i-1])
		}
	}
	if r.StepDuration < minStepDuration {
		return c.errf("ramp.step_duration", "%s is too short: use at least %s", r.StepDuration, minStepDuration)
	}
	if r.Warmup >= r.StepDuration || r.Warmup < 0 {
		return c.errf("ramp.warmup", "%s leaves no time to measure in a %s step (ramp.step_duration); make it shorter", r.Warmup, r.StepDuration)
	}
	return nil
}

func (s *Scenario) checkSampling(c *checker) *Error {
	sa := s.Sampling
	if sa.Interval < minInterval || sa.Interval > maxInterval {
		return c.errf("sampling.interval", "%s is out of range: use %s to %s", sa.Interval, minInterval, maxInterval)
	}
	if sa.Interval > s.Ramp.StepDuration {
		return c.errf("sampling.interval", "%s is longer than ramp.step_duration (%s), so steps would get no samples; lower it", sa.Interval, s.Ramp.StepDuration)
	}
	for i, u := range sa.MetricsURLs {
		if err := checkHTTPURL(c, fmt.Sprintf("sampling.metrics_urls[%d]", i), u, "http://127.0.0.1:9035/metrics"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) checkLimits(c *checker) *Error {
	l := s.Limits
	if l.MaxDuration <= 0 {
		return c.errf("limits.max_duration", "must be more than 0s")
	}
	if l.MaxBytes <= 0 {
		return c.errf("limits.max_bytes", "must be more than 0 bytes")
	}
	return nil
}

// isFraction reports whether 0 <= f <= 1 (false for NaN).
func isFraction(f float64) bool { return f >= 0 && f <= 1 }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (s *Scenario) checkThresholds(c *checker) *Error {
	t := s.Thresholds
	if t.MinCapacity != nil && *t.MinCapacity <= 0 {
		return c.errf("thresholds.min_capacity", "must be more than 0B/s; remove it for no capacity gate")
	}
	if t.MaxP95TTFB != nil && *t.MaxP95TTFB <= 0 {
		return c.errf("thresholds.max_p95_ttfb", "must be more than 0s; remove it for no latency gate")
	}
	if t.MaxErrorRate != nil && !isFraction(*t.MaxErrorRate) {
		return c.errf("thresholds.max_error_rate", "%s is not a fraction between 0 and 1 (0.01 = 1%% of requests)", ftoa(*t.MaxErrorRate))
	}
	if n := t.NoOverloadBeforeStep; n != nil && (*n < 1 || *n > len(s.Ramp.Steps)) {
		return c.errf("thresholds.no_overload_before_step", "%d is not a step: ramp.steps has %d, numbered from 1; use 1 to %d", *n, len(s.Ramp.Steps), len(s.Ramp.Steps))
	}
	return nil
}

func (s *Scenario) checkOnset(c *checker) *Error {
	o := s.Onset
	if !(o.SaturationGain > 0 && o.SaturationGain < 1) {
		return c.errf("onset.saturation_gain", "%s is out of range: use a fraction above 0 and below 1 (0.10 = goodput grew less than 10%% while offered load doubled)", ftoa(o.SaturationGain))
	}
	if !(o.LatencyFactor > 1) || math.IsInf(o.LatencyFactor, 1) {
		return c.errf("onset.latency_factor", "%s is out of range: use a factor above 1 (2.0 = p95 time to first byte doubled compared with the first step)", ftoa(o.LatencyFactor))
	}
	if !(o.ConnectFactor > 1) || math.IsInf(o.ConnectFactor, 1) {
		return c.errf("onset.connect_factor", "%s is out of range: use a factor above 1 (2.0 = p95 SOCKS connect time doubled compared with the first step)", ftoa(o.ConnectFactor))
	}
	if !isFraction(o.ErrorRate) {
		return c.errf("onset.error_rate", "%s is not a fraction between 0 and 1 (0.01 = 1%% of requests failed)", ftoa(o.ErrorRate))
	}
	if !(o.SocketFraction > 0 && o.SocketFraction <= 1) {
		return c.errf("onset.socket_fraction", "%s is out of range: use a fraction above 0 and at most 1 (0.90 = 90%% of the relay's socket limit in use)", ftoa(o.SocketFraction))
	}
	return nil
}

func (s *Scenario) checkVariants(c *checker) *Error {
	if s.Repetitions < 1 {
		return c.errf("repetitions", "%d is too few: run the ramp at least once (default 1)", s.Repetitions)
	}
	seen := map[string]int{}
	var baseTorrc map[string]string
	if s.Target.Testnet != nil {
		baseTorrc = s.Target.Testnet.Torrc
	}
	for i, v := range s.Variants {
		p := fmt.Sprintf("variants[%d]", i)
		if err := checkName(c, p+".name", v.Name); err != nil {
			return err
		}
		if j, dup := seen[v.Name]; dup {
			return c.errf(p+".name", "%s is already the name of variants[%d]; variant names must be unique", quote(v.Name), j)
		}
		seen[v.Name] = i
		if s.Target.Kind != TargetTestnet {
			if len(v.Torrc) > 0 {
				return c.errf(p+".torrc", "only possible with target.kind testnet (relaybench does not configure a tor it did not start); use setup and teardown commands instead")
			}
			if v.Nofile != 0 {
				return c.errf(p+".nofile", "only possible with target.kind testnet (relaybench does not configure a tor it did not start); use setup and teardown commands instead")
			}
		}
		if err := checkTorrc(c, p+".torrc", v.Torrc); err != nil {
			return err
		}
		nofile, from := v.Nofile, ""
		if nofile == 0 && s.Target.Testnet != nil {
			nofile, from = s.Target.Testnet.Nofile, "target.testnet.nofile"
		}
		if err := checkNofile(c, p+".nofile", nofile, from, baseTorrc, v.Torrc); err != nil {
			return err
		}
		for _, list := range []struct {
			name string
			cmds []string
		}{{"setup", v.Setup}, {"teardown", v.Teardown}} {
			for j, cmd := range list.cmds {
				if strings.TrimSpace(cmd) == "" {
					return c.errf(fmt.Sprintf("%s.%s[%d]", p, list.name, j), "empty command; remove it")
				}
			}
		}
		if v.Repetitions < 1 {
			return c.errf(p+".repetitions", "%d is too few: use at least 1, or remove it to inherit repetitions (%d)", v.Repetitions, s.Repetitions)
		}
	}
	return nil
}

// checkCrossSection checks rules relating fields of different sections,
// once each field is known to be valid on its own.
func (s *Scenario) checkCrossSection(c *checker) *Error {
	window := Duration(s.Ramp.MeasuredWindow())
	for _, t := range []struct {
		path, what string
		d, def     Duration
	}{
		{"workload.timeout", "a request that never gets its first byte", s.Workload.Timeout, s.Ramp.DefaultTimeout()},
		{"workload.stall_timeout", "a stream that stops receiving", s.Workload.StallTimeout, s.Ramp.DefaultStallTimeout()},
	} {
		// Checked here, after the ramp: the defaults derive from it.
		if t.d <= 0 {
			return c.errf(t.path, "must be more than 0s")
		}
		if t.d >= window {
			return c.errf(t.path, "%s is not shorter than a step's measured window (ramp.step_duration %s − ramp.warmup %s = %s): %s would be cut at the step's end instead of failing; lower it, or remove it for the default (%s here)",
				t.d, s.Ramp.StepDuration, s.Ramp.Warmup, window, t.what, t.def)
		}
	}
	if s.Payload.Size > s.Limits.MaxBytes {
		return c.errf("payload.size", "%s is more than limits.max_bytes (%s), so not even one request could finish; lower the size or raise the limit", s.Payload.Size, s.Limits.MaxBytes)
	}
	if planned := s.PlannedDuration(); time.Duration(s.Limits.MaxDuration) < planned {
		runs := ""
		if n := s.Runs(); n > 1 {
			runs = fmt.Sprintf(" × %d runs", n)
		}
		return c.errf("limits.max_duration", "%s is shorter than the planned ramp time of %s (%d steps × %s%s); raise it or shorten the ramp",
			s.Limits.MaxDuration, Duration(planned), len(s.Ramp.Steps), s.Ramp.StepDuration, runs)
	}
	return nil
}
