package scenarios

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"time"
)

// Scenario is one benchmark: a relay under test, a workload and a ramp of
// increasing offered load. Values returned by Parse, Load and Builtin are
// resolved: every default is filled in and every rule holds.
type Scenario struct {
	// Name identifies the scenario in run directory names and reports.
	// Required; lowercase letters, digits and '-', at most 64 characters.
	Name string `yaml:"name"`
	// Description is free text shown in reports: at most 1000 characters
	// (it is a line in report headers), no control characters (it is
	// printed to terminals as is).
	Description string `yaml:"description,omitempty"`
	// Target is the relay under test and how to reach it.
	Target Target `yaml:"target"`
	// Clients is the number of tor client processes relaybench starts to
	// generate load. Default 2 for testnet and relay targets; must be 0 for
	// socks targets, where the existing tor behind the SOCKS port is used.
	// At most 128: each is a tor process (~30-50 MB, a data directory,
	// ports and a bootstrap), and tor relays cells on one thread, so one
	// client per core of the largest load machines is the most that helps.
	Clients int `yaml:"clients"`
	// Payload is what each request downloads.
	Payload Payload `yaml:"payload"`
	// Workload is the kind of traffic generated.
	Workload Workload `yaml:"workload"`
	// Ramp is the sequence of load levels.
	Ramp Ramp `yaml:"ramp"`
	// Sampling controls how often metrics are collected.
	Sampling Sampling `yaml:"sampling"`
	// Limits are hard safety caps for the whole run.
	Limits Limits `yaml:"limits"`
	// Thresholds are optional CI gates; a run that misses one fails.
	Thresholds Thresholds `yaml:"thresholds,omitempty"`
	// Onset holds the thresholds used to decide at which step the relay
	// started to overload.
	Onset Onset `yaml:"onset"`
	// Repetitions is how often the whole ramp is run (per variant, unless
	// the variant overrides it). Default 1, at most 100: statistics need
	// 5 to 20 independent repetitions, and each starts its own tor
	// processes (a bootstrap the planned duration does not count).
	Repetitions int `yaml:"repetitions"`
	// Variants, if any, are A/B tuning arms measured one after the other
	// with the same ramp. A variant without overrides is the baseline. At
	// most 64: they are ranked in one table; more is a parameter sweep for
	// a script that runs relaybench.
	Variants []Variant `yaml:"variants,omitempty"`
}

// TargetKind says where the relay under test comes from.
type TargetKind string

// Target kinds.
const (
	// TargetTestnet is a local Tor test network that the run starts, with
	// the relay under test in it.
	TargetTestnet TargetKind = "testnet"
	// TargetRelay is a real relay or bridge on the real Tor network.
	TargetRelay TargetKind = "relay"
	// TargetSocks is one or more existing tor SocksPorts; relaybench starts
	// no tor and measures whatever path that tor picks.
	TargetSocks TargetKind = "socks"
)

// Role is the relay under test's place in the path of relaybench's tor
// clients: the one type for it, from target.role to the torrc of the
// clients chutney starts.
type Role string

// Roles.
const (
	// RoleBridge uses the relay as a bridge (UseBridges 1, Bridge line).
	RoleBridge Role = "bridge"
	// RoleEntry uses the relay as entry guard (EntryNodes).
	RoleEntry Role = "entry"
	// RoleMiddle uses the relay as middle hop (MiddleNodes).
	RoleMiddle Role = "middle"
)

// Target is the relay under test. Exactly the section matching Kind may be
// set; after Parse it is never nil.
type Target struct {
	// Kind is testnet, relay or socks. Required.
	Kind TargetKind `yaml:"kind"`
	// Role is bridge, entry or middle. Required for testnet and relay,
	// must be empty for socks.
	Role Role `yaml:"role,omitempty"`
	// Testnet configures the embedded local test network (kind testnet).
	Testnet *TestnetTarget `yaml:"testnet,omitempty"`
	// Relay identifies a real relay (kind relay).
	Relay *RelayTarget `yaml:"relay,omitempty"`
	// Socks lists existing SocksPorts (kind socks).
	Socks *SocksTarget `yaml:"socks,omitempty"`
}

