package measure

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// Sources of a Signal.
const (
	// SourceRelay: tor itself declared overload on its MetricsPort.
	SourceRelay = "relay"
	// SourceClient: the load generator saw it in goodput, latency or
	// errors.
	SourceClient = "client"
)

// The client-side signals; the relay-declared ones are
// metricsport.SignalName values.
const (
	// SignalSaturation: goodput grew by less than onset.saturation_gain
	// per doubling of the offered load.
	SignalSaturation = "saturation"
	// SignalTTFB: the p95 time to first byte on the attached stream above
	// onset.latency_factor times the first step's: streams wait in the
	// relays' queues.
	SignalTTFB = "ttfb"
	// SignalConnect: the p95 SOCKS connect time (circuit build and stream
	// attach) above onset.connect_factor times the first step's: circuits
	// take longer to build (the relay's CPU answering onionskins, or the
	// path).
	SignalConnect = "connect"
	// SignalErrors: error rate above onset.error_rate. Stalled streams
	// (class stall) and open-loop hits never sent (unsent) are failures
	// too; the evidence lists the classes.
	SignalErrors = "errors"
)

// MinLatencySamples is the fewest samples a p95 is taken from for a
// latency rule: below it the p95 is one of the few slowest samples (of 19
// or fewer, the maximum), and a rule would fire on noise.
const MinLatencySamples = 20

// LatencyRule is what one latency rule (SignalConnect, SignalTTFB)
// compared each step with.
type LatencyRule struct {
	Name string `json:"name"`
	// Factor is the threshold: a step's p95 over Factor times the
	// baseline's fires the rule.
	Factor float64 `json:"factor"`
	// BaselineStep is the first step, whose p95 is the baseline, and
	// BaselineN its number of samples.
	BaselineStep int     `json:"baseline_step"`
	BaselineP95  float64 `json:"baseline_p95_s"`
	BaselineN    int     `json:"baseline_n"`
	// Insufficient, when set, says why the rule judged no step: the
	// baseline had fewer than MinLatencySamples samples.
	Insufficient string `json:"insufficient,omitempty"`
	// SkippedSteps lists the steps the rule did not judge because they
	// had fewer than MinLatencySamples samples.
	SkippedSteps []int `json:"skipped_steps,omitempty"`
}

// Signal is one overload signal that fired at a step, with its evidence.
type Signal struct {
	// Name is a metricsport.SignalName (relay) or SignalSaturation,
	// SignalTTFB, SignalConnect, SignalErrors (client).
	Name string `json:"name"`
	// Source is SourceRelay or SourceClient.
	Source string `json:"source"`
	Step   int    `json:"step"`
	Load   int    `json:"load"`
	// At is when a relay signal first showed (zero for client signals).
	At time.Time `json:"at,omitzero"`
	// Reps lists the repetitions in which a relay signal fired.
	Reps []int `json:"reps,omitempty"`
	// Series is the MetricsPort series behind a relay signal.
	Series string `json:"series,omitempty"`
	// Value and Threshold are what was compared: for saturation the
	// goodput gain and the gain required, for ttfb and connect the p95
	// ratio to the first step and the factor, for errors the error rate
	// and its limit. Relay signals carry the series' value at At.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Evidence is a one-line account for reports.
	Evidence string `json:"evidence"`
	// Advice says what to do when the signal means the run measured
	// something other than the relay's capacity (dos: the relay's DoS
	// defence refused relaybench's client address).
	Advice string `json:"advice,omitempty"`
}

// Onset is the first step at which the relay stopped keeping up.
type Onset struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// Cause names the leading signal: relay-declared signals before
	// client-side ones, earlier before later.
	Cause string `json:"cause"`
	// Signals are all the signals that fired at the step, Cause first.
	Signals []Signal `json:"signals"`
	// LoadGeneratorBound is true when the load generator (client tors,
	// relaybench or the machine) was at its limit at the onset step: a
	// client-side signal then says more about the generator than the relay.
	LoadGeneratorBound bool `json:"load_generator_bound"`
	// Attribution is whose limit the onset was (the step's, see
	// StepResult.Attribution; AttributionUnknown when nothing measured was
	// at its limit), and AttributionEvidence why.
	Attribution         Attribution `json:"attribution"`
	AttributionEvidence []string    `json:"attribution_evidence,omitempty"`
}

