package measure

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// AnalysisVersion is the version of the summary.json schema. It changes
// when a field changes meaning or goes away, not when one is added.
// Version 2: a step's goodput interval is over repetitions (goodput.n
// counts them, goodput.n_of says so), no longer over pooled seconds;
// ReadSummary upgrades version 1 (see upgradeSummary).
//
// Version 3: requests count in the window where they ended (requests,
// warmup, errors, error_rate); ttfb_s, ttfb_samples and the rep_stats TTFB
// are measured from the request written on the attached stream (the SOCKS
// connect is connect_s alone); a request cut while connecting or before
// its first byte adds the time it waited to connect_s or ttfb_s; the
// latency signal "latency" became the rules "ttfb" and "connect"; the
// capacity is never at a step where the errors or a latency rule fired.
// These need the raw files: ReadSummary keeps a version 2 file's numbers
// and says so in its problems.
//
// Version 4: every onset and capacity says whose limit it is (attribution,
// attribution_evidence), and a capacity not attributed to the relay is a
// lower bound (lower_bound); bottlenecks are judged on the p90 of the
// sampling intervals instead of the step's mean; the relay-cpu signal.
// ReadSummary attributes older files from their bottlenecks and signals
// (see upgradeSummary).
const AnalysisVersion = 4

// RunHeader says what a run was and how it ended. An Analysis starts
// with it, and a comparison (package reports) names its runs with it.
type RunHeader struct {
	Scenario string `json:"scenario"`
	// Target says what was measured, e.g. "testnet relay as bridge".
	Target string `json:"target"`
	// Workload is bulk, churn or slow-readers.
	Workload string `json:"workload"`
	// LoadUnit is what a step's Load counts: "streams" or "req/s".
	LoadUnit string `json:"load_unit"`
	// Repetitions is the number of repetitions of the ramp that ran.
	Repetitions int `json:"repetitions"`
	// StoppedBy says how the run ended (see runner.Summary.StoppedBy);
	// "unknown" when run.json is missing.
	StoppedBy string `json:"stopped_by"`
}

// Analysis is everything relaybench concludes from one run: per-step
// statistics, the overload onset and the capacity. It is summary.json.
// Rates are bytes per second, latencies seconds, CPU in cores (1.0 = one
// core busy), steps and repetitions 0-based.
type Analysis struct {
	Version int `json:"version"`
	RunHeader
	// Thresholds are the onset thresholds applied.
	Thresholds scenarios.Onset `json:"thresholds"`
	// Steps holds one result per ramp step, repetitions pooled.
	Steps []StepResult `json:"steps"`
	// Onset is the first step at which the relay showed overload; nil
	// when no signal fired.
	Onset *Onset `json:"onset"`
	// LatencyRules says what each latency rule (connect, ttfb) compared
	// with, or why it could not judge a step.
	LatencyRules []LatencyRule `json:"latency_rules,omitempty"`
	// Capacity is the highest sustained goodput of a healthy step up to
	// the onset; nil when there is none (NoCapacity says why).
	Capacity *Capacity `json:"capacity"`
	// NoCapacity says why Capacity is nil.
	NoCapacity string `json:"no_capacity,omitempty"`
	// Gates are the outcomes of the scenario's thresholds (CI gates).
	Gates []Gate `json:"gates,omitempty"`
	// Timeline holds the run's time series for charts.
	Timeline *Timeline `json:"timeline,omitempty"`
	// Problems lists missing or damaged input: the analysis rests on part
	// of the data, so its gates and comparisons are not judged (Unjudged).
	Problems []string `json:"problems,omitempty"`
	// Notes says what is worth knowing about the input but is not damage
	// (an empty raw file, step boundaries inferred, a scenario that breaks
	// a newer rule).
	Notes []string `json:"notes,omitempty"`
	// Warnings are what went wrong during the run without stopping it, as
	// run.json recorded them: a pool client that died or never
	// bootstrapped, MetricsPort scrapes that failed or were slow,
	// relaybench's own errors (out of file descriptors, say).
	Warnings []string `json:"warnings,omitempty"`
	// Interruptions lists the steps the run stopped in before their end;
	// none for a run that ran its ramp to the end.
	Interruptions []Interruption `json:"interruptions,omitempty"`
	// OnsetAbort is where onset.abort stopped the run, with the signal the
	// relay declared (run.json's onset_abort); nil when it did not.
	OnsetAbort *rundir.OnsetAbort `json:"onset_abort,omitempty"`
	// LiveRelay is set for a relay target: the proof that its operator
	// runs it.
	LiveRelay *LiveRelay `json:"live_relay,omitempty"`
}