// TestnetTarget configures the relay under test in the local test network.
type TestnetTarget struct {
	// Torrc holds torrc overrides for the relay under test, option name ->
	// value, e.g. BandwidthRate: 2 MBytes. Options that relaybench manages
	// (ports, DataDirectory, ...) cannot be overridden; a value is one line
	// without control characters (it is written into a torrc file).
	Torrc map[string]string `yaml:"torrc,omitempty"`
	// Nofile is the open-files limit (RLIMIT_NOFILE) for the relay under
	// test; 0 keeps the limit relaybench runs with. It must be at least
	// tor's ConnLimit (default 1000) or tor refuses to start, and at most
	// 1048576, Linux's default fs.nr_open: the most RLIMIT_NOFILE can be
	// raised to without a sysctl.
	Nofile int `yaml:"nofile,omitempty"`

	// CPU confines the relay under test to this many cores with a cgroup
	// CPU quota (e.g. 0.25), so that the relay, not the machine or the rest
	// of the network, is the limit. 0.05 up to the number of CPUs; 0 or
	// absent leaves it unconfined. Needs root (it writes cgroup files).
	CPU float64 `yaml:"cpu,omitempty"`
	// Memory limits the memory of the relay under test with a cgroup
	// (e.g. 512MiB), at least 64MiB; 0 or absent is no limit.
	Memory ByteSize `yaml:"memory,omitempty"`
	// Exits and Middles are how many exit and middle relays the embedded
	// network has besides the target, 1 to 8 each; 0 or absent means 1.
	// More of them keep the rest of the network from being the narrowest
	// hop.
	Exits   int `yaml:"exits,omitempty"`
	Middles int `yaml:"middles,omitempty"`
	// Tor is the tor executable of the relay under test, e.g. a build to
	// compare: an absolute path, or a command name looked up in PATH. Empty
	// means tor from PATH, as for the rest of the network.
	Tor string `yaml:"tor,omitempty"`
	// ConsensusParams are consensus parameters the network's authorities
	// vote, name -> value, over the live-like set relaybench votes by
	// default (chutney.LiveConsensusParams: tor's DoS defences enabled
	// with tor's defaults, as the live network's consensus enables them),
	// e.g. DoSCircuitCreationEnabled: 0 to switch the circuit creation
	// defence off, or DoSCircuitCreationRate: 2. Names are tor's exact
	// spelling (letters, digits, '_', '-'); a DoS parameter's value must
	// be in tor's range for it (scenarios.ConsensusParamRanges), any
	// other a 32-bit integer.
	ConsensusParams map[string]int `yaml:"consensus_params,omitempty"`
}

// RelayTarget identifies a relay on the real Tor network.
type RelayTarget struct {
	// BridgeLine is "ADDR:PORT FINGERPRINT" (a leading "Bridge" keyword
	// is allowed). Required for role bridge, forbidden otherwise.
	BridgeLine string `yaml:"bridge_line,omitempty"`
	// Fingerprint is the relay's 40 hex digit identity fingerprint.
	// Required for roles entry and middle, forbidden for bridge.
	Fingerprint string `yaml:"fingerprint,omitempty"`
	// MetricsURL is the relay's MetricsPort URL, if the operator exposes
	// one to relaybench. A run needs it or ControlPort as proof that the
	// operator runs the relay (see Proof below).
	MetricsURL string `yaml:"metrics_url,omitempty"`

	// Proof of operating the relay: before any tor client starts, a run
	// needs the relay's MetricsPort (MetricsURL, answering with tor_relay_*
	// metrics, which MetricsPortPolicy serves only to whom the operator
	// allows) or its ControlPort (ControlPort answering GETINFO fingerprint
	// with the target's fingerprint), unless `relaybench run
	// --skip-relay-proof`: a scenario must not load other people's relays.

	// ControlPort is the relay's ControlPort as HOST:PORT on loopback (the
	// control protocol is not encrypted: reach a remote relay through an
	// SSH tunnel). Optional.
	ControlPort string `yaml:"control_port,omitempty"`
	// ControlCookie is a local copy of the relay's control_auth_cookie
	// (CookieAuthentication 1), for the SAFECOOKIE handshake; without it
	// the password in the environment variable RELAYBENCH_CONTROL_PASSWORD
	// is used (HashedControlPassword), or else the cookie file the relay
	// names (a relay on this machine). Only with ControlPort.
	ControlCookie string `yaml:"control_cookie,omitempty"`

	// ExitNodes and MiddleNodes, when set, confine the exit and middle
	// hops of relaybench's circuits to these relays (fingerprints, 40 hex
	// digits), e.g. the operator's own relays or family, so that the test
	// loads no other volunteer's relays there: the clients' torrc gets
	// ExitNodes / MiddleNodes and StrictNodes 1. The exits must allow the
	// payload URL's port. MiddleNodes is not for role middle (the target is
	// the middle hop there). Neither may hold the target itself (tor never
	// puts a relay twice in a circuit).
	ExitNodes   []string `yaml:"exit_nodes,omitempty,flow"`
	MiddleNodes []string `yaml:"middle_nodes,omitempty,flow"`
}