// Capacity is the highest goodput the relay sustained up to the onset at a
// healthy step: one where neither the errors rule nor a latency rule
// (connect, ttfb) fired. A step where streams failed or waited twice as
// long carried its goodput at a cost, so it is never the capacity.
type Capacity struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// Goodput is the client goodput estimate at that step, bytes/s.
	Goodput Estimate `json:"goodput"`
	// RepGoodput is each repetition's goodput at that step (bytes/s), in
	// repetition order: the capacity's samples, one per repetition, which
	// compare tests; Goodput.Mean is their mean.
	RepGoodput []float64 `json:"rep_goodput"`
	// LastHealthy is the highest-load healthy step up to the onset,
	// beside the peak above: the most load carried without failing or
	// slowing streams. Often the capacity step itself.
	LastHealthy *StepRef `json:"last_healthy,omitempty"`
	// RelayReadBps and RelayWrittenBps are the relay's own traffic there;
	// 0 without MetricsPort data.
	RelayReadBps    float64 `json:"relay_read_bps"`
	RelayWrittenBps float64 `json:"relay_written_bps"`
	// RelayEfficiency is the relay's bytes written per CPU-second there
	// (StepResult.RelayEfficiency); 0 when unknown.
	RelayEfficiency float64 `json:"relay_bytes_per_cpu_s,omitempty"`
	// LowerBound is true when the relay can carry more than this: no
	// overload was reached, or the limit was not the relay's (Attribution
	// is not AttributionRelay: always a lower bound then).
	LowerBound bool `json:"lower_bound"`
	// Reasons says why it is a lower bound.
	Reasons []string `json:"reasons,omitempty"`
	// Attribution is whose limit the capacity is (see judgeCapacity) and
	// AttributionEvidence why.
	Attribution         Attribution `json:"attribution"`
	AttributionEvidence []string    `json:"attribution_evidence,omitempty"`
	// Path is true for a live relay (target.kind relay) whose own
	// counters did not show it at its limit: the number is the capacity
	// of the path through it, a lower bound of the relay's.
	Path bool `json:"path,omitempty"`
}

// StepRef is a step with its goodput.
type StepRef struct {
	Step    int      `json:"step"`
	Load    int      `json:"load"`
	Goodput Estimate `json:"goodput"`
}

// stepPart is the part of a step a relay signal is looked for in.
type stepPart int

const (
	// measuredPart is the measured window, after the warm-up: signals
	// there count toward the onset.
	measuredPart stepPart = iota
	// warmupPart is the warm-up, whose burst of new circuits can trip a
	// counter once: reported apart (StepResult.WarmupSignals).
	warmupPart
)

// relaySignals runs metricsport.DetectOnsets over one part of each
// repetition's window of one step: the last successful scrape before the
// part is the baseline, so a counter that rose during it fires there and
// counts carried over from earlier do not.
func relaySignals(url string, obs []metricsport.Observation, windows []rundir.StepSummary, th scenarios.Onset, part stepPart) []Signal {
	byName := map[string]*Signal{}
	var order []string
	for _, w := range windows {
		from, to := measuredFrom(w), w.End
		if part == warmupPart {
			from, to = w.Start, measuredFrom(w)
			if !to.After(from) {
				continue // no warm-up
			}
		}
		var win []metricsport.Observation
		for _, o := range obs {
			switch {
			case !o.At.After(from):
				if o.Snapshot != nil {
					win = []metricsport.Observation{o} // the latest baseline
				}
			case !o.At.After(to):
				o.UnderLoad = true
				win = append(win, o)
			}
		}
		cfg := metricsport.SignalConfig{SocketFraction: th.SocketFraction}
		found := metricsport.DetectOnsets(win, cfg)
		// DetectOnsets reports each signal's first firing only. A gauge
		// signal (sockets) already true at the baseline fires there, before
		// the step, and would be lost to the step; the window without its
		// baseline finds it within the step. Counter signals need the
		// baseline, so both runs are merged, earliest in-step first.
		if len(win) > 0 && !win[0].At.After(from) {
			found = append(found, metricsport.DetectOnsets(win[1:], cfg)...)
			slices.SortStableFunc(found, func(a, b metricsport.OnsetSignal) int { return a.At.Compare(b.At) })
		}
		for _, s := range found {
			if !s.At.After(from) {
				continue // the baseline itself, from before the part
			}
			name := string(s.Name)
			if sig := byName[name]; sig != nil {
				if !slices.Contains(sig.Reps, w.Repetition) {
					sig.Reps = append(sig.Reps, w.Repetition)
				}
				continue // the first firing in the step is the evidence
			}
			byName[name] = &Signal{
				Name: name, Source: SourceRelay, Step: w.Step, Load: w.Load, At: s.At,
				Reps: []int{w.Repetition}, Series: s.Series, Value: s.After, Threshold: s.Limit,
				Evidence: fmt.Sprintf("%s: %s", url, s.Evidence),
			}
			order = append(order, name)
		}
	}
	var out []Signal
	for _, n := range order {
		sig := *byName[n]
		if len(windows) > 1 {
			sig.Evidence += fmt.Sprintf(" (in %d of %d repetitions)", len(sig.Reps), len(windows))
		}
		if part == warmupPart {
			sig.Evidence += " (during the warm-up: not counted toward the onset)"
		}
		out = append(out, sig)
	}
	return out
}