// StepResult is one ramp step, all its repetitions pooled.
type StepResult struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// Reps is how many repetitions ran this step.
	Reps int `json:"reps"`
	// WindowSeconds is the length of the measured windows (after warm-up)
	// summed over repetitions.
	WindowSeconds float64 `json:"window_s"`
	// Requests ended after the warm-up, wherever they started: OK + Cut
	// + failed. A request counts in the window where it ended, so a
	// stream that started in the warm-up and failed after it is a failure
	// of the step.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// Cut counts requests cut by the step's end: not failures (their
	// bytes count toward goodput). A stalled stream is a failure instead.
	Cut int `json:"cut"`
	// CutShare is Cut / Requests: the share of the step's requests still
	// running at its end.
	CutShare float64 `json:"cut_share"`
	// CompletedShare is OK / Requests: the share of the step's requests
	// that finished, the ones TTLB describes.
	CompletedShare float64 `json:"completed_share"`
	// Warmup counts requests that ended within the warm-up (not in the
	// statistics except for their bytes after it).
	Warmup int `json:"warmup"`
	// Errors counts failed requests by class (runner.ClassifyError),
	// stall and unsent included.
	Errors map[string]int `json:"errors,omitempty"`
	// ErrorRate is failed / (OK + failed).
	ErrorRate float64 `json:"error_rate"`
	// OfferedRate and AchievedRate are, for the open loop (churn), the
	// requests per second the schedule offered and those the load
	// generator sent in the measured windows. Below AchievedShareMin of
	// the offered rate the step is generator-bound. 0 for closed loops.
	OfferedRate  float64 `json:"offered_rps,omitzero"`
	AchievedRate float64 `json:"achieved_rps,omitzero"`
	// Bytes is the body bytes received in the measured windows.
	Bytes float64 `json:"bytes"`
	// Goodput is the step's goodput over its repetitions: the mean of
	// RepGoodput with the 95 % interval over them (N = repetitions), or with
	// one repetition its goodput with a batch-means interval (see
	// EstimateBatches).
	Goodput Estimate `json:"goodput"`
	// GoodputSeries is the client goodput of each second of the measured
	// windows, repetitions one after another. It describes the step (and
	// draws charts); its seconds are not independent samples.
	GoodputSeries []float64 `json:"goodput_series"`
	// RepGoodput is each repetition's goodput (body bytes over its measured
	// window's seconds), in repetition order: the samples of Goodput and
	// what compare tests.
	RepGoodput []float64 `json:"rep_goodput"`
	// RepStats holds the step's numbers per repetition, in repetition
	// order: what compare tests for TTFB and what bench.txt holds.
	RepStats []RepStat `json:"rep_stats"`
	// StreamGoodput is the body rate of each stream that moved bytes in
	// the measured window (warm-up starts included): its bytes over the
	// time from its first to its last byte.
	StreamGoodput Distribution `json:"stream_goodput"`
	// Connect is the SOCKS connect time (tor's circuit build and stream
	// attach) of new connections; TTFB the time from the request written
	// on the attached stream to the first response byte (queues in the
	// relays, not circuit building); TTLB the time from the start to the
	// last byte of successful requests (CompletedShare says how many
	// those are). Each counts where it was measured: a connect completed,
	// or a first byte that arrived, in the warm-up is left out with the
	// warm-up's burst of new circuits. A request cut by the step's end
	// while connecting, or before its first byte, counts with the time it
	// waited: a lower bound; left out, the slowest would vanish exactly
	// when the relay is overloaded. Seconds.
	Connect Distribution `json:"connect_s"`
	TTFB    Distribution `json:"ttfb_s"`
	TTLB    Distribution `json:"ttlb_s"`
	// TTFBSamples are the raw TTFB samples in seconds, in the order the
	// requests were recorded (compare tests the repetitions' p50 and p95
	// in RepStats instead: requests of one repetition share its circuits).
	TTFBSamples []float64 `json:"ttfb_samples"`
	// For the open loop (churn), measured from the intended start, the
	// pacer's schedule, instead of the actual one (coordinated omission
	// corrected; Connect, TTFB and TTLB above are the uncorrected
	// phases): ScheduleLag is how late the load generator sent each
	// request, IntendedTTFB the time to the first byte and IntendedTTLB
	// to the last byte of successful requests. Unsent hits are failures,
	// not samples.
	ScheduleLag  Distribution `json:"schedule_lag_s,omitzero"`
	IntendedTTFB Distribution `json:"intended_ttfb_s,omitzero"`
	IntendedTTLB Distribution `json:"intended_ttlb_s,omitzero"`
	// CircuitCap is how relaybench's circuit-rate cap (limits.circuit_rate)
	// held the step's requests back; nil without a cap.
	CircuitCap *CircuitCapStep `json:"circuit_cap,omitempty"`
	// Circuits is the number of circuits whose first stream opened in the
	// step (all repetitions); 0 when there are no pool clients to ask.
	Circuits int `json:"circuits"`
	// CircuitsBuilt and CircuitsFailed count the circuits the pool's tor
	// clients built, and lost before they were built (tor's CIRC FAILED),
	// within the step, warm-up included, all repetitions. CircuitSuccess
	// is built / (built + failed), absent without any (a socks target has
	// no clients of ours to ask).
	CircuitsBuilt  int      `json:"circuits_built"`
	CircuitsFailed int      `json:"circuits_failed"`
	CircuitSuccess *float64 `json:"circuit_success,omitempty"`
	// Relay holds the relay side; nil without MetricsPort data.
	Relay *RelayStep `json:"relay,omitempty"`
	// Processes holds CPU and memory of each sampled process.
	Processes []ProcessStep `json:"processes,omitempty"`
	// Signals lists the overload signals that fired at this step.
	Signals []Signal `json:"signals,omitempty"`
	// WarmupSignals lists the relay-declared signals that fired during
	// the warm-up (the burst of new circuits at the step's start): shown,
	// not counted toward the onset.
	WarmupSignals []Signal `json:"warmup_signals,omitempty"`
	// Bottlenecks lists processes at or near their CPU limit.
	Bottlenecks []Bottleneck `json:"bottlenecks,omitempty"`
	// LoadGeneratorBound is true when a bottleneck other than the relay
	// under test limited the step: the step's goodput is a lower bound of
	// what the relay can carry.
	LoadGeneratorBound bool `json:"load_generator_bound"`
	// Attribution is whose limit was binding at this step (see
	// attributionRank for the precedence when several were), and
	// AttributionEvidence the evidence, the winner's first; "" and none
	// when nothing was at its limit.
	Attribution         Attribution `json:"attribution,omitempty"`
	AttributionEvidence []string    `json:"attribution_evidence,omitempty"`
	// RelayEfficiency is the bytes the relay under test wrote (its
	// MetricsPort's tor_relay_traffic_bytes{direction="written"}) per
	// second of its CPU, over the measured windows: what a tor developer
	// compares across builds, far less sensitive to the machine's load
	// than goodput. 0 when either is unknown.
	RelayEfficiency float64 `json:"relay_bytes_per_cpu_s"`
	// TargetCPU is the relay under test's CPU over the sampling intervals
	// as a share of its quota (TargetQuotaCores) when confined, of one
	// core when not; zero when it was not sampled.
	TargetCPU        CPUIntervals `json:"target_cpu,omitzero"`
	TargetQuotaCores float64      `json:"target_quota_cores,omitempty"`
	// TargetThrottledShare is, for a confined target, the share of its
	// cgroup's enforcement periods with work in which it ran out of quota
	// (TargetThrottledPeriods of TargetPeriods).
	TargetThrottledShare   float64 `json:"target_throttled_share,omitempty"`
	TargetPeriods          int64   `json:"target_periods,omitempty"`
	TargetThrottledPeriods int64   `json:"target_throttled_periods,omitempty"`
	// MachineBusy is the machine's CPU over the sampling intervals as a
	// share of all its cores.
	MachineBusy CPUIntervals `json:"machine_busy,omitzero"`
	// ForeignCPU is the machine's busy CPU that no sampled process used,
	// in cores, over the sampling intervals (see foreignCPU).
	ForeignCPU CPUIntervals `json:"foreign_cpu,omitzero"`
	// Interrupted is true when the step rests only on windows the run
	// stopped in (see Interruption): it gives no onset or capacity.
	Interrupted bool `json:"interrupted,omitempty"`
	// Canceled counts the requests cut by the run's stop (class
	// canceled) in the windows used: not failures, not in Requests.
	Canceled int `json:"canceled,omitempty"`
}