// SocksTarget lists existing tor SocksPorts.
//
// Like a testnet target, a socks target is meant to stay on this machine:
// the payload comes from its loopback, so the exits of the network behind
// the SocksPorts must run here too. Addresses and metrics URLs (here and in
// sampling.metrics_urls) must therefore be loopback (127.0.0.0/8, ::1,
// localhost) unless AllowRemote is set.
type SocksTarget struct {
	// Addresses are HOST:PORT SocksPort addresses, 1 to 128 (each is a
	// tor relaybench sends load to, as clients are).
	Addresses []string `yaml:"addresses"`
	// MetricsURLs are MetricsPort URLs of the tor(s) behind the SOCKS
	// ports. Optional; at most 128.
	MetricsURLs []string `yaml:"metrics_urls,omitempty"`
	// AllowRemote, when true, allows addresses and metrics URLs that are
	// not loopback: relaybench then sends its load and scrapes across a
	// network, e.g. to a test network in network namespaces of this
	// machine. Set it only for hosts you run; the payload still comes
	// from this machine's loopback. Default false.
	AllowRemote bool `yaml:"allow_remote,omitempty"`
}

// Payload is what each request downloads.
type Payload struct {
	// URL of the object to download. For relay targets it is required and
	// must be reachable through Tor exits. For testnet and socks targets,
	// empty means relaybench's built-in loopback payload server; otherwise
	// it must be a loopback URL (127.0.0.0/8, ::1, localhost).
	URL string `yaml:"url,omitempty"`
	// Size is the object size per request. 0 or absent means 10MiB for
	// bulk and slow-readers, 64KiB for churn. At most 1GiB: the built-in
	// payload server serves no more per request, and a request must end
	// within a step to be measured.
	Size ByteSize `yaml:"size"`
}

// WorkloadKind is the kind of traffic generated.
type WorkloadKind string

// Workload kinds.
const (
	// WorkloadBulk keeps N streams downloading at full speed (throughput).
	WorkloadBulk WorkloadKind = "bulk"
	// WorkloadChurn opens N new requests per second (circuit and stream
	// setup cost).
	WorkloadChurn WorkloadKind = "churn"
	// WorkloadSlowReaders keeps N streams open reading at ReadRate each
	// (buffering and socket pressure).
	WorkloadSlowReaders WorkloadKind = "slow-readers"
)

// Isolation is how requests are spread over circuits.
type Isolation string

// Isolation modes.
const (
	// IsolationStream builds a new circuit per request (random SOCKS
	// credentials).
	IsolationStream Isolation = "stream"
	// IsolationWorker reuses one circuit per worker.
	IsolationWorker Isolation = "worker"
)

// Workload is the kind of traffic generated.
type Workload struct {
	// Kind is bulk, churn or slow-readers. Required.
	Kind WorkloadKind `yaml:"kind"`
	// Isolation is stream or worker. Default stream.
	Isolation Isolation `yaml:"isolation"`
	// ReadRate is the per-stream read cap. Required for slow-readers,
	// forbidden otherwise. At most 1GiB/s: a reader that fast is not slow,
	// and no Tor stream is that fast.
	ReadRate Rate `yaml:"read_rate,omitempty"`
	// Timeout bounds a request's wait for its first response byte, from
	// its start: the SOCKS connect (tor's circuit build and stream attach)
	// and the response. The body is bounded by StallTimeout and the step's
	// end instead, so a slow download is never a timeout. It must be
	// shorter than a step's measured window (Ramp.MeasuredWindow), so that
	// a request that hangs fails within its step instead of being cut at
	// its end. Default Ramp.DefaultTimeout; at most 1h.
	Timeout Duration `yaml:"timeout"`
	// StallTimeout ends a stream that received no byte for this long after
	// its request was written and records it as failed (class stall): a
	// stuck stream is a failure, a slow one is not. Shorter than the
	// measured window. Default Ramp.DefaultStallTimeout.
	StallTimeout Duration `yaml:"stall_timeout"`
}

