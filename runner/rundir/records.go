package rundir

import (
	"cmp"
	"time"
)

// Record is the outcome of one request: one JSON line in requests.jsonl.
// Durations are nanoseconds measured from Start.
type Record struct {
	// StepKey is the step the request belongs to.
	StepKey
	// Load is the step's load: concurrent streams (bulk, slow-readers) or
	// requests per second (churn).
	Load int `json:"load"`
	// Worker is the closed-loop worker that made the request (0..Load-1),
	// or -1 in the open loop (churn), where vegeta's workers are anonymous.
	Worker int `json:"worker"`
	// Endpoint is the index of the SOCKS endpoint used, or -1 when none was
	// reached (no live endpoint left).
	Endpoint int `json:"endpoint"`
	// Intended is when the request should have started: the pacer's
	// schedule in the open loop, so that coordinated omission shows as
	// Start - Intended; in the closed loop when its worker was ready,
	// equal to Start unless the circuit-rate cap held it back (CapWaitNS).
	Intended time.Time `json:"intended"`
	// Start is when the request entered the transport.
	Start time.Time `json:"start"`
	// ConnectNS is the SOCKS connect time, including tor's circuit build
	// and stream attach; 0 when a kept-alive connection was reused.
	ConnectNS int64 `json:"connect_ns"`
	// WroteNS is when the request had been written to the attached
	// stream: after the SOCKS connect on a new connection, at once on a
	// reused one; 0 when it never was. Records written before the field
	// existed lack it (see AttachedTTFB).
	WroteNS int64 `json:"wrote_ns"`
	// TTFBNS is the time to the first response byte, 0 if none arrived.
	// It includes the SOCKS connect of a new connection; AttachedTTFB is
	// the wait on the attached stream alone.
	TTFBNS int64 `json:"ttfb_ns"`
	// TTLBNS is the time until the request ended: the last body byte for a
	// success, the failure or cut otherwise.
	TTLBNS int64 `json:"ttlb_ns"`
	// Bytes is the number of body bytes received.
	Bytes int64 `json:"bytes"`
	// Status is the HTTP status code, 0 if no response arrived.
	Status int `json:"status"`
	// Error is the error class (the Class constants); empty on success.
	Error string `json:"error"`
	// Detail is the full error text.
	Detail string `json:"detail"`
	// Warmup is true when the request started within the step's warm-up.
	Warmup bool `json:"warmup"`
	// Verified is true when the request succeeded and every body byte was
	// checked against relaybench's payload content and matched: the body
	// came from relaybench's payload server (see runner.Plan). Absent
	// (false) for bodies nobody could check, and in records written
	// before the field existed.
	Verified bool `json:"verified,omitempty"`
	// CapWaitNS is how long the request waited for a token of the
	// circuit-rate cap (limits.circuit_rate) before its new circuit could
	// open; absent without a wait. The runner holds a request back before
	// it starts, so the wait lies between Intended and Start and counts in
	// the latency from the intended start; a wait it did not foresee
	// (worker isolation: a kept-alive connection that closed) lies between
	// Start and the SOCKS connect, which excludes it. A request still
	// waiting when its step ended never started: an open-loop one is
	// unsent, a closed-loop one is cut (step-end) with no time of its own.
	CapWaitNS int64 `json:"cap_wait_ns,omitempty"`
}

// OK reports whether the request succeeded.
func (r *Record) OK() bool { return r.Error == "" }

// End returns when the request ended.
func (r *Record) End() time.Time { return r.Start.Add(time.Duration(r.TTLBNS)) }

// AttachedTTFB returns the time from the request being written on the
// attached stream to the first response byte, and false when no first
// byte arrived. For a record without WroteNS (written before it existed)
// it is TTFBNS less the SOCKS connect, which is the same up to the few
// microseconds of writing the request.
func (r *Record) AttachedTTFB() (time.Duration, bool) {
	if r.TTFBNS <= 0 {
		return 0, false
	}
	wrote := r.WroteNS
	if wrote <= 0 {
		wrote = r.ConnectNS
	}
	return time.Duration(max(r.TTFBNS-wrote, 0)), true
}