// RepStat is one repetition of one step.
type RepStat struct {
	Rep int `json:"rep"`
	// Goodput is bytes/s over the measured window.
	Goodput  float64 `json:"goodput"`
	Requests int     `json:"requests"`
	Failed   int     `json:"failed"`
	// TTFBP50 and TTFBP95 are in seconds (StepResult.TTFB's samples); 0
	// without samples.
	TTFBP50 float64 `json:"ttfb_p50_s"`
	TTFBP95 float64 `json:"ttfb_p95_s"`
	// RelayEfficiency is the repetition's bytes written by the relay per
	// second of its CPU (StepResult.RelayEfficiency); 0 when unknown.
	RelayEfficiency float64 `json:"relay_bytes_per_cpu_s,omitempty"`
}

// RelayStep is the relay under test as its MetricsPort saw it during a
// step's measured windows.
type RelayStep struct {
	URL string `json:"url"`
	// Scrapes and FailedScrapes count the scrapes within the whole step;
	// SlowScrapes those that took more than half the sampling interval
	// (their values are placed less precisely).
	Scrapes       int `json:"scrapes"`
	FailedScrapes int `json:"failed_scrapes"`
	SlowScrapes   int `json:"slow_scrapes,omitempty"`
	// Seconds is the time between the scrapes the rates are taken from.
	Seconds float64 `json:"seconds"`
	// ReadBps and WrittenBps are tor_relay_traffic_bytes per second.
	ReadBps    float64 `json:"read_bps"`
	WrittenBps float64 `json:"written_bps"`
	// CircuitsMax is the highest open-circuit gauge seen.
	CircuitsMax float64 `json:"circuits_max"`
	// Onionskins processed and dropped per second, all handshake types.
	OnionskinsProcessedPerSec float64 `json:"onionskins_processed_per_s"`
	OnionskinsDroppedPerSec   float64 `json:"onionskins_dropped_per_s"`
	// Increases over the windows of these counters.
	OOMBytes       float64 `json:"oom_bytes"`
	TCPExhaustion  float64 `json:"tcp_exhaustion"`
	RateLimitRead  float64 `json:"rate_limit_read"`
	RateLimitWrite float64 `json:"rate_limit_write"`
	// DoS counts DoS-defense actions by type.
	DoS map[string]float64 `json:"dos,omitempty"`
	// SocketsMax is the most sockets open; SocketLimit tor's limit.
	SocketsMax  float64 `json:"sockets_max"`
	SocketLimit float64 `json:"socket_limit"`
	// Reset is true when the relay restarted within a window (its
	// counters went back): the rates are lower bounds.
	Reset bool `json:"reset,omitempty"`
}

