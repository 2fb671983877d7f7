package scenarios

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults that do not depend on other fields. They are filled in before
// decoding (as blackbox_exporter does), so an explicit value, even 0s,
// always wins over a default.
const (
	// derived marks a default that depends on other fields (the ramp):
	// applyKindDefaults replaces it. A file cannot hold it, as durations
	// cannot be negative, so an explicit value still wins.
	derived               = Duration(-1)
	derivedBytes          = ByteSize(-1) // derived for byte sizes
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

// Upper bounds, checked by validation before anything starts. Each is well
// above what a benchmark needs on a big load machine and far below what
// exhausts memory, file descriptors or tor processes, or overflows the
// run's arithmetic; values beyond them are typos (a wrong unit, a digit too
// many). The field comments in scenario.go give each bound with its reason.
const (
	// maxClients: each client is a tor process (~30-50 MB, a data
	// directory, ports, a bootstrap). One per core of the largest load
	// machines is the most that helps: tor relays cells on one thread.
	maxClients = 128
	// maxStreams: each concurrent stream holds a socket (two with the
	// built-in payload server) and ~100 KiB in relaybench (a 64 KiB read
	// buffer, three goroutines), plus a circuit in a tor client: 100,000
	// is ~10 GiB and 200,000 descriptors, which a big machine holds.
	maxStreams = 100_000
	// maxChurnRate: each request builds a new circuit, and a tor client
	// completes a few hundred circuit builds a second, so 10,000 req/s
	// needs all maxClients clients; the runner keeps at most 10,000
	// requests in flight, and vegeta's pacer breaks near 1e9/s.
	maxChurnRate = 10_000
	// maxSteps: reports draw one point per step; a longer ramp is a
	// generated list gone wrong.
	maxSteps = 1_000
	// maxRepetitions: statistics need 5-20 independent repetitions; each
	// starts its own tor processes (a bootstrap that the planned duration
	// does not count) and keeps its logs.
	maxRepetitions = 100
	// maxVariants: variants are ranked in one table; more arms is a
	// parameter sweep for a script running relaybench.
	maxVariants = 64
	// maxEndpoints bounds socks.addresses and each list of metrics URLs:
	// each is a tor behind (as clients are) or an endpoint scraped every
	// sampling interval.
	maxEndpoints = 128
	// maxNofile is Linux's default fs.nr_open, the most RLIMIT_NOFILE can
	// be raised to without a sysctl; above it tor cannot be started.
	maxNofile = 1 << 20
	// maxPayloadSize: the built-in payload server serves at most 1 GiB per
	// request, and a request must finish within a step to be measured.
	maxPayloadSize = ByteSize(1 << 30)
	// maxMaxBytes: a day (maxRunDuration) at 100 Gbit/s is about 1 PB.
	maxMaxBytes = ByteSize(1 << 50)
	// maxReadRate: a slow reader above 1 GiB/s is not slow; no Tor stream
	// is that fast (the circuit's congestion window bounds it).
	maxReadRate = Rate(1 << 30)
	// maxCapacity: 16 GiB/s (~137 Gbit/s) is more than a load machine's
	// network interfaces or a tor process can carry.
	maxCapacity = Rate(16 << 30)
	// maxTimeout: a request held longer than an hour is a stalled stream,
	// which the timeout exists to count.
	maxTimeout = Duration(time.Hour)
	// maxStepDuration: a load level held longer than an hour is a soak
	// test; each step keeps per-second counters in memory.
	maxStepDuration = Duration(time.Hour)
	// maxRunDuration: raw records are streamed to disk, one line per
	// request; a day at maxChurnRate is ~200 GB.
	maxRunDuration = Duration(24 * time.Hour)
	// maxLatencyFactor: above this the latency rule never trips before
	// requests time out (1000 × a 50 ms first-step p95 is 50 s).
	maxLatencyFactor = 1000.0
	// maxDescriptionLen: the description is a line in report headers.
	maxDescriptionLen = 1000
)

// defaultScenario returns a scenario with every field-independent default.
func defaultScenario() *Scenario {
	return &Scenario{
		Workload: Workload{Isolation: IsolationStream, Timeout: derived, StallTimeout: derived},
		Ramp:     Ramp{StepDuration: defaultStepDuration, Warmup: defaultWarmup},
		Sampling: Sampling{Interval: defaultInterval},
		Limits:   Limits{MaxDuration: derived, MaxBytes: derivedBytes},
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
	if s.Limits.MaxDuration == derived {
		s.Limits.MaxDuration = defaultMaxDuration
		if s.Target.Kind == TargetRelay {
			s.Limits.MaxDuration = RelayMaxDuration
		}
	}
	if s.Limits.MaxBytes == derivedBytes {
		s.Limits.MaxBytes = defaultMaxBytes
		if s.Target.Kind == TargetRelay {
			s.Limits.MaxBytes = RelayMaxBytes
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
		t.applyDefaults()
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
	file string
	pos  positions
}

func (c *checker) errf(path, format string, args ...any) *Error {
	at := c.pos.of(path)
	return &Error{File: c.file, Line: at.line, Column: at.column, Field: path, Msg: fmt.Sprintf(format, args...)}
}

// checkOneOf checks that the value v at path is set and one of valid (a
// what, e.g. "a target kind"); its messages list the valid values.
func checkOneOf[T ~string](c *checker, path, what string, v T, valid ...T) *Error {
	names := make([]string, len(valid))
	for i, s := range valid {
		names[i] = string(s)
	}
	use := "use " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	switch {
	case v == "":
		return c.errf(path, "not set (%s)", use)
	case !slices.Contains(valid, v):
		return c.errf(path, "%s is not %s (%s)", quote(string(v)), what, use)
	}
	return nil
}

// validate checks the rules in file order, then the rules that relate
// fields from different sections, and returns the first problem.
func (s *Scenario) validate(file string, pos positions) *Error {
	c := &checker{file: file, pos: pos}
	for _, check := range []func(*checker) *Error{
		s.checkName,
		s.checkTarget,
		s.checkClients,
		s.checkPayload,
		s.checkWorkload,
		s.checkRamp,
		s.checkSampling,
		s.checkLimits,
		s.checkCircuitCap,
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

func (s *Scenario) checkName(c *checker) *Error {
	if err := checkName(c, "name", s.Name); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s.Description); n > maxDescriptionLen {
		return c.errf("description", "%d characters is too long: use at most %d (it is a line in report headers)", n, maxDescriptionLen)
	}
	if r, ok := controlChar(s.Description, ""); ok {
		return c.errf("description", "holds a control character (%U); reports print the description as is, so write plain text", r)
	}
	return nil
}

// controlChar returns the first control character in s other than those in
// allowed.
func controlChar(s, allowed string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) && !strings.ContainsRune(allowed, r) {
			return r, true
		}
	}
	return 0, false
}

func (s *Scenario) checkTarget(c *checker) *Error {
	t := &s.Target
	if err := checkOneOf(c, "target.kind", "a target kind", t.Kind, TargetTestnet, TargetRelay, TargetSocks); err != nil {
		return err
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
		if err := checkNofile(c, "target.testnet.nofile", tn.Nofile, "", tn.Torrc); err != nil {
			return err
		}
		return tn.check(c)
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
		pi, pj := c.pos.of(path+"."+fieldName(keys[i])), c.pos.of(path+"."+fieldName(keys[j]))
		if pi.line != pj.line {
			return pi.line < pj.line
		}
		return keys[i] < keys[j]
	})
	seen := map[string]string{}
	for _, k := range keys {
		p := path + "." + fieldName(k)
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
		if r, ok := controlChar(torrc[k], "\t"); ok {
			return c.errf(p, "the value holds a control character (%U); tor reads its torrc as plain text", r)
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
	if nofile > maxNofile {
		return c.errf(path, "%d is too large: use at most %d (Linux's default fs.nr_open, the most an open-files limit can be raised to; tor would not start)", nofile, maxNofile)
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
		if err := checkHTTPURL(c, "target.relay.metrics_url", r.MetricsURL, "http://127.0.0.1:9035/metrics"); err != nil {
			return err
		}
	}
	if err := checkControlPort(c, r); err != nil {
		return err
	}
	self := r.Fingerprint
	if f := strings.Fields(r.BridgeLine); len(f) > 0 {
		self = f[len(f)-1]
	}
	if len(r.MiddleNodes) > 0 && s.Target.Role == RoleMiddle {
		return c.errf("target.relay.middle_nodes", "not used with role middle (the relay under test is the middle hop); remove it, or use exit_nodes")
	}
	for _, l := range []struct {
		path string
		fps  []string
	}{{"target.relay.exit_nodes", r.ExitNodes}, {"target.relay.middle_nodes", r.MiddleNodes}} {
		if err := checkNodeList(c, l.path, l.fps, self); err != nil {
			return err
		}
	}
	return nil
}

// checkControlPort checks target.relay.control_port and control_cookie.
func checkControlPort(c *checker, r *RelayTarget) *Error {
	if r.ControlPort == "" {
		if r.ControlCookie != "" {
			return c.errf("target.relay.control_cookie", "only used with target.relay.control_port; set that too, or remove it")
		}
		return nil
	}
	const path = "target.relay.control_port"
	if err := checkPlaceholder(c, path, r.ControlPort, "your relay's ControlPort as 127.0.0.1:PORT, or remove the line"); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(r.ControlPort)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return c.errf(path, "%s is not a HOST:PORT address (use e.g. 127.0.0.1:9051)", quote(r.ControlPort))
	}
	if !isLoopbackHost(host) {
		return c.errf(path, "%s is not a loopback address: the control protocol is not encrypted, so reach a remote relay's ControlPort through an SSH tunnel (ssh -N -L 9051:127.0.0.1:9051 RELAYHOST) and give 127.0.0.1:9051", quote(r.ControlPort))
	}
	if r.ControlCookie != "" {
		if err := checkPlaceholder(c, "target.relay.control_cookie", r.ControlCookie, "the path of a copy of your relay's control_auth_cookie, or remove the line"); err != nil {
			return err
		}
		if r, ok := controlChar(r.ControlCookie, ""); ok {
			return c.errf("target.relay.control_cookie", "holds a control character (%U); give the path of a copy of the relay's control_auth_cookie", r)
		}
	}
	return nil
}

// checkNodeList checks a list of relay fingerprints for ExitNodes or
// MiddleNodes: each one well-formed, none twice, none the relay under
// test (self).
func checkNodeList(c *checker, path string, fps []string, self string) *Error {
	seen := map[string]int{}
	for i, fp := range fps {
		p := fmt.Sprintf("%s[%d]", path, i)
		if err := checkPlaceholder(c, p, fp, "a relay's 40 hex digit fingerprint"); err != nil {
			return err
		}
		if !fingerprintRE.MatchString(fp) {
			return c.errf(p, "%s is not a relay fingerprint: use the 40 hex digits (as Relay Search shows them), without spaces or '$'", quote(fp))
		}
		up := strings.ToUpper(fp)
		if strings.EqualFold(fp, self) {
			return c.errf(p, "%s is the relay under test: tor never puts a relay twice in a circuit, so every circuit would fail; list other relays", quote(fp))
		}
		if j, dup := seen[up]; dup {
			return c.errf(p, "%s is already listed as %s[%d]; remove one", quote(fp), path, j)
		}
		seen[up] = i
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
	if len(so.Addresses) > maxEndpoints {
		return c.errf("target.socks.addresses", "%d addresses is too many: use at most %d", len(so.Addresses), maxEndpoints)
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
		if !so.AllowRemote && !isLoopbackHost(host) {
			return c.errf(p, "%s is not a loopback address: relaybench sends load only to this machine (127.0.0.1, ::1 or localhost) unless target.socks.allow_remote is true", quote(a))
		}
		if j, dup := seen[a]; dup {
			return c.errf(p, "%s is already listed as target.socks.addresses[%d]; remove one", a, j)
		}
		seen[a] = i
	}
	return checkMetricsURLs(c, "target.socks.metrics_urls", so.MetricsURLs, !so.AllowRemote,
		"relaybench scrapes only this machine unless target.socks.allow_remote is true")
}

// checkMetricsURLs checks a list of MetricsPort URLs; with loopbackOnly each
// must be on this machine, for the reason given by why.
func checkMetricsURLs(c *checker, path string, urls []string, loopbackOnly bool, why string) *Error {
	if len(urls) > maxEndpoints {
		return c.errf(path, "%d URLs is too many: use at most %d (each is scraped every sampling interval)", len(urls), maxEndpoints)
	}
	for i, u := range urls {
		p := fmt.Sprintf("%s[%d]", path, i)
		if err := checkHTTPURL(c, p, u, "http://127.0.0.1:9035/metrics"); err != nil {
			return err
		}
		if loopbackOnly && !isLoopbackHost(mustHostname(u)) {
			return c.errf(p, "%s is not a loopback URL (127.0.0.1, ::1 or localhost): %s", quote(u), why)
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
	if s.Clients > maxClients {
		return c.errf("clients", "%d is too many: use at most %d tor clients (each is a tor process; tor relays cells on one thread, so more clients than cores do not add load)", s.Clients, maxClients)
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
	if p.Size > maxPayloadSize {
		return c.errf("payload.size", "%s is too large: use at most %s per request (the built-in payload server's limit; a request must end within a step to be measured)", p.Size, maxPayloadSize)
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
	if err := checkOneOf(c, "workload.kind", "a workload kind", w.Kind, WorkloadBulk, WorkloadChurn, WorkloadSlowReaders); err != nil {
		return err
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
	if w.ReadRate > maxReadRate {
		return c.errf("workload.read_rate", "%s is too fast for a slow reader: use at most %s (no Tor stream is that fast)", w.ReadRate, maxReadRate)
	}
	// More than 0s and shorter than the measured window are checked with
	// the ramp (checkCrossSection): the default derives from it.
	if w.Timeout > maxTimeout {
		return c.errf("workload.timeout", "%s is too long: use at most %s (a request held longer is a stalled stream, which the timeout exists to count)", w.Timeout, maxTimeout)
	}
	return nil
}

func (s *Scenario) checkRamp(c *checker) *Error {
	r := s.Ramp
	if len(r.Steps) == 0 {
		return c.errf("ramp.steps", "not set (list increasing load levels, e.g. [1, 2, 4, 8])")
	}
	if len(r.Steps) > maxSteps {
		return c.errf("ramp.steps", "%d steps is too many: use at most %d (reports draw a point per step)", len(r.Steps), maxSteps)
	}
	limit, unit, why := maxStreams, "concurrent streams", "each stream holds sockets and ~100 KiB of memory in relaybench, and a circuit in a tor client"
	if s.Workload.Kind == WorkloadChurn {
		limit, unit, why = maxChurnRate, "requests/s", "each request builds a new circuit, and a tor client builds a few hundred a second"
	}
	for i, n := range r.Steps {
		p := fmt.Sprintf("ramp.steps[%d]", i)
		if n < 1 {
			return c.errf(p, "%d is not a load level: every step must be 1 or more", n)
		}
		if n > limit {
			return c.errf(p, "%d %s is too many: use at most %d (%s)", n, unit, limit, why)
		}
		if i > 0 && n <= r.Steps[i-1] {
			return c.errf(p, "%d does not exceed the previous step (%d): steps must be strictly increasing", n, r.Steps[i-1])
		}
	}
	if r.StepDuration < minStepDuration {
		return c.errf("ramp.step_duration", "%s is too short: use at least %s", r.StepDuration, minStepDuration)
	}
	if r.StepDuration > maxStepDuration {
		return c.errf("ramp.step_duration", "%s is too long: use at most %s (a level held longer is a soak test; use repetitions)", r.StepDuration, maxStepDuration)
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
	switch s.Target.Kind {
	case TargetTestnet:
		return checkMetricsURLs(c, "sampling.metrics_urls", sa.MetricsURLs, true,
			"with target.kind testnet everything runs on this machine")
	case TargetSocks:
		allowRemote := s.Target.Socks != nil && s.Target.Socks.AllowRemote
		return checkMetricsURLs(c, "sampling.metrics_urls", sa.MetricsURLs, !allowRemote,
			"relaybench scrapes only this machine unless target.socks.allow_remote is true")
	default:
		return checkMetricsURLs(c, "sampling.metrics_urls", sa.MetricsURLs, false, "")
	}
}

func (s *Scenario) checkLimits(c *checker) *Error {
	l := s.Limits
	if l.MaxDuration <= 0 {
		return c.errf("limits.max_duration", "must be more than 0s")
	}
	if l.MaxDuration > maxRunDuration {
		return c.errf("limits.max_duration", "%s is too long: use at most %s (raw records are written to disk, one line per request)", l.MaxDuration, maxRunDuration)
	}
	if l.MaxBytes <= 0 {
		return c.errf("limits.max_bytes", "must be more than 0 bytes")
	}
	if l.MaxBytes > maxMaxBytes {
		return c.errf("limits.max_bytes", "%s is too large: use at most %s (a day at 100 Gbit/s is about 1 PB)", l.MaxBytes, maxMaxBytes)
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
	if t.MinCapacity != nil && *t.MinCapacity > maxCapacity {
		return c.errf("thresholds.min_capacity", "%s could never be reached: use at most %s (more than a load machine's network or a tor process carries)", *t.MinCapacity, maxCapacity)
	}
	if t.MaxP95TTFB != nil && *t.MaxP95TTFB <= 0 {
		return c.errf("thresholds.max_p95_ttfb", "must be more than 0s; remove it for no latency gate")
	}
	if t.MaxP95TTFB != nil && *t.MaxP95TTFB >= s.Workload.Timeout {
		return c.errf("thresholds.max_p95_ttfb", "%s could never fail: a request without a first byte by workload.timeout (%s) fails instead; use a shorter gate", *t.MaxP95TTFB, s.Workload.Timeout)
	}
	if t.MaxErrorRate != nil && !isFraction(*t.MaxErrorRate) {
		return c.errf("thresholds.max_error_rate", "%s is not a fraction between 0 and 1 (0.01 = 1%% of requests)", ftoa(*t.MaxErrorRate))
	}
	if f := t.MinCircuitSuccess; f != nil && !isFraction(*f) {
		return c.errf("thresholds.min_circuit_success", "%s is not a fraction between 0 and 1 (0.7 = 70%% of the circuits attempted were built)", ftoa(*f))
	}
	if t.MinCircuitSuccess != nil && s.Target.Kind == TargetSocks {
		return c.errf("thresholds.min_circuit_success", "needs relaybench's own tor clients to see circuits being built; a socks target has none: remove it, or use a testnet or relay target")
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
	if o.LatencyFactor > maxLatencyFactor {
		return c.errf("onset.latency_factor", "%s is out of range: use at most %s (beyond, requests time out before the rule could trip)", ftoa(o.LatencyFactor), ftoa(maxLatencyFactor))
	}
	if !(o.ConnectFactor > 1) || math.IsInf(o.ConnectFactor, 1) {
		return c.errf("onset.connect_factor", "%s is out of range: use a factor above 1 (2.0 = p95 SOCKS connect time doubled compared with the first step)", ftoa(o.ConnectFactor))
	}
	if o.ConnectFactor > maxLatencyFactor {
		return c.errf("onset.connect_factor", "%s is out of range: use at most %s (beyond, requests time out before the rule could trip)", ftoa(o.ConnectFactor), ftoa(maxLatencyFactor))
	}
	if !isFraction(o.ErrorRate) {
		return c.errf("onset.error_rate", "%s is not a fraction between 0 and 1 (0.01 = 1%% of requests failed)", ftoa(o.ErrorRate))
	}
	if !(o.SocketFraction > 0 && o.SocketFraction <= 1) {
		return c.errf("onset.socket_fraction", "%s is out of range: use a fraction above 0 and at most 1 (0.90 = 90%% of the relay's socket limit in use)", ftoa(o.SocketFraction))
	}
	if o.Abort {
		switch t := s.Target; {
		case t.Kind == TargetRelay && (t.Relay == nil || t.Relay.MetricsURL == ""):
			return c.errf("onset.abort", "needs the relay's MetricsPort to watch for its overload signals: set target.relay.metrics_url, or remove onset.abort")
		case t.Kind == TargetSocks && (t.Socks == nil || len(t.Socks.MetricsURLs) == 0):
			return c.errf("onset.abort", "needs the relay's MetricsPort to watch for its overload signals: set target.socks.metrics_urls, or remove onset.abort")
		}
	}
	return nil
}

func (s *Scenario) checkVariants(c *checker) *Error {
	if s.Repetitions < 1 {
		return c.errf("repetitions", "%d is too few: run the ramp at least once (default 1)", s.Repetitions)
	}
	if s.Repetitions > maxRepetitions {
		return c.errf("repetitions", "%d is too many: use at most %d (statistics need 5 to 20; each repetition starts its own tor processes)", s.Repetitions, maxRepetitions)
	}
	if len(s.Variants) > maxVariants {
		return c.errf("variants", "%d variants is too many: use at most %d (for a parameter sweep, run relaybench from a script)", len(s.Variants), maxVariants)
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
			if v.Tor != "" {
				return c.errf(p+".tor", "only possible with target.kind testnet (relaybench does not start the relay of a relay or socks target)")
			}
		}
		if err := checkTorBinary(c, p+".tor", v.Tor); err != nil {
			return err
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
				if r, ok := controlChar(cmd, "\t\n"); ok {
					return c.errf(fmt.Sprintf("%s.%s[%d]", p, list.name, j), "holds a control character (%U); write the command as plain text", r)
				}
			}
		}
		if v.Repetitions < 1 {
			return c.errf(p+".repetitions", "%d is too few: use at least 1, or remove it to inherit repetitions (%d)", v.Repetitions, s.Repetitions)
		}
		if v.Repetitions > maxRepetitions {
			return c.errf(p+".repetitions", "%d is too many: use at most %d (statistics need 5 to 20; each repetition starts its own tor processes)", v.Repetitions, maxRepetitions)
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
		dflt := ""
		if _, given := c.pos["limits.max_duration"]; !given && s.Target.Kind == TargetRelay && s.Limits.MaxDuration == RelayMaxDuration {
			dflt = " (the default for relay targets, which load other volunteers' relays)"
		}
		return c.errf("limits.max_duration", "%s%s is shorter than the planned ramp time of %s (%d steps × %s%s); raise it or shorten the ramp",
			s.Limits.MaxDuration, dflt, Duration(planned), len(s.Ramp.Steps), s.Ramp.StepDuration, runs)
	}
	return nil
}