// Ramp is the sequence of load levels, each held for StepDuration.
type Ramp struct {
	// Steps are the load levels: concurrent streams for bulk and
	// slow-readers, requests per second for churn. Strictly increasing
	// positive integers, 1 to 1000 of them (reports draw a point per step).
	//
	// A level is at most 100,000 streams: each holds a socket (two with
	// the built-in payload server) and ~100 KiB in relaybench, plus a
	// circuit in a tor client, so 100,000 streams take ~10 GiB and 200,000
	// file descriptors, which a big load machine has. A churn level is at
	// most 10,000 requests/s: each request builds a new circuit, a tor
	// client completes a few hundred builds a second (so 10,000/s needs
	// every one of the 128 clients allowed), and the runner keeps at most
	// 10,000 requests in flight.
	Steps []int `yaml:"steps,flow"`
	// StepDuration is how long each step lasts. Default 30s, 1s to 1h (a
	// level held longer is a soak test; each step keeps per-second
	// counters in memory).
	StepDuration Duration `yaml:"step_duration"`
	// Warmup is the start of each step excluded from its statistics.
	// Default 5s, shorter than StepDuration.
	Warmup Duration `yaml:"warmup"`
}

// MeasuredWindow is the part of each step the statistics describe:
// StepDuration less Warmup.
func (r Ramp) MeasuredWindow() time.Duration {
	return time.Duration(r.StepDuration - r.Warmup)
}

// DefaultTimeout is workload.timeout when the file does not set it: half
// the measured window, at most a minute. A request that started by the
// middle of the window and never got its first byte then fails within the
// step.
func (r Ramp) DefaultTimeout() Duration {
	return Duration(min(time.Minute, r.MeasuredWindow()/2))
}

// DefaultStallTimeout is workload.stall_timeout when the file does not set
// it: 5s, or half the measured window when that is shorter. A tor stream
// that is moving at all delivers a cell far more often than every 5s.
func (r Ramp) DefaultStallTimeout() Duration {
	return Duration(min(5*time.Second, r.MeasuredWindow()/2))
}

// Sampling controls metric collection.
type Sampling struct {
	// Interval between samples. Default 1s, 100ms to 60s, at most
	// Ramp.StepDuration.
	Interval Duration `yaml:"interval"`
	// MetricsURLs are extra MetricsPort URLs to scrape, at most 128. For
	// testnet targets the relay under test is added by the runner. With
	// testnet targets they must be loopback URLs (everything runs on this
	// machine), with socks targets too unless target.socks.allow_remote.
	MetricsURLs []string `yaml:"metrics_urls,omitempty"`
}