// Analyze computes the Analysis of a run.
func Analyze(r *Run) *Analysis {
	sc := r.Scenario
	a := &Analysis{
		Version: AnalysisVersion,
		RunHeader: RunHeader{
			Scenario: sc.Name, Target: targetText(sc), Workload: string(sc.Workload.Kind),
			LoadUnit: "streams", StoppedBy: "unknown",
		},
		Thresholds: sc.Onset,
		Problems:   slices.Clone(r.Problems),
		Notes:      slices.Clone(r.Notes),
	}
	if sc.Workload.Kind == scenarios.WorkloadChurn {
		a.LoadUnit = "req/s"
	}
	if r.Info != nil && r.Info.StoppedBy != "" {
		a.StoppedBy = r.Info.StoppedBy
	}
	if r.Info != nil {
		a.Warnings = slices.Clone(r.Info.Warnings)
	}
	for _, f := range r.Truncated {
		if r.Info != nil && r.Info.StoppedBy == "write-failed" {
			a.Problems = append(a.Problems, fmt.Sprintf("%s: its last line is cut short: the run stopped when it could not write it whole; that line is left out", f))
			continue
		}
		if r.Info != nil && !r.Info.Finished.IsZero() {
			// A run that finished closed its files whole: cut since.
			a.Problems = append(a.Problems, fmt.Sprintf("%s: its last line is cut short although the run finished: the file was cut since; that line is left out", f))
			continue
		}
		a.Notes = append(a.Notes, fmt.Sprintf("%s: its last line was cut short (the run ended while writing it) and is left out", f))
	}
	steps := slices.Clone(r.Steps)
	sortSteps(steps)
	reps := map[int]bool{}
	for _, s := range steps {
		reps[s.Repetition] = true
	}
	a.Repetitions = len(reps)

	recs := groupRecords(r.Records)
	canceled := takeCanceled(recs)
	steps, partial := a.setAsideInterrupted(steps, canceled, r.inferred)
	targets := a.answeredTargets(r.targetURLs(), r.Metrics, slices.Contains(r.Missing, rundir.MetricsFile))
	if len(r.Metrics) > 0 && len(targets) == 0 {
		a.Problems = append(a.Problems, "metrics.jsonl has no scrape of the relay under test: no relay-side statistics")
	}
	var obs [][]metricsport.Observation
	for _, u := range targets {
		obs = append(obs, metricsport.Observations(r.Metrics, u, nil))
	}
	procs := groupProcesses(r.Processes)

	for _, index := range stepIndexes(steps) {
		var windows []rundir.StepSummary
		for _, s := range steps {
			if s.Step == index {
				windows = append(windows, s)
			}
		}
		res := stepResult(windows, recs, sc.Workload.Kind == scenarios.WorkloadChurn)
		res.CircuitCap = circuitCapStep(sc.Limits, windows, recs)
		res.Circuits = countCircuits(r.Circuits, windows)
		res.CircuitsBuilt, res.CircuitsFailed, res.CircuitSuccess = circuitSuccess(r.Circuits, windows)
		if len(targets) > 0 {
			res.Relay = relayStep(targets[0], obs[0], windows)
			for i, u := range targets {
				res.Signals = append(res.Signals, relaySignals(u, obs[i], windows, sc.Onset, measuredPart)...)
				res.WarmupSignals = append(res.WarmupSignals, relaySignals(u, obs[i], windows, sc.Onset, warmupPart)...)
			}
			explainDoS(&res)
		}
		res.Processes = processSteps(procs, windows)
		cpuStep(&res, procs, windows)
		if len(targets) > 0 {
			repEfficiency(&res, targets[0], obs[0], procs, windows)
		}
		res.Bottlenecks = bottlenecks(&res)
		if b, ok := generatorBottleneck(res); ok {
			res.Bottlenecks = append(res.Bottlenecks, b)
		}
		if b, ok := circuitCapBottleneck(res); ok {
			res.Bottlenecks = append(res.Bottlenecks, b)
		}
		for _, b := range res.Bottlenecks {
			res.LoadGeneratorBound = res.LoadGeneratorBound || b.LimitsMeasurement()
		}
		if sig, ok := relayCPUSignal(&res); ok {
			res.Signals = append(res.Signals, sig)
		}
		res.Attribution, res.AttributionEvidence = stepAttribution(&res)
		a.Steps = append(a.Steps, markInterrupted(res, windows, partial, canceled))
	}
	a.LatencyRules = clientSignals(a.Steps, sc.Onset)
	for i := range a.Steps {
		sortSignals(a.Steps[i].Signals)
	}
	a.Onset = findOnset(wholeSteps(a.Steps))
	a.Capacity, a.NoCapacity = findCapacity(wholeSteps(a.Steps), a.Onset, sc.Target.Kind == scenarios.TargetRelay)
	a.noWholeCapacity()
	capacitySamples(a.Capacity, a.Steps)
	a.Gates = gates(a, sc.Thresholds)
	a.Timeline = timeline(r, a.Onset)
	a.OnsetAbort, a.LiveRelay = onsetAbort(r), liveRelay(r)
	return a
}

