package measure

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// Two limits that are neither the relay's capacity nor the load
// generator's CPU: relaybench's own circuit-rate cap (limits.circuit_rate)
// holding the load back, and the relay's DoS defence refusing relaybench's
// client address. A number taken where either held is a lower bound that
// says so.

// CircuitCapStep is how the circuit-rate cap (limits.circuit_rate) held
// back a step's requests, over its measured windows.
type CircuitCapStep struct {
	// Rate and Burst are the cap: new circuits per second and the bucket.
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
	// Waited counts the step's requests (counted as StepResult.Requests
	// are) that waited for a circuit token; WaitSeconds is their waits
	// summed and WaitMeanSeconds WaitSeconds / Waited.
	Waited          int     `json:"waited"`
	WaitSeconds     float64 `json:"wait_s"`
	WaitMeanSeconds float64 `json:"wait_mean_s"`
	// WaitShare is WaitSeconds over the time the step's requests spent
	// from their intended start to their end: the share of the load
	// generator's time that the cap held it back. At CapWaitShareMin or
	// more the step is cap-bound (BottleneckCircuitCap).
	WaitShare float64 `json:"wait_share"`
}

// CapWaitShareMin is the share of its requests' time (from the intended
// start to the end) that a step spent waiting for circuit tokens for the
// cap to count as its limit. Below it the cap delayed a few circuits
// (the burst at a step's start, say) without limiting the load: a tenth
// of the time is what a rise of the load by a tenth could make up. The
// share is taken over time rather than over requests, so that a few long
// waits count as much as many short ones, and it serves both loops: in
// the closed loop it is the share of the workers' time, in the open loop
// the share of the latency from the intended start.
const CapWaitShareMin = 0.10

// BottleneckCircuitCap: the circuit-rate cap held the step's load back
// (CircuitCapStep.WaitShare at least CapWaitShareMin). It limits the
// measurement: the relay saw less load than the step offered.
const BottleneckCircuitCap = "circuit-cap"

// AttributionCircuitCap: relaybench's circuit-rate cap (limits.circuit_rate)
// held the load back (BottleneckCircuitCap); AttributionDoSDefence: the
// relay's DoS defence refused or killed circuits, connections or streams of
// relaybench's client address (the dos signal). Neither is the relay's
// capacity.
const (
	AttributionCircuitCap Attribution = "circuit-rate-cap"
	AttributionDoSDefence Attribution = "dos-defence"
)

// circuitCapStep returns how the cap held back the requests of windows,
// nil without a cap.
func circuitCapStep(l scenarios.Limits, windows []rundir.StepSummary, recs map[rundir.StepKey][]rundir.Record) *CircuitCapStep {
	if l.CircuitRate <= 0 {
		return nil
	}
	c := &CircuitCapStep{Rate: l.CircuitRate, Burst: l.CircuitBurst}
	var wait, life time.Duration
	for _, w := range windows {
		from := measuredFrom(w)
		for _, rec := range recs[w.StepKey] {
			if rec.End().Before(from) {
				continue // counted with the warm-up, as stepResult does
			}
			if rec.CapWaitNS > 0 {
				c.Waited++
				wait += time.Duration(rec.CapWaitNS)
			}
			life += max(rec.End().Sub(rec.Intended), 0)
		}
	}
	c.WaitSeconds = wait.Seconds()
	if c.Waited > 0 {
		c.WaitMeanSeconds = c.WaitSeconds / float64(c.Waited)
	}
	if life > 0 {
		c.WaitShare = min(wait.Seconds()/life.Seconds(), 1)
	}
	return c
}

// circuitCapBottleneck reports a step whose load the circuit-rate cap held
// back, with what to do about it.
func circuitCapBottleneck(s StepResult) (Bottleneck, bool) {
	c := s.CircuitCap
	if c == nil || c.WaitShare < CapWaitShareMin {
		return Bottleneck{}, false
	}
	return Bottleneck{Kind: BottleneckCircuitCap, Name: "circuit-rate cap", Utilisation: c.WaitShare,
		Evidence: fmt.Sprintf("relaybench's circuit-rate cap (limits.circuit_rate %s/s, circuit_burst %d) held the load back: %d of %d requests waited for a circuit token, %s in all (mean %s), %.0f%% of their time from intended start to end (%.0f%% or more is the cap's limit): the cap, not the relay, limited the load. "+
			"Raise limits.circuit_rate and circuit_burst as far as the relay's DoS defence allows (the live network's is 3/s, burst 90, per client address), set DoS options on your own relay for the test, or use workload.isolation: worker (a circuit per worker instead of one per request)",
			capNumber(c.Rate), c.Burst, c.Waited, s.Requests, fmtSeconds(c.WaitSeconds), fmtSeconds(c.WaitMeanSeconds), c.WaitShare*100, CapWaitShareMin*100)}, true
}

// DoSAdvice is what to do about a dos signal: the run measured the
// relay's DoS defence, not its capacity.
const DoSAdvice = "the relay's DoS defence refused relaybench's client address, so the steps from here measure the defence, not the relay's capacity; " +
	"keep a circuit for many requests (workload.isolation: worker), cap the new circuits below the relay's DoSCircuitCreationRate (limits.circuit_rate, on by default for relay targets at 2/s), " +
	"or on a relay you operate raise its DoS options for the test (DoSCircuitCreationRate and DoSCircuitCreationBurst, DoSConnectionMaxConcurrentCount in its torrc) and restore them after; " +
	"a marked address stays refused for DoSCircuitCreationDefenseTimePeriod (1 hour by default): wait, or restart the relay, before the next run"

// isDoS reports whether sig is the relay's DoS defence.
func isDoS(sig Signal) bool {
	return sig.Source == SourceRelay && sig.Name == string(metricsport.SignalDoS)
}

// defended reports whether the relay's DoS defence acted in step s's
// measured window: the step measured the defence, so it is never the
// capacity.
func defended(s *StepResult) bool { return slices.ContainsFunc(s.Signals, isDoS) }

// explainDoS adds to the dos signals of s the counters' increases by type
// over the step's measured windows and the advice.
func explainDoS(s *StepResult) {
	for i := range s.Signals {
		sig := &s.Signals[i]
		if !isDoS(*sig) {
			continue
		}
		sig.Advice = DoSAdvice
		if s.Relay == nil || !strings.HasPrefix(sig.Evidence, s.Relay.URL+":") {
			continue
		}
		inc := metricsport.DoSLoad(s.Relay.DoS)
		var parts []string
		for _, k := range metricsport.DoSLoadTypes {
			if inc[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s +%s", k, capNumber(inc[k])))
			}
		}
		if len(parts) > 0 {
			sig.Evidence += "; over the measured window: " + strings.Join(parts, ", ")
		}
	}
}

// capNumber prints a rate or count as the scenario spells it (2, 0.5).
func capNumber(f float64) string { return fmt.Sprint(f) }
