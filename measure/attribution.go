package measure

import (
	"fmt"
	"strings"

	"github.com/relaybench/relaybench/measure/metricsport"
)

// Attribution says whose limit a number is: which part of the set-up was
// at its limit where an onset fired or a capacity was taken. On one
// machine the rest of the embedded network, the tor clients and relaybench
// carry the same bytes as the relay under test and share its cores, so a
// number is the relay's only with evidence that the relay was the limit;
// otherwise it is a lower bound of the relay's and says whose it is.
type Attribution string

const (
	// AttributionRelay: the relay under test was the limit. Evidence is
	// its own: its CPU at its quota, or at one core unconfined (the
	// relay-cpu signal), a relay-declared signal on its MetricsPort
	// (onionskins dropped, OOM, TCP exhaustion, sockets) or its rate
	// limiter (rate-limit).
	AttributionRelay Attribution = "relay"
	// AttributionLoadGenerator: a tor client or relaybench itself at
	// BottleneckUtilisation of a core at p90, or an open loop that sent
	// less than AchievedShareMin of the offered load.
	AttributionLoadGenerator Attribution = "load-generator"
	// AttributionNetwork: another relay of the embedded network at
	// BottleneckUtilisation of a core at p90.
	AttributionNetwork Attribution = "network"
	// AttributionMachine: all cores of the machine busy at p90
	// (BottleneckUtilisation), foreign load included.
	AttributionMachine Attribution = "machine"
	// AttributionCircuitCap and AttributionDoSDefence are in circuitcap.go.

	// AttributionUnknown: nothing measured was at its limit and the relay
	// declared nothing, or the relay's MetricsPort and CPU were not
	// measured (relay and socks targets).
	AttributionUnknown Attribution = "unknown"
)

// SignalRelayCPU is the relay-side signal of a relay under test at its CPU
// limit: unconfined, at p90 over a step's sampling intervals it used at
// least BottleneckUtilisation of one core; confined, its cgroup throttled
// it in most periods or its mean reached BottleneckUtilisation of its quota
// (see relayBound). Source SourceRelay: it is the relay's own CPU, not what
// the clients saw.
const SignalRelayCPU = "relay-cpu"

// ThrottledShareMin is the share of a confined relay's enforcement periods
// (those with work) in which it must have run out of quota for the quota
// to count as its limit even below BottleneckUtilisation of it on average.
const ThrottledShareMin = 0.5

// relayCPUSignal is the relay-cpu signal of step s, when the relay under
// test was at its CPU limit there (see relayBound).
func relayCPUSignal(s *StepResult) (Signal, bool) {
	ev, ok := relayBound(s)
	if !ok {
		return Signal{}, false
	}
	return Signal{Name: SignalRelayCPU, Source: SourceRelay, Step: s.Step, Load: s.Load,
		Value: s.TargetCPU.P90, Threshold: BottleneckUtilisation, Evidence: ev}, true
}

// relayEvidence reports whether sig is the relay's own evidence of being
// at its limit: every relay-side signal but an unreachable MetricsPort,
// which says nothing about the relay's load, and its DoS defence, which
// refuses a client whatever the relay's capacity (AttributionDoSDefence).
func relayEvidence(sig Signal) bool {
	return sig.Source == SourceRelay && sig.Name != string(metricsport.SignalMetricsPortUnreachable) && !isDoS(sig)
}

// attributionOf maps a bottleneck kind to whose limit it is.
func attributionOf(kind string) Attribution {
	switch kind {
	case BottleneckTarget:
		return AttributionRelay
	case BottleneckMachine:
		return AttributionMachine
	case BottleneckClient, BottleneckHarness, BottleneckGenerator:
		return AttributionLoadGenerator
	case BottleneckNetwork:
		return AttributionNetwork
	case BottleneckCircuitCap:
		return AttributionCircuitCap
	}
	return AttributionUnknown
}

// attributionRank is the precedence when several limits held at one
// step, lowest first:
//
//  1. dos-defence: the relay's DoS defence refused relaybench's client
//     address. Whatever else held, the relay then turned load away on
//     purpose: the step measured the defence.
//  2. relay: the relay's own counters or its CPU at its quota (or one
//     core). They describe the relay from inside, whatever else was busy:
//     a relay that used its whole quota, or whose rate limiter ran dry,
//     could carry no more even on an idle machine.
//  3. circuit-rate-cap: relaybench's own cap on new circuits held the
//     load back by design: the relay saw less than the step offered,
//     however busy the machine was.
//  4. machine: all cores busy. Every process, the relay included, was
//     short of CPU, so a client or another relay at its core is a
//     symptom of the machine before it is a limit of its own.
//  5. load-generator: a tor client or relaybench at its core, or an open
//     loop behind its schedule: the load offered was not the load sent.
//  6. network: another relay of the embedded network at its core, the
//     narrowest hop of the path.
//
// Below them all is unknown: nothing measured was at its limit.
func attributionRank(a Attribution) int {
	switch a {
	case AttributionDoSDefence:
		return 0
	case AttributionRelay:
		return 1
	case AttributionCircuitCap:
		return 2
	case AttributionMachine:
		return 3
	case AttributionLoadGenerator:
		return 4
	case AttributionNetwork:
		return 5
	}
	return 6
}