func targetText(sc *scenarios.Scenario) string {
	switch sc.Target.Kind {
	case scenarios.TargetSocks:
		return "given SocksPorts"
	case scenarios.TargetTestnet:
		return "testnet relay as " + string(sc.Target.Role)
	}
	return "relay as " + string(sc.Target.Role)
}

// targetURLs are the MetricsPort URLs of the relay under test. Without
// run.json (a run from before it existed) the first URL sampled is taken:
// run always lists the target first.
func (r *Run) targetURLs() []string {
	if r.Info != nil && len(r.Info.Metrics) > 0 {
		var out []string
		for _, m := range r.Info.Metrics {
			if m.Role == rundir.RoleTarget {
				out = append(out, m.URL)
			}
		}
		return out
	}
	if len(r.Metrics) > 0 {
		return []string{r.Metrics[0].URL}
	}
	return nil
}

func sortSteps(s []rundir.StepSummary) {
	slices.SortStableFunc(s, func(a, b rundir.StepSummary) int {
		return a.StepKey.Compare(b.StepKey)
	})
}

func stepIndexes(steps []rundir.StepSummary) []int {
	var out []int
	for _, s := range steps {
		if !slices.Contains(out, s.Step) {
			out = append(out, s.Step)
		}
	}
	slices.Sort(out)
	return out
}

func groupRecords(recs []rundir.Record) map[rundir.StepKey][]rundir.Record {
	out := map[rundir.StepKey][]rundir.Record{}
	for _, r := range recs {
		k := r.StepKey
		out[k] = append(out[k], r)
	}
	return out
}