// Limits are hard caps that stop the run.
type Limits struct {
	// MaxDuration caps the whole run. Default 30m, 10m for relay targets
	// (RelayMaxDuration); must cover PlannedDuration; at most 24h (raw
	// records are streamed to disk, a line per request: a day of churn at
	// 10,000 req/s is ~200 GB).
	MaxDuration Duration `yaml:"max_duration"`
	// MaxBytes caps the bytes downloaded. Default 20GiB, 2GiB for relay
	// targets (RelayMaxBytes); at least Payload.Size; at most 1PiB (a day
	// at 100 Gbit/s is ~1 PB).
	MaxBytes ByteSize `yaml:"max_bytes"`
	// CircuitRate caps the new circuits per second that relaybench's load
	// opens from its client address: every request that needs a new
	// circuit (every request with stream isolation; a worker's first, or
	// one after its connection closed, with worker isolation) first takes a
	// token from one bucket that all tor clients of the run share, as they
	// share one source address. Relays count circuit creations per client
	// address (tor's DoS defence, DoSCircuitCreationRate 3/s with burst 90
	// on the live network once an address holds 3 connections) and refuse
	// an address that exceeds them for a long time; the cap keeps a run
	// under that. 0 is no cap. Default 2 for target.kind relay: two thirds
	// of tor's 3/s, because the clients' own circuits (preemptive,
	// timeout-learning, directory) take from the same bucket on the relay;
	// 0 for testnet and socks. At most 10000: the runner starts at most
	// 10,000 requests a second, so a higher cap could never hold one back.
	// A segmented run (--segment) applies it per worker: each worker is a
	// machine with an address of its own.
	CircuitRate float64 `yaml:"circuit_rate"`
	// CircuitBurst is the bucket's size: how many new circuits may open at
	// once before CircuitRate paces them (the bucket starts full). Default
	// 30 seconds of CircuitRate, rounded up (tor's burst is 30 s of its
	// rate: 90 at 3/s), so 60 for the relay default; 0 without a cap, and
	// it must then be 0 or absent. At least 1 with a cap; at most 100,000,
	// the most streams a step holds: a larger burst never paces a step.
	CircuitBurst int `yaml:"circuit_burst"`
}

// The limits of a relay target (target.kind relay) when the file sets
// none: a test on the live network loads other volunteers' middles and
// exits and a payload server, and raises the relay's advertised bandwidth
// for days (tor keeps the highest 10-second rate of the last 5 days).
const (
	// RelayMaxDuration: a ramp of 5 to 8 steps of 30 s to 1 min finds the
	// onset in under 10 minutes; longer is a soak test to set explicitly.
	RelayMaxDuration = Duration(10 * time.Minute)
	// RelayMaxBytes: 2 GiB is 200 downloads of 10 MiB, a few minutes at
	// the 5-15 MiB/s a single relay carries for one load machine, and what
	// a payload server on a small VPS may serve without a surprise bill.
	RelayMaxBytes = ByteSize(2 << 30)
)

// Thresholds are optional CI gates; nil means "no gate".
type Thresholds struct {
	// MinCapacity is the minimum measured capacity (peak goodput). At most
	// 16GiB/s (~137 Gbit/s), more than a load machine's network or a tor
	// process carries: a gate above it could never pass.
	MinCapacity *Rate `yaml:"min_capacity,omitempty"`
	// MaxP95TTFB is the maximum 95th percentile time to first byte.
	// Shorter than Workload.Timeout: a request without a first byte by
	// then fails, so a longer gate could never fail.
	MaxP95TTFB *Duration `yaml:"max_p95_ttfb,omitempty"`
	// MaxErrorRate is the maximum fraction (0..1) of failed requests.
	MaxErrorRate *float64 `yaml:"max_error_rate,omitempty"`
	// NoOverloadBeforeStep fails the run if overload onset is detected
	// before this 1-based step index (at most len(Ramp.Steps)).
	NoOverloadBeforeStep *int `yaml:"no_overload_before_step,omitempty"`
	// MinCircuitSuccess is the minimum fraction (0..1) of the circuits our
	// tor clients attempted that they built, over the run (0.7 is a common
	// relay SLI). Not for socks targets: relaybench has no client there
	// whose circuits it could see.
	MinCircuitSuccess *float64 `yaml:"min_circuit_success,omitempty"`
}

// Onset holds the overload-detection thresholds. A step counts as
// overloaded when any of them trips.
type Onset struct {
	// SaturationGain: overloaded when goodput grows by less than this
	// fraction while offered load doubles. Default 0.10, in (0, 1).
	SaturationGain float64 `yaml:"saturation_gain" json:"saturation_gain"`
	// LatencyFactor: overloaded when the p95 time to first byte on the
	// attached stream (from the request written to the first byte, the
	// SOCKS connect excluded) exceeds this multiple of the first step's.
	// Default 2.0, above 1, at most 1000 (beyond, the rule could not trip
	// before requests time out).
	LatencyFactor float64 `yaml:"latency_factor" json:"latency_factor"`
	// ConnectFactor: overloaded when the p95 SOCKS connect time (tor's
	// circuit build and stream attach) exceeds this multiple of the first
	// step's. Default 2.0, above 1.
	ConnectFactor float64 `yaml:"connect_factor" json:"connect_factor"`
	// ErrorRate: overloaded when more than this fraction of requests
	// fail. Default 0.01, in [0, 1].
	ErrorRate float64 `yaml:"error_rate" json:"error_rate"`
	// SocketFraction: overloaded when the relay uses more than this
	// fraction of its socket limit. Default 0.90, in (0, 1].
	SocketFraction float64 `yaml:"socket_fraction" json:"socket_fraction"`
	// Abort, when true, stops the run (stopped by onset-abort) as soon as
	// the target's MetricsPort shows a signal the relay declares itself
	// (an overload counter of tor's, or its DoS defence acting) rising
	// during a step: on the live network, stop before the relay tells
	// its clients it is overloaded for long. What was measured is kept;
	// the step it stopped in gives no onset or capacity. Needs a target
	// MetricsPort (target.relay.metrics_url, target.socks.metrics_urls).
	// Default false.
	Abort bool `yaml:"abort,omitempty" json:"abort,omitempty"`
}