// clientSignals adds the error, latency (connect, ttfb) and saturation
// signals to steps and returns what the latency rules compared with.
func clientSignals(steps []StepResult, th scenarios.Onset) []LatencyRule {
	for i := range steps {
		s := &steps[i]
		if s.ErrorRate > th.ErrorRate {
			failed := s.Requests - s.OK - s.Cut
			s.Signals = append(s.Signals, Signal{
				Name: SignalErrors, Source: SourceClient, Step: s.Step, Load: s.Load,
				Value: s.ErrorRate, Threshold: th.ErrorRate,
				Evidence: fmt.Sprintf("%d of %d requests failed (%.1f%%, limit %.1f%%): %s",
					failed, s.OK+failed, s.ErrorRate*100, th.ErrorRate*100, errorText(s.Errors)),
			})
		}
	}
	rules := []LatencyRule{
		latencyRule(steps, SignalConnect, th.ConnectFactor, "SOCKS connect (circuit build and stream attach)",
			func(s *StepResult) Distribution { return s.Connect }),
		latencyRule(steps, SignalTTFB, th.LatencyFactor, "time to first byte on the attached stream",
			func(s *StepResult) Distribution { return s.TTFB }),
	}
	for i := 1; i < len(steps); i++ {
		s, prev := &steps[i], &steps[i-1]
		if prev.Load <= 0 || s.Load <= prev.Load || prev.Goodput.Mean <= 0 || prev.Goodput.N == 0 || s.Goodput.N == 0 {
			continue
		}
		// The gain asked for scales with how much the load grew: 10 % per
		// doubling means 5.8 % from 2 to 3 streams.
		doublings := math.Log2(float64(s.Load) / float64(prev.Load))
		need := th.SaturationGain * doublings
		gain := s.Goodput.Mean/prev.Goodput.Mean - 1
		if gain < need {
			s.Signals = append(s.Signals, Signal{
				Name: SignalSaturation, Source: SourceClient, Step: s.Step, Load: s.Load,
				Value: gain, Threshold: need,
				Evidence: fmt.Sprintf("goodput %s → %s (%+.1f%%) while the load went %d → %d; at least %+.1f%% was expected",
					units.MiBps(prev.Goodput.Mean), units.MiBps(s.Goodput.Mean), gain*100, prev.Load, s.Load, need*100),
			})
		}
	}
	return rules
}

// latencyRule compares the p95 of each step's latency dist with the first
// step's and adds signal name where it exceeds factor times that. A p95 of
// fewer than MinLatencySamples samples is not judged, the baseline's
// included: the rule then says so instead of firing on noise.
func latencyRule(steps []StepResult, name string, factor float64, what string, dist func(*StepResult) Distribution) LatencyRule {
	rule := LatencyRule{Name: name, Factor: factor}
	if len(steps) == 0 {
		rule.Insufficient = "no steps"
		return rule
	}
	base := dist(&steps[0])
	rule.BaselineStep, rule.BaselineP95, rule.BaselineN = steps[0].Step, base.P95, base.N
	if base.N < MinLatencySamples || base.P95 <= 0 {
		rule.Insufficient = fmt.Sprintf("insufficient samples: the first step has %d %s samples, a p95 needs at least %d", base.N, what, MinLatencySamples)
		return rule
	}
	for i := 1; i < len(steps); i++ {
		s := &steps[i]
		d := dist(s)
		if d.N < MinLatencySamples {
			rule.SkippedSteps = append(rule.SkippedSteps, s.Step)
			continue
		}
		if ratio := d.P95 / base.P95; ratio > factor {
			s.Signals = append(s.Signals, Signal{
				Name: name, Source: SourceClient, Step: s.Step, Load: s.Load,
				Value: ratio, Threshold: factor,
				Evidence: fmt.Sprintf("p95 %s %s is %.1f× the first step's %s (limit %.1f×; %d and %d samples)",
					what, fmtSeconds(d.P95), ratio, fmtSeconds(base.P95), factor, d.N, base.N),
			})
		}
	}
	return rule
}