// stepResult computes the client side of one step from its windows (one
// per repetition). open is the open loop (churn), where the schedule's
// intended starts are what latency is measured from.
func stepResult(windows []rundir.StepSummary, recs map[rundir.StepKey][]rundir.Record, open bool) StepResult {
	res := StepResult{Step: windows[0].Step, Load: windows[0].Load, Reps: len(windows)}
	var connect, ttfb, ttlb, streams, lag, intendedTTFB, intendedTTLB []float64
	var totalBytes, totalSecs float64
	var counts rundir.Counts
	sent := 0
	for _, w := range windows {
		from := measuredFrom(w)
		bins := newPerSecond(from, w.End)
		rs := RepStat{Rep: w.Repetition}
		var repTTFB []float64
		for _, rec := range recs[w.StepKey] {
			if rec.Bytes > 0 {
				first := rec.Start.Add(time.Duration(rec.TTFBNS))
				if rec.TTFBNS == 0 {
					first = rec.Start
				}
				bins.add(first, rec.End(), float64(rec.Bytes))
			}
			// A stream counts if it moved bytes in the measured window, also
			// when it started in the warm-up: with downloads longer than a
			// step, no stream would count otherwise.
			if (rec.Error == "" || rec.Error == rundir.ClassStepEnd) && rec.Bytes > 0 && rec.TTLBNS > rec.TTFBNS && rec.End().After(from) {
				streams = append(streams, float64(rec.Bytes)/seconds(rec.TTLBNS-rec.TTFBNS))
			}
			if open && rec.Error != rundir.ClassUnsent && !rec.Start.Before(from) && rec.Start.Before(w.End) {
				sent++
			}
			// Every request counts in the window where it ended, wherever
			// it started: 8 streams that die after the warm-up are 8
			// failures of the step even if they all started in it.
			counted := counts.Count(&rec, from)
			if counted == rundir.CountedWarmup {
				continue
			}
			rs.Requests++
			switch counted {
			case rundir.CountedOK:
				ttlb = append(ttlb, seconds(rec.TTLBNS))
			case rundir.CountedFailed:
				rs.Failed++
			}
			// A latency counts where it was measured: a connect that
			// completed, or a first byte that arrived, in the warm-up
			// belongs to its burst of new circuits, which is what the
			// warm-up leaves out; a wait cut by the step's end counts there.
			lat := requestLatencies(rec)
			if lat.connect > 0 && !lat.connectAt.Before(from) {
				connect = append(connect, lat.connect)
			}
			if lat.ttfb > 0 && !lat.ttfbAt.Before(from) {
				ttfb = append(ttfb, lat.ttfb)
				repTTFB = append(repTTFB, lat.ttfb)
			}
			if open && rec.Error != rundir.ClassUnsent {
				if !rec.Start.Before(from) {
					lag = append(lag, rec.Start.Sub(rec.Intended).Seconds())
				}
				if lat.ttfb > 0 && !lat.ttfbAt.Before(from) {
					intendedTTFB = append(intendedTTFB, lat.ttfbAt.Sub(rec.Intended).Seconds())
				}
				if rec.Error == "" {
					intendedTTLB = append(intendedTTLB, rec.End().Sub(rec.Intended).Seconds())
				}
			}
		}
		series, b, s := bins.rates(), 0.0, 0.0
		if measured, ok := measuredSeconds(w); ok {
			// The runner counted bytes as they arrived: exact seconds.
			series = measured
			b, s = float64(w.Bytes), w.End.Sub(from).Seconds()
		} else {
			b, s = bins.total()
		}
		res.GoodputSeries = append(res.GoodputSeries, series...)
		totalBytes += b
		totalSecs += s
		if s > 0 {
			res.RepGoodput = append(res.RepGoodput, b/s)
			rs.Goodput = b / s
		}
		d := NewDistribution(repTTFB)
		rs.TTFBP50, rs.TTFBP95 = d.P50, d.P95
		res.RepStats = append(res.RepStats, rs)
	}
	res.Bytes, res.WindowSeconds = totalBytes, totalSecs
	res.Requests, res.Warmup, res.OK, res.Cut, res.Errors = counts.Requests, counts.Warmup, counts.OK, counts.Cut, counts.Errors
	// With one repetition GoodputSeries is that repetition's series.
	res.Goodput = goodputEstimate(res.RepGoodput, res.GoodputSeries)
	if failed := res.Requests - res.OK - res.Cut; failed > 0 {
		res.ErrorRate = float64(failed) / float64(res.OK+failed)
	}
	if res.Requests > 0 {
		res.CutShare = float64(res.Cut) / float64(res.Requests)
		res.CompletedShare = float64(res.OK) / float64(res.Requests)
	}
	if open && totalSecs > 0 {
		// The pacer is constant: Load requests per second, every second.
		res.OfferedRate = float64(res.Load)
		res.AchievedRate = float64(sent) / totalSecs
	}
	res.TTFBSamples = slices.Clone(ttfb)
	res.Connect = NewDistribution(connect)
	res.TTFB = NewDistribution(ttfb)
	res.TTLB = NewDistribution(ttlb)
	res.StreamGoodput = NewDistribution(streams)
	res.ScheduleLag = NewDistribution(lag)
	res.IntendedTTFB = NewDistribution(intendedTTFB)
	res.IntendedTTLB = NewDistribution(intendedTTLB)
	return res
}

// latencies are a request's SOCKS connect time and its time to first
// byte on the attached stream, in seconds (0 for what it has none of), and
// when each was measured: when the connect completed or the first byte
// arrived.
type latencies struct {
	connect, ttfb     float64
	connectAt, ttfbAt time.Time
}