// Error classes of a Record. A class is short, stable and meant for
// grouping; Record.Detail holds the full error text. The runner classifies
// errors (runner.ClassifyError); the analysis groups by class.
const (
	// ClassSocksUnreachable: the SocksPort itself could not be reached (tor
	// not running, wrong address), or no endpoint was left to dial.
	ClassSocksUnreachable = "socks-unreachable"
	// ClassTimeout: no first response byte within workload.timeout of the
	// request's start (SOCKS connect included), or a network timeout.
	ClassTimeout = "timeout"
	// ClassStall: the stream received no byte for workload.stall_timeout
	// after its request was written, and relaybench ended it. A failure:
	// a stuck stream or circuit, not a slow one.
	ClassStall = "stall"
	// ClassUnsent: open loop (churn) only. The pacer's schedule called for
	// the request, but the load generator never sent it before the step
	// ended (all its workers were busy). A failure of the load generator:
	// see StepSummary.Offered and Sent.
	ClassUnsent = "unsent"
	// ClassShortRead: the body ended before its announced length (circuit
	// or stream torn down mid-transfer).
	ClassShortRead = "short-read"
	// ClassPayloadMismatch: the body differed from the expected payload.
	ClassPayloadMismatch = "payload-mismatch"
	// ClassCanceled: the run was canceled (Ctrl-C) or stopped (limit,
	// Abort, no endpoints left) while the request was running. Not a
	// failure: the harness cut it, not the relay; it is counted apart
	// (StepSummary.Canceled).
	ClassCanceled = "canceled"
	// ClassStepEnd: the request was still running when its step ended and
	// was cut. Not a failure: its bytes count toward the step's goodput.
	ClassStepEnd = "step-end"
	// ClassOther: anything else; see Record.Detail.
	ClassOther = "other"
)

// Further classes are formed as "socks-<reply>" from a SOCKS5 reply code
// (socks-general-failure, socks-not-allowed, socks-network-unreachable,
// socks-host-unreachable, socks-connection-refused, socks-ttl-expired,
// socks-command-not-supported, socks-address-type-not-supported,
// socks-reply-<n> for unknown codes), "socks-auth-failed" and
// "socks-protocol" for failed SOCKS handshakes, and "http-<code>" for HTTP
// statuses other than 2xx.