// Variant is one A/B tuning arm.
type Variant struct {
	// Name identifies the variant in reports; same rules as
	// Scenario.Name, unique within the scenario.
	Name string `yaml:"name"`
	// Torrc overrides, merged over Target.Testnet.Torrc (testnet only).
	Torrc map[string]string `yaml:"torrc,omitempty"`
	// Setup commands run, in order, before the variant's runs. Each entry
	// is one shell command line (tabs and newlines allowed, no other
	// control characters). Scenario files are trusted like scripts.
	Setup []string `yaml:"setup,omitempty"`
	// Teardown commands run, in order, after the variant's runs.
	Teardown []string `yaml:"teardown,omitempty"`
	// Nofile overrides Target.Testnet.Nofile (testnet only); same bounds.
	Nofile int `yaml:"nofile,omitempty"`
	// Repetitions overrides Scenario.Repetitions; 0 or absent inherits it.
	// At most 100, as Scenario.Repetitions.
	Repetitions int `yaml:"repetitions"`
	// Tor overrides Target.Testnet.Tor: the variant runs the relay under
	// test with this tor executable (testnet only).
	Tor string `yaml:"tor,omitempty"`
}

// Runs returns how many times the ramp is run in total: the sum of the
// variants' repetitions, or Repetitions if there are no variants.
func (s *Scenario) Runs() int {
	if len(s.Variants) == 0 {
		return s.Repetitions
	}
	n := 0
	for _, v := range s.Variants {
		if v.Repetitions > 0 && n > math.MaxInt-v.Repetitions {
			return math.MaxInt // saturate; PlannedDuration saturates too
		}
		n += v.Repetitions
	}
	return n
}

// PlannedDuration is the time the ramps take: steps × step duration × runs.
// It excludes tor bootstrap and other setup. It saturates instead of
// overflowing.
func (s *Scenario) PlannedDuration() time.Duration {
	const max = time.Duration(1<<63 - 1)
	d := time.Duration(s.Ramp.StepDuration)
	for _, n := range []int{len(s.Ramp.Steps), s.Runs()} {
		if n <= 0 || d <= 0 {
			return 0
		}
		if d > max/time.Duration(n) {
			return max
		}
		d *= time.Duration(n)
	}
	return d
}

// ForVariant returns the scenario one variant runs: the variant's torrc
// merged over target.testnet.torrc, its nofile and tor over
// target.testnet's, its repetitions, and no variants. The result is a valid scenario of its
// own, so each variant's run directory reads like a run without variants.
func (s *Scenario) ForVariant(v Variant) *Scenario {
	out := *s
	out.Variants = nil
	out.Repetitions = v.Repetitions
	out.Description = strings.TrimSpace(fmt.Sprintf("%s (variant %s)", s.Description, v.Name))
	if s.Target.Testnet != nil {
		tn := *s.Target.Testnet
		tn.Torrc = maps.Clone(s.Target.Testnet.Torrc)
		if len(v.Torrc) > 0 && tn.Torrc == nil {
			tn.Torrc = map[string]string{}
		}
		maps.Copy(tn.Torrc, v.Torrc)
		if v.Nofile != 0 {
			tn.Nofile = v.Nofile
		}
		if v.Tor != "" {
			tn.Tor = v.Tor
		}
		out.Target.Testnet = &tn
	}
	return &out
}