// requestLatencies returns rec's latencies. A request cut by the step's
// end before it got there counts with the time it waited, a lower bound,
// measured at the cut: it was still connecting when it had neither
// connected nor written its request, else it was waiting for the first
// byte. Failed requests add only what they completed; the failure itself
// is counted by the errors rule.
func requestLatencies(rec rundir.Record) latencies {
	var l latencies
	if rec.ConnectNS > 0 {
		l.connect, l.connectAt = seconds(rec.ConnectNS), rec.Start.Add(time.Duration(rec.ConnectNS))
	}
	if d, ok := rec.AttachedTTFB(); ok {
		l.ttfb, l.ttfbAt = d.Seconds(), rec.Start.Add(time.Duration(rec.TTFBNS))
		return l
	}
	if rec.Error != rundir.ClassStepEnd || rec.TTLBNS <= 0 {
		return l
	}
	if rec.ConnectNS == 0 && rec.WroteNS == 0 {
		l.connect, l.connectAt = seconds(rec.TTLBNS), rec.End()
		return l
	}
	l.ttfb, l.ttfbAt = seconds(rec.TTLBNS-max(rec.WroteNS, rec.ConnectNS)), rec.End()
	return l
}

// measuredFrom is where w's measured window begins: after the warm-up, or
// at the start for a step without one recorded.
func measuredFrom(w rundir.StepSummary) time.Time {
	if w.WarmupEnd.IsZero() || w.WarmupEnd.Before(w.Start) {
		return w.Start
	}
	return w.WarmupEnd
}

// measuredSeconds returns the goodput of each whole second of w's
// measured window from the byte counts the runner kept per second, and
// false when it kept none (a step inferred from the records). Seconds that
// straddle the end of the warm-up are left out.
func measuredSeconds(w rundir.StepSummary) ([]float64, bool) {
	if len(w.SecondBytes) == 0 {
		return nil, false
	}
	var out []float64
	for _, sr := range secondRates(w) {
		if !sr.from.Before(w.WarmupEnd) {
			out = append(out, sr.rate)
		}
	}
	return out, true
}

// secondRate is the goodput of one second of a step.
type secondRate struct {
	from time.Time
	secs float64 // 1, or less for the step's last second
	rate float64 // bytes per second
}

// secondRates turns the runner's per-second byte counts of w into rates.
// A last second shorter than half a second is left out: its rate would
// rest on too little time.
func secondRates(w rundir.StepSummary) []secondRate {
	var out []secondRate
	for i, n := range w.SecondBytes {
		from := w.Start.Add(time.Duration(i) * time.Second)
		to := from.Add(time.Second)
		if w.End.Before(to) {
			to = w.End
		}
		secs := to.Sub(from).Seconds()
		if secs < 0.5 {
			continue
		}
		out = append(out, secondRate{from: from, secs: secs, rate: float64(n) / secs})
	}
	return out
}

func countCircuits(circs []rundir.CircuitRecord, windows []rundir.StepSummary) int {
	n := 0
	for _, c := range circs {
		if c.Event != rundir.CircuitUsed {
			continue
		}
		for _, w := range windows {
			if !c.Time.Before(w.Start) && c.Time.Before(w.End) {
				n++
				break
			}
		}
	}
	return n
}

// relayStep computes the relay's rates over the measured windows: from
// the last scrape at or before each window's start to the last scrape
// within it, increases summed over consecutive scrapes so that a restart
// inside costs only its own interval.
func relayStep(url string, obs []metricsport.Observation, windows []rundir.StepSummary) *RelayStep {
	rs := &RelayStep{URL: url}
	var inc metricsport.RelayCounters
	any := false
	for _, w := range windows {
		from := measuredFrom(w)
		var snaps []metricsport.RelaySnapshot
		for _, o := range obs {
			if !o.At.Before(w.Start) && !o.At.After(w.End) {
				rs.Scrapes++
				if o.Snapshot == nil {
					rs.FailedScrapes++
				}
				if o.Slow {
					rs.SlowScrapes++
				}
			}
			if o.Snapshot == nil || o.At.After(w.End) {
				continue
			}
			if !o.At.After(from) {
				snaps = []metricsport.RelaySnapshot{*o.Snapshot} // the latest baseline
				continue
			}
			snaps = append(snaps, *o.Snapshot)
			g := o.Snapshot.Gauges
			rs.CircuitsMax = max(rs.CircuitsMax, g.CircuitsOpened)
			rs.SocketsMax = max(rs.SocketsMax, g.SocketsOpened)
			if g.SocketLimit > 0 {
				rs.SocketLimit = g.SocketLimit
			}
		}
		for _, r := range metricsport.RateSeries(snaps) {
			any = true
			rs.Seconds += r.Seconds
			rs.Reset = rs.Reset || r.Reset
			inc = addCounters(inc, r.Increase)
		}
	}
	if !any {
		if rs.Scrapes == 0 {
			return nil
		}
		return rs
	}
	rs.ReadBps = inc.TrafficReadBytes / rs.Seconds
	rs.WrittenBps = inc.TrafficWrittenBytes / rs.Seconds
	rs.OnionskinsProcessedPerSec = sumMap(inc.OnionskinsProcessed) / rs.Seconds
	rs.OnionskinsDroppedPerSec = sumMap(inc.OnionskinsDropped) / rs.Seconds
	rs.OOMBytes = sumMap(inc.OOMBytes)
	rs.TCPExhaustion = inc.TCPExhaustion
	rs.RateLimitRead, rs.RateLimitWrite = inc.RateLimitReachedRead, inc.RateLimitReachedWrite
	if len(inc.DoS) > 0 {
		rs.DoS = inc.DoS
	}
	return rs
}