// stepAttribution decides whose limit was binding at step s from its relay
// signals and its bottlenecks (see attributionRank), with the evidence of
// the winner first and the other limits that held after it ("also: ...").
// It returns "" when nothing was at its limit.
func stepAttribution(s *StepResult) (Attribution, []string) {
	type limit struct {
		who      Attribution
		evidence string
	}
	var limits []limit
	for _, sig := range s.Signals {
		// relay-cpu has a target bottleneck beside it with the same
		// evidence: the bottleneck speaks for both.
		switch {
		case isDoS(sig):
			limits = append(limits, limit{AttributionDoSDefence, fmt.Sprintf("%s (relay): %s", sig.Name, sig.Evidence)})
		case relayEvidence(sig) && sig.Name != SignalRelayCPU:
			limits = append(limits, limit{AttributionRelay, fmt.Sprintf("%s (relay): %s", sig.Name, sig.Evidence)})
		}
	}
	for _, b := range s.Bottlenecks {
		limits = append(limits, limit{attributionOf(b.Kind), b.Evidence})
	}
	if len(limits) == 0 {
		return "", nil
	}
	best := limits[0].who
	for _, l := range limits {
		if attributionRank(l.who) < attributionRank(best) {
			best = l.who
		}
	}
	var evidence, also []string
	for _, l := range limits {
		if l.who == best {
			evidence = append(evidence, l.evidence)
		} else {
			also = append(also, "also at its limit: "+l.evidence)
		}
	}
	return best, append(evidence, also...)
}

// unknownEvidence says why nothing at step s tells whose limit it was.
func unknownEvidence(s *StepResult) string {
	if s.Relay == nil && s.TargetCPU.Intervals == 0 {
		return "neither the relay's MetricsPort nor its CPU was measured: whose limit this is cannot be told"
	}
	var parts []string
	if s.TargetCPU.Intervals > 0 {
		of := "of a core"
		if s.TargetQuotaCores > 0 {
			of = "of its quota"
		}
		parts = append(parts, fmt.Sprintf("the relay used %.0f%% %s at p90", s.TargetCPU.P90*100, of))
	} else {
		parts = append(parts, "the relay's CPU was not measured")
	}
	if s.Relay != nil {
		parts = append(parts, "declared no overload on its MetricsPort")
	} else {
		parts = append(parts, "its MetricsPort was not scraped")
	}
	if s.MachineBusy.Intervals > 0 {
		parts = append(parts, fmt.Sprintf("the machine was %.0f%% busy at p90", s.MachineBusy.P90*100))
	}
	return "nothing measured was at its limit: " + strings.Join(parts, ", ")
}

// onsetAttribution is whose limit the onset at step s was: the step's, or
// unknown with why.
func onsetAttribution(s *StepResult) (Attribution, []string) {
	if s.Attribution != "" {
		return s.Attribution, s.AttributionEvidence
	}
	return AttributionUnknown, []string{unknownEvidence(s)}
}

// judgeCapacity decides whose limit capacity c is and whether it is only
// a lower bound of the relay's capacity, setting c's Attribution, its
// evidence, LowerBound, Reasons and Path. Its attribution is the capacity
// step's when a limit held there, else the onset step's (the limit that
// stopped the goodput from growing), else unknown. Anything but the relay
// makes it a lower bound; so does a run without onset (the relay may carry
// more than the highest load tried). liveRelay says the target is a live
// relay reached through the clients: without its own evidence the number
// is the path's capacity.
func judgeCapacity(c *Capacity, steps []StepResult, onset *Onset, liveRelay bool) {
	c.LowerBound, c.Reasons, c.Path = false, nil, false
	var best, onsetStep *StepResult
	for i := range steps {
		if steps[i].Step == c.Step {
			best = &steps[i]
		}
		if onset != nil && steps[i].Step == onset.Step {
			onsetStep = &steps[i]
		}
	}
	if best == nil {
		return
	}
	switch {
	case best.Attribution != "":
		c.Attribution, c.AttributionEvidence = best.Attribution, best.AttributionEvidence
	case onsetStep != nil:
		c.Attribution, c.AttributionEvidence = onsetAttribution(onsetStep)
	default:
		c.Attribution, c.AttributionEvidence = AttributionUnknown, []string{unknownEvidence(best)}
	}
	switch {
	case onset == nil:
		c.LowerBound = true
		c.Reasons = append(c.Reasons, "no overload signal fired: the relay may carry more than the highest load tried")
	case onset.Cause == string(metricsport.SignalDoS):
		c.LowerBound = true
		c.Reasons = append(c.Reasons, fmt.Sprintf("the onset at step %d was the relay's DoS defence refusing relaybench's client address, not overload: the relay may carry more than the steps before it", onset.Step+1))
	}
	if c.Attribution == AttributionRelay {
		return
	}
	c.LowerBound = true
	c.Path = liveRelay
	n := len(c.Reasons)
	for _, b := range best.Bottlenecks {
		if b.LimitsMeasurement() {
			c.Reasons = append(c.Reasons, b.Evidence)
		}
	}
	if onsetStep != nil && onsetStep != best && onset.LoadGeneratorBound {
		for _, b := range onsetStep.Bottlenecks {
			if b.LimitsMeasurement() {
				c.Reasons = append(c.Reasons, fmt.Sprintf("at the onset step (load %d): %s", onsetStep.Load, b.Evidence))
			}
		}
	}
	if len(c.Reasons) == n {
		// No bottleneck says it: the attribution's own evidence does.
		c.Reasons = append(c.Reasons, c.AttributionEvidence...)
	}
	if c.Path {
		c.Reasons = append(c.Reasons, "the relay under test is a live relay reached through tor clients, and its own counters did not show it at its limit: this is the capacity of the path through it")
	}
}

// Bound words whose limit c is, for a lower bound: "machine-bound",
// "load-generator-bound", "network-bound", "whose limit is unknown", with
// "path capacity, " before it for a live relay's path; "relay-bound" for
// the relay's own.
func (c *Capacity) Bound() string {
	var b string
	switch c.Attribution {
	case AttributionUnknown, "":
		b = "whose limit is unknown"
	default:
		b = string(c.Attribution) + "-bound"
	}
	if c.Path {
		b = "path capacity, " + b
	}
	return b
}