// signalRank orders signals: tor's own declarations first, its DoS
// defence before the others (once it refuses relaybench's address, the
// step measures the defence), then errors, the latency rules (ttfb, then
// connect) and saturation (the most direct symptom first).
func signalRank(s Signal) int {
	if isDoS(s) {
		return 0
	}
	if s.Source == SourceRelay {
		return 1
	}
	switch s.Name {
	case SignalErrors:
		return 2
	case SignalTTFB:
		return 3
	case SignalConnect:
		return 4
	}
	return 5
}

// unhealthy reports whether streams failed or slowed at step s: the errors
// rule or a latency rule fired there.
func unhealthy(s *StepResult) bool {
	for _, sig := range s.Signals {
		switch sig.Name {
		case SignalErrors, SignalTTFB, SignalConnect:
			if sig.Source == SourceClient {
				return true
			}
		}
	}
	return false
}

func sortSignals(s []Signal) {
	slices.SortStableFunc(s, func(a, b Signal) int {
		return cmp.Or(cmp.Compare(signalRank(a), signalRank(b)), a.At.Compare(b.At), strings.Compare(a.Name, b.Name))
	})
}

func findOnset(steps []StepResult) *Onset {
	for _, s := range steps {
		if len(s.Signals) == 0 {
			continue
		}
		o := &Onset{Step: s.Step, Load: s.Load, Cause: s.Signals[0].Name, Signals: s.Signals, LoadGeneratorBound: s.LoadGeneratorBound}
		o.Attribution, o.AttributionEvidence = onsetAttribution(&s)
		return o
	}
	return nil
}

// findCapacity picks the step with the highest mean goodput among the
// healthy steps (see unhealthy) up to and including the onset step (all
// steps without onset), leaving out the steps where the relay's DoS
// defence acted (see defended): they measured the defence. The onset step is included when it is healthy,
// because it is where the relay was at its limit: with a rate limit that
// binds from the first step, the first step is the capacity. judgeCapacity
// then says whose limit it is and whether it is a lower bound. It returns
// nil and why when no step qualifies.
func findCapacity(steps []StepResult, onset *Onset, liveRelay bool) (*Capacity, string) {
	var best, last *StepResult
	carried := false
	for i := range steps {
		s := &steps[i]
		if onset != nil && s.Step > onset.Step {
			break
		}
		if s.Goodput.N == 0 || s.Goodput.Mean <= 0 {
			continue
		}
		carried = true
		if unhealthy(s) || defended(s) {
			continue
		}
		last = s
		if best == nil || s.Goodput.Mean > best.Goodput.Mean {
			best = s
		}
	}
	if best == nil {
		if !carried {
			return nil, "no step carried any bytes"
		}
		if onset != nil && onset.Cause == string(metricsport.SignalDoS) {
			return nil, fmt.Sprintf("the relay's DoS defence refused relaybench's client address from the first step on (onset at step %d, %s): no step to take it from", onset.Step+1, onset.Cause)
		}
		return nil, fmt.Sprintf("streams failed or slowed from the first step on (onset at step %d, %s): no healthy step to take it from", onset.Step+1, onset.Cause)
	}
	c := &Capacity{Step: best.Step, Load: best.Load, Goodput: best.Goodput,
		LastHealthy: &StepRef{Step: last.Step, Load: last.Load, Goodput: last.Goodput}}
	if best.Relay != nil {
		c.RelayReadBps, c.RelayWrittenBps = best.Relay.ReadBps, best.Relay.WrittenBps
	}
	c.RelayEfficiency = best.RelayEfficiency
	judgeCapacity(c, steps, onset, liveRelay)
	return c, ""
}

func errorText(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func fmtSeconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}