func addCounters(a, b metricsport.RelayCounters) metricsport.RelayCounters {
	a.TrafficReadBytes += b.TrafficReadBytes
	a.TrafficWrittenBytes += b.TrafficWrittenBytes
	a.OnionskinsProcessed = addMap(a.OnionskinsProcessed, b.OnionskinsProcessed)
	a.OnionskinsDropped = addMap(a.OnionskinsDropped, b.OnionskinsDropped)
	a.OOMBytes = addMap(a.OOMBytes, b.OOMBytes)
	a.TCPExhaustion += b.TCPExhaustion
	a.RateLimitReachedRead += b.RateLimitReachedRead
	a.RateLimitReachedWrite += b.RateLimitReachedWrite
	a.DoS = addMap(a.DoS, b.DoS)
	return a
}

func addMap(a, b map[string]float64) map[string]float64 {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]float64{}
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}

func sumMap(m map[string]float64) float64 {
	s := 0.0
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s += m[k]
	}
	return s
}

func groupProcesses(samples []rundir.ProcessSample) map[string][]rundir.ProcessSample {
	out := map[string][]rundir.ProcessSample{}
	for _, s := range samples {
		out[s.Name] = append(out[s.Name], s)
	}
	for _, v := range out {
		slices.SortStableFunc(v, func(a, b rundir.ProcessSample) int { return a.Time.Compare(b.Time) })
	}
	return out
}

// Bottleneck is a process (or the machine) that was at or near its CPU
// limit during a step, or the load generator that fell behind its
// schedule.
type Bottleneck struct {
	// Kind is BottleneckClient, BottleneckHarness, BottleneckMachine,
	// BottleneckNetwork, BottleneckGenerator, BottleneckCircuitCap or
	// BottleneckTarget.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Utilisation is the share of a core (of all cores for the machine);
	// for BottleneckGenerator, the share of the offered load it sent; for
	// BottleneckCircuitCap, the share of the time held back
	// (CircuitCapStep.WaitShare).
	Utilisation float64 `json:"utilisation"`
	Evidence    string  `json:"evidence"`
}

// Bottleneck kinds. All but BottleneckTarget limit the measurement rather
// than the relay.
const (
	BottleneckClient  = "client"  // a tor client of the load generator
	BottleneckHarness = "harness" // relaybench itself
	BottleneckMachine = "machine" // all cores of the machine
	BottleneckNetwork = "network" // another relay of the embedded network
	BottleneckTarget  = "target"  // the relay under test: a real relay limit

	// BottleneckGenerator: the open loop sent less than AchievedShareMin
	// of the load its schedule offered, whatever the CPU said (too few
	// workers, or a harness too slow to keep the pace).
	BottleneckGenerator = "generator"
)

// BottleneckUtilisation is the CPU share at which a process counts as a
// bottleneck.
const BottleneckUtilisation = 0.90

// AchievedShareMin is the share of the offered open-loop load the load
// generator must send for a step to measure the load it claims; below it
// the step is generator-bound (BottleneckGenerator).
const AchievedShareMin = 0.95

// generatorBottleneck reports an open-loop step whose load generator sent
// less than AchievedShareMin of the offered requests per second: the
// relay saw less load than the step's name says, and its latency from the
// actual start hides the wait (see IntendedTTFB).
func generatorBottleneck(s StepResult) (Bottleneck, bool) {
	if s.OfferedRate <= 0 || s.AchievedRate >= AchievedShareMin*s.OfferedRate {
		return Bottleneck{}, false
	}
	share := s.AchievedRate / s.OfferedRate
	return Bottleneck{Kind: BottleneckGenerator, Name: "load generator", Utilisation: share,
		Evidence: fmt.Sprintf("the load generator sent %.1f of the %.0f req/s offered (%.0f%%, under %.0f%%): it fell behind its schedule, so the relay saw less load than the step claims (p95 schedule lag %s)",
			s.AchievedRate, s.OfferedRate, share*100, AchievedShareMin*100, fmtSeconds(s.ScheduleLag.P95))}, true
}

// LimitsMeasurement reports whether the bottleneck limits the load
// generator rather than the relay under test.
func (b Bottleneck) LimitsMeasurement() bool { return b.Kind != BottleneckTarget }