// StepSummary is one step's outcome: one JSON line in steps.jsonl, written
// as the step ends. Counts are those of the requests that ended after the
// warm-up, wherever they started: a request that fails after the warm-up
// counts as failed even if it started in it. (Before this rule, steps.jsonl
// counted only the requests that started after the warm-up.) Latencies
// count where they were measured (a connect completed, a first byte
// received after the warm-up). Bytes and Goodput count the bytes received
// after the warm-up, whenever their request started.
type StepSummary struct {
	// StepKey is the step summarised.
	StepKey
	// Load is the step's streams or requests per second.
	Load int `json:"load"`
	// Start and End delimit the step; the measured window is
	// [WarmupEnd, End].
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Interrupted is true when the run stopped during the step (Ctrl-C or
	// another signal, Abort, a scenario limit) rather than at its end: the
	// step is partial, and the requests the stop cut are Canceled.
	Interrupted bool `json:"interrupted,omitempty"`
	// Canceled counts the requests cut by the run's stop (class
	// canceled): not failures, and not in Requests.
	Canceled int `json:"canceled,omitempty"`
	// WarmupEnd is Start plus the scenario's warm-up.
	WarmupEnd time.Time `json:"warmup_end"`
	// Requests ended after the warm-up: OK + Cut + the sum of Errors.
	Requests int `json:"requests"`
	// Warmup is the number of requests that ended within the warm-up.
	Warmup int `json:"warmup"`
	// OK is the number of successful requests.
	OK int `json:"ok"`
	// Cut is the number of requests cut by the step's end (not failures).
	Cut int `json:"cut"`
	// Errors counts failed requests by class.
	Errors map[string]int `json:"errors,omitempty"`
	// Offered is, in the open loop (churn), the number of requests the
	// pacer scheduled in the step; Sent how many of them the load
	// generator sent (the rest are recorded as ClassUnsent). Both 0 in the
	// closed loop.
	Offered int `json:"offered,omitempty"`
	Sent    int `json:"sent,omitempty"`
	// CapWaited counts the requests of the step (counted as Requests are)
	// that waited for a token of the circuit-rate cap
	// (limits.circuit_rate), CapWait is their waits summed and CapWaitMean
	// CapWait / CapWaited. All 0 without a cap or without waits.
	CapWaited   int           `json:"cap_waited,omitempty"`
	CapWait     time.Duration `json:"cap_wait,omitempty"`
	CapWaitMean time.Duration `json:"cap_wait_mean,omitempty"`
	// Bytes is the body bytes received in the measured window.
	Bytes int64 `json:"bytes"`
	// SecondBytes holds the body bytes received in each second since
	// Start, warm-up included; the last second may be partial (End).
	SecondBytes []int64 `json:"second_bytes"`
	// Goodput is Bytes per second of the measured window.
	Goodput float64 `json:"goodput"`
	// StreamGoodputP50 is the median per-stream goodput in bytes/s: each
	// successful or cut stream's bytes in the measured window over its
	// time in it.
	StreamGoodputP50 float64 `json:"stream_goodput_p50"`
	// Latency percentiles after the warm-up: SOCKS connect (new
	// connections only), first byte from the request's start, and last
	// byte (successes only).
	ConnectP50 time.Duration `json:"connect_p50"`
	ConnectP95 time.Duration `json:"connect_p95"`
	TTFBP50    time.Duration `json:"ttfb_p50"`
	TTFBP95    time.Duration `json:"ttfb_p95"`
	TTLBP50    time.Duration `json:"ttlb_p50"`
	TTLBP95    time.Duration `json:"ttlb_p95"`
	// First is the earliest record start, Last the latest record end.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// ErrorCount returns the number of failed requests.
func (s *StepSummary) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// StepKey names one step of one repetition of the ramp: a step's records
// and its summary embed it, so that it keys both.
type StepKey struct {
	// Repetition is the 0-based repetition of the ramp (scenario
	// repetitions run the whole ramp again).
	Repetition int `json:"rep"`
	// Step is the 0-based index of the ramp step.
	Step int `json:"step"`
}

// Compare orders keys as the ramp runs their steps: by repetition, then
// by step.
func (k StepKey) Compare(o StepKey) int {
	return cmp.Or(cmp.Compare(k.Repetition, o.Repetition), cmp.Compare(k.Step, o.Step))
}

// CircuitRecord is one line of circuits.jsonl: a circuit a pool client
// built or failed to build, or the first stream a circuit carried.
type CircuitRecord struct {
	Time   time.Time `json:"t"`
	Client string    `json:"client"`
	// Event is CircuitBuilt, CircuitFailed or CircuitUsed.
	Event string   `json:"event"`
	ID    string   `json:"id"`
	Path  []string `json:"path,omitempty"`
	// Reason is tor's REASON of a failed circuit (TIMEOUT, DESTROYED, ...).
	Reason string `json:"reason,omitempty"`
}

// Events of a CircuitRecord.
const (
	// CircuitBuilt is tor's CIRC BUILT event.
	CircuitBuilt = "built"
	// CircuitFailed is a circuit that ended before it was built: tor's
	// CIRC FAILED, or CLOSED of a circuit seen LAUNCHED and never BUILT.
	// Built over built + failed is the clients' circuit success rate.
	CircuitFailed = "failed"
	// CircuitUsed is the circuit's first STREAM SUCCEEDED of a SOCKS stream.
	CircuitUsed = "used"
)

// ProcessRole is what a process is to the run. It is recorded in
// processes.jsonl (ProcessSample), env.json (package envinfo) and run.json
// (MetricsEndpoint, for what serves a MetricsPort).
type ProcessRole string

// Process roles.
const (
	// RoleTarget is the relay under test.
	RoleTarget ProcessRole = "target"
	// RoleRelay is another relay of an embedded test network.
	RoleRelay ProcessRole = "relay"
	// RoleClient is one of relaybench's tor clients (the load generator).
	RoleClient ProcessRole = "client"
	// RoleHarness is relaybench itself.
	RoleHarness ProcessRole = "harness"
	// RoleMachine is the whole machine: the samples named MachineName.
	RoleMachine ProcessRole = "machine"
	// RoleOther is a MetricsPort the scenario listed in
	// sampling.metrics_urls, whatever is behind it.
	RoleOther ProcessRole = "other"
)

// MachineName is the Name of the process samples that describe the whole
// machine (their Role is RoleMachine).
const MachineName = "machine"

// ProcessSample is one line of processes.jsonl: one process (or the
// machine) at one sampling time.
type ProcessSample struct {
	Time time.Time   `json:"t"`
	Name string      `json:"name"`
	Role ProcessRole `json:"role"`
	PID  int         `json:"pid,omitempty"`
	// CPUSeconds is the process's cumulative user+system CPU time; for the
	// machine, the cumulative busy (non-idle, non-iowait) time of all cores.
	CPUSeconds float64 `json:"cpu_s"`
	// RSSBytes is the resident set size (0 for the machine).
	RSSBytes int64 `json:"rss,omitempty"`
	// Cores is the number of CPUs (machine samples only).
	Cores int `json:"cores,omitempty"`
	// TotalCPUSeconds is the machine's cumulative CPU time of all cores,
	// busy, idle and iowait (machine samples only): between two samples,
	// the growth of CPUSeconds over the growth of TotalCPUSeconds is the
	// machine's utilisation, at most 1. Files written before it existed
	// lack it; their utilisation is busy seconds per second over Cores.
	TotalCPUSeconds float64 `json:"total_cpu_s,omitempty"`
	// Err says why the process could not be read (it exited, say).
	Err string `json:"err,omitempty"`

	// Cgroup is the process's confining cgroup at Time: quota and
	// throttling counters. Absent for processes not confined by relaybench
	// (everything but a target with a CPU or memory limit).
	Cgroup *CgroupSample `json:"cgroup,omitempty"`
}

// CgroupSample is one reading of a confining cgroup, in processes.jsonl as
//
//	"cgroup": {"quota_cores": 0.25, "nr_periods": 807, "nr_throttled": 611, "throttled_s": 41.2}
//
// The counters are cumulative since the group was created (they survive a
// restart of the process in it); procstat.QuotaUsage compares two samples.
type CgroupSample struct {
	// QuotaCores is the CPU quota in force, in cores (cpu.max, or
	// cpu.cfs_quota_us / cpu.cfs_period_us on cgroup v1); 0 when the group
	// limits memory only.
	QuotaCores float64 `json:"quota_cores"`
	// Periods is nr_periods: the 100 ms enforcement periods in which the
	// group had threads ready to run.
	Periods int64 `json:"nr_periods"`
	// Throttled is nr_throttled: the periods in which the group used up
	// its quota and was held back until the next period.
	Throttled int64 `json:"nr_throttled"`
	// ThrottledSeconds is the total time its threads were held back
	// (throttled_time in ns on cgroup v1, throttled_usec on v2).
	ThrottledSeconds float64 `json:"throttled_s"`
	// MemoryLimitBytes is the group's memory limit; absent when none.
	MemoryLimitBytes int64 `json:"memory_limit,omitempty"`
	// Err says why the group could not be read; the other fields are then
	// zero.
	Err string `json:"err,omitempty"`
}

// RunInfoVersion is the version of the run.json schema.
const RunInfoVersion = 1

// RunInfo is run.json: what the raw files alone do not say.
type RunInfo struct {
	Version int `json:"version"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Variant is the variant this directory holds, empty without variants.
	Variant string `json:"variant,omitempty"`
	// Started is when the run directory was created; Finished when the run
	// ended (zero while it runs or when it crashed).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// StoppedBy is the last repetition's runner.Summary.StoppedBy.
	StoppedBy string `json:"stopped_by,omitempty"`
	// Error is why the run failed, empty when it did not.
	Error string `json:"error,omitempty"`
	// Warnings are what went wrong without stopping the run, e.g. a tor
	// client of the pool that did not bootstrap.
	Warnings []string `json:"warnings,omitempty"`
	// Metrics lists the MetricsPort URLs sampled and what is behind each.
	Metrics []MetricsEndpoint `json:"metrics,omitempty"`

	// RelayProof is how a run of a relay target (target.kind relay) knew,
	// before any tor client started, that its operator runs the relay;
	// nil for other targets.
	RelayProof *RelayProof `json:"relay_proof,omitempty"`
	// OnsetAbort is set when the run stopped at the relay's overload
	// onset (onset.abort, StoppedBy "onset-abort").
	OnsetAbort *OnsetAbort `json:"onset_abort,omitempty"`

	// Segment is set when the run is one worker's share of the load
	// (SegmentInfo); Merged when merge made it from several (MergeInfo).
	Segment *SegmentInfo `json:"segment,omitempty"`
	Merged  *MergeInfo   `json:"merged,omitempty"`
}

// The kinds of RelayProof.
const (
	// ProofMetricsPort: the relay's MetricsPort (target.relay.metrics_url)
	// answered with tor_relay_* metrics; tor serves them only to the
	// addresses its operator's MetricsPortPolicy accepts.
	ProofMetricsPort = "metricsport"
	// ProofControlPort: the relay's ControlPort (target.relay.control_port)
	// took our authentication and its GETINFO fingerprint is the target's.
	ProofControlPort = "controlport"
	// ProofSkipped: `relaybench run --skip-relay-proof`, no proof.
	ProofSkipped = "skipped"
)

// RelayProof is run.json's record of the proof of operating the relay:
//
//	"relay_proof": {"kind": "controlport", "detail": "GETINFO fingerprint on 127.0.0.1:9051 is 0123...4567, the target's"}
type RelayProof struct {
	// Kind is ProofMetricsPort, ProofControlPort or ProofSkipped.
	Kind string `json:"kind"`
	// Detail says what answered, or why there was no proof.
	Detail string `json:"detail"`
}

// OnsetAbort is run.json's record of a run stopped by onset.abort: the
// step it stopped in (0-based) and the relay-declared signal that rose.
type OnsetAbort struct {
	Repetition int       `json:"rep"`
	Step       int       `json:"step"`
	Load       int       `json:"load"`
	At         time.Time `json:"t"`
	// Signal names the overload signal (metricsport.SignalName).
	Signal string `json:"signal"`
	// Series is the exposition series that rose, Evidence the one-line
	// account of it (metricsport.OnsetSignal).
	Series   string `json:"series,omitempty"`
	Evidence string `json:"evidence"`
}

// MetricsEndpoint is one sampled MetricsPort.
type MetricsEndpoint struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	// Role is RoleTarget, RoleClient or RoleOther.
	Role ProcessRole `json:"role"`
}
