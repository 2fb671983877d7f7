// Package verdict owns what a run concluded as the reports state it: the
// capacity, the overload onset, the bottlenecks, the threshold gates and
// the problems with the raw data, as a value (Of) and in words (Sections).
//
// The conclusions themselves are measure's: measure.Analyze computes the
// capacity, the onset, the bottlenecks and the gates once and summary.json
// stores them. This package picks what a reader of a run needs from them
// and words it. Every report renders the same Sections, so the terminal,
// report.md and report.html cannot disagree; each section and each line
// carries a kind taken from the value it words, so that a renderer styles
// it (report.html's colours) without ever reading its words.
//
// A conclusion added to measure.Capacity or measure.Onset reaches the
// reports by wording it here, as a clause of a head or a Line of a new
// Kind: the renderers only map kinds to styles. Whose limit a capacity or
// an onset is (measure.Attribution) is such a clause ("≥ 21.60 MiB/s,
// machine-bound") with LineLimitRelay or LineLimitOther lines.
package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
)

const mib = 1 << 20

// Verdict is the conclusion of one run. It shares its parts with the
// Analysis it was taken from.
type Verdict struct {
	// LoadUnit is what a step's load counts: "streams" or "req/s".
	LoadUnit string
	// Capacity is the highest sustained goodput of a healthy step, its
	// step and load, the last healthy step beside it, and whether (and
	// why) it is only a lower bound of the relay's capacity; nil when it
	// is unknown, NoCapacity says why.
	Capacity   *measure.Capacity
	NoCapacity string
	// Onset is the first overloaded step with the signals that fired
	// there and their evidence; nil when no overload signal fired.
	Onset *measure.Onset
	// LatencyRules are the connect and ttfb rules: the lines say where
	// one could not judge for want of samples.
	LatencyRules []measure.LatencyRule
	// Bottlenecks are the processes (or the machine) at their CPU limit,
	// step by step in step order.
	Bottlenecks []Bottleneck
	// Gates are the outcomes of the scenario's thresholds, each with its
	// value and limit; none when the scenario sets no thresholds.
	Gates []measure.Gate
	// Problems are the missing or damaged raw data; with any, the gates
	// are not judged.
	Problems []string
	// Unjudged says why the gates are not judged (fail closed): damaged
	// input, an interrupted run, no request at all; empty when they are.
	Unjudged []string
	// Interruptions are the steps the run stopped in before their end.
	Interruptions []measure.Interruption
	// Warnings are what went wrong during the run without stopping it.
	Warnings []string
	// Notes are remarks on the raw data that are not damage.
	Notes []string
	// OnsetAbort is where onset.abort stopped the run; nil when it did not.
	OnsetAbort *rundir.OnsetAbort
	// LiveRelay is set for a relay target on the live network.
	LiveRelay *measure.LiveRelay
}

// Bottleneck is a measure.Bottleneck with the step it was seen at.
type Bottleneck struct {
	// Step is 0-based; Load is the step's load in the verdict's LoadUnit.
	Step, Load int
	measure.Bottleneck
}

// Of takes the verdict of a.
func Of(a *measure.Analysis) Verdict {
	v := Verdict{LoadUnit: a.LoadUnit, Capacity: a.Capacity, NoCapacity: a.NoCapacity, Onset: a.Onset,
		LatencyRules: a.LatencyRules, Gates: a.Gates, Problems: a.Problems,
		Unjudged: a.Unjudged(), Interruptions: a.Interruptions, Warnings: a.Warnings, Notes: a.Notes,
		OnsetAbort: a.OnsetAbort, LiveRelay: a.LiveRelay}
	for _, s := range a.Steps {
		for _, b := range s.Bottlenecks {
			v.Bottlenecks = append(v.Bottlenecks, Bottleneck{Step: s.Step, Load: s.Load, Bottleneck: b})
		}
	}
	return v
}

// FailedGates counts the gates the run did not pass.
func (v Verdict) FailedGates() int {
	n := 0
	for _, g := range v.Gates {
		if !g.Passed {
			n++
		}
	}
	return n
}

// Kind says what a Section or a Line states: the Kind* values are
// sections' kinds, the Line* values lines'.
type Kind int

const (
	// The kinds of sections.

	// KindCapacity: the capacity, its step and load, and whose limit it
	// is (a LineLowerBound line and its reasons follow when it is only a
	// lower bound, a LineLimitRelay line and its evidence when the relay
	// was the limit).
	KindCapacity Kind = iota + 1
	// KindCapacityUnknown: no step carried any bytes, or none was
	// healthy.
	KindCapacityUnknown
	// KindOnset: the overload onset and its signals.
	KindOnset
	// KindNoOnset: no overload signal fired at any step.
	KindNoOnset
	// KindBottlenecks: processes at their CPU limit.
	KindBottlenecks
	// KindThresholdsPassed: the run passed every gate.
	KindThresholdsPassed
	// KindThresholdsFailed: the run failed at least one gate.
	KindThresholdsFailed
	// KindProblems: problems with the raw data.
	KindProblems
	// KindThresholdsNotJudged: the run has gates, but its input is
	// damaged, missing or cut short: they are not judged (fail closed).
	KindThresholdsNotJudged
	// KindInterrupted: the run stopped before its end, and where.
	KindInterrupted
	// KindWarnings: what went wrong during the run without stopping it.
	KindWarnings
	// KindNotes: remarks on the raw data that are not damage.
	KindNotes
	// KindOnsetAbort: onset.abort stopped the run, where and on which
	// relay-declared signal.
	KindOnsetAbort
	// KindLiveRelay: a relay target on the live network: the proof that
	// its operator runs it, and what the test does to it beyond the run.
	KindLiveRelay

	// The kinds of lines.

	// LineItem is one of a list: a reason, a signal, a bottleneck, a
	// problem.
	LineItem
	// LineLowerBound says that the capacity is only a lower bound; its
	// reasons follow as items.
	LineLowerBound
	// LineGeneratorBound says that the load generator was at its limit
	// at the onset step.
	LineGeneratorBound
	// LineGatePassed and LineGateFailed are one gate each.
	LineGatePassed
	LineGateFailed
	// LineLastHealthy names the last healthy step beside the capacity.
	LineLastHealthy
	// LineRuleNotApplied says that a latency rule could not judge the
	// run or some steps: too few samples for a p95.
	LineRuleNotApplied
	// LineLimitRelay says that the relay under test was the limit (the
	// capacity's or the onset's attribution); its evidence follows as
	// items.
	LineLimitRelay
	// LineLimitOther says whose limit it was when not the relay's (the
	// machine, the load generator, the test network) or that it is
	// unknown; its evidence follows as items.
	LineLimitOther
	// LineGateNotJudged is one gate of a run whose gates are not judged,
	// with what it measured on the data there was.
	LineGateNotJudged
)

// Section is one paragraph of the verdict: a head and the lines under it.
type Section struct {
	Kind  Kind
	Head  string
	Lines []Line
}

// Line is one line under a section's head.
type Line struct {
	Kind Kind
	Text string
}

// Sections words v: the capacity, the onset, then where there are any the
// onset abort, the interruption, the bottlenecks, the gates, the problems,
// the warnings, the notes and the live relay.
func (v Verdict) Sections() []Section {
	out := []Section{v.capacity(), v.onset()}
	if a := v.OnsetAbort; a != nil {
		rep := ""
		if a.Repetition > 0 {
			rep = fmt.Sprintf(" of repetition %d", a.Repetition+1)
		}
		s := Section{Kind: KindOnsetAbort, Head: fmt.Sprintf("aborted at step %d (%d %s)%s on %s (onset.abort): the relay declared overload, so the run stopped there",
			a.Step+1, a.Load, v.LoadUnit, rep, a.Signal)}
		s.item(a.Evidence)
		out = append(out, s)
	}
	if len(v.Interruptions) > 0 {
		s := Section{Kind: KindInterrupted, Head: "interrupted: the run stopped before its end"}
		for _, i := range v.Interruptions {
			s.item(i.Text(v.LoadUnit))
		}
		out = append(out, s)
	}
	if len(v.Bottlenecks) > 0 {
		s := Section{Kind: KindBottlenecks, Head: "bottlenecks:"}
		for _, b := range v.Bottlenecks {
			s.item(fmt.Sprintf("step %d (%d %s): %s", b.Step+1, b.Load, v.LoadUnit, b.Evidence))
		}
		out = append(out, s)
	}
	if len(v.Gates) > 0 {
		s := Section{Kind: KindThresholdsPassed, Head: "thresholds: passed"}
		switch {
		case len(v.Unjudged) > 0:
			s.Kind, s.Head = KindThresholdsNotJudged, "thresholds: NOT JUDGED (fail closed): "+strings.Join(v.Unjudged, "; ")
		case v.FailedGates() > 0:
			s.Kind, s.Head = KindThresholdsFailed, "thresholds: FAILED"
		}
		for _, g := range v.Gates {
			kind, mark := LineGatePassed, "ok  "
			switch {
			case len(v.Unjudged) > 0:
				kind, mark = LineGateNotJudged, "--  "
			case !g.Passed:
				kind, mark = LineGateFailed, "FAIL"
			}
			s.Lines = append(s.Lines, Line{Kind: kind, Text: fmt.Sprintf("%s %s: %s (limit %s): %s", mark, g.Name, g.Value, g.Limit, g.Detail)})
		}
		out = append(out, s)
	}
	if len(v.Problems) > 0 {
		s := Section{Kind: KindProblems, Head: "problems with the raw data:"}
		for _, p := range v.Problems {
			s.item(p)
		}
		out = append(out, s)
	}
	for _, l := range []struct {
		kind  Kind
		head  string
		items []string
	}{
		{KindWarnings, "warnings during the run:", v.Warnings},
		{KindNotes, "notes on the raw data:", v.Notes},
	} {
		if len(l.items) > 0 {
			s := Section{Kind: l.kind, Head: l.head}
			for _, it := range l.items {
				s.item(it)
			}
			out = append(out, s)
		}
	}
	if v.LiveRelay != nil {
		out = append(out, v.liveRelay())
	}
	return out
}

// liveRelay words a relay target's section: how the run knew that its
// operator runs it, and what the test left behind on the live network.
func (v Verdict) liveRelay() Section {
	s := Section{Kind: KindLiveRelay, Head: "relay on the live network:"}
	switch p := v.LiveRelay.Proof; {
	case p == nil:
		s.item("proof of operating it: not recorded (a run from before relaybench asked for one)")
	case p.Kind == rundir.ProofSkipped:
		s.item("proof of operating it: none, skipped with --skip-relay-proof")
	default:
		s.item(fmt.Sprintf("proof of operating it (%s): %s", p.Kind, p.Detail))
	}
	if c := liveRelayContent(v.LiveRelay); c != "" {
		s.item(c)
	}
	// bwhist.c: the observed bandwidth is the lower of read and write of
	// the highest 10-second total of each of the last 5 days.
	s.item("this test raised the relay's advertised bandwidth for up to 5 days: tor advertises the highest rate it sustained for 10 seconds in the last 5 days, " +
		"so the bandwidth scanners may give it more weight and the network send it more clients until that rate ages out; " +
		"its traffic in the coming days is not its usual load, and a rerun meanwhile meets a busier relay")
	return s
}

// liveRelayContent says whether the bytes a relay target's run counted
// were relaybench's payload: through other volunteers' exits, whatever
// answered the URL is counted unless relaybench could check it. "" for a
// run without a successful download (or from before the counts).
func liveRelayContent(l *measure.LiveRelay) string {
	switch {
	case l.Succeeded == 0:
		return ""
	case l.Verified == l.Succeeded:
		return fmt.Sprintf("content: all %d successful downloads were relaybench's payload, checked byte for byte", l.Succeeded)
	case l.Verified == 0:
		return fmt.Sprintf("content: not verified: none of the %d successful downloads came from a relaybench payload server, so the bytes counted may be anything that answered payload.url; serve it with `relaybench serve`", l.Succeeded)
	}
	return fmt.Sprintf("content: %d of %d successful downloads verified as relaybench's payload; the other %d came without its X-Payload-Seed header (another server answered, or something on the path changed the response)",
		l.Verified, l.Succeeded, l.Succeeded-l.Verified)
}

func (s *Section) item(text string) { s.Lines = append(s.Lines, Line{Kind: LineItem, Text: text}) }

func (v Verdict) capacity() Section {
	c := v.Capacity
	if c == nil {
		why := v.NoCapacity
		if why == "" {
			why = "no step carried any bytes"
		}
		return Section{Kind: KindCapacityUnknown, Head: "capacity: unknown (" + why + ")"}
	}
	label, value := "capacity", fmt.Sprintf("%.2f MiB/s", c.Goodput.Mean/mib)
	if c.Path {
		label = "path capacity"
	}
	// A lower bound is printed as one, with whose limit it is, before
	// anything else: "≥ 21.60 MiB/s, machine-bound".
	switch {
	case c.LowerBound && c.Attribution != "":
		value = "≥ " + value + ", " + boundWords(c.Attribution)
	case c.LowerBound:
		value = "≥ " + value
	case c.Attribution != "":
		value += ", " + boundWords(c.Attribution)
	}
	s := Section{Kind: KindCapacity, Head: fmt.Sprintf("%s: %s (95%% CI %.2f–%.2f) at step %d (%d %s)",
		label, value, c.Goodput.Low/mib, c.Goodput.High/mib, c.Step+1, c.Load, v.LoadUnit)}
	if c.RelayWrittenBps > 0 {
		s.Head += fmt.Sprintf("; the relay read %.2f and wrote %.2f MiB/s there", c.RelayReadBps/mib, c.RelayWrittenBps/mib)
		if c.RelayEfficiency > 0 {
			s.Head += fmt.Sprintf(", %.1f MiB per second of its CPU", c.RelayEfficiency/mib)
		}
	}
	if h := c.LastHealthy; h != nil {
		s.Lines = append(s.Lines, Line{Kind: LineLastHealthy, Text: fmt.Sprintf(
			"last healthy step: step %d (%d %s) at %.2f MiB/s, the highest load up to the onset at which no errors, connect or ttfb rule fired",
			h.Step+1, h.Load, v.LoadUnit, h.Goodput.Mean/mib)})
	}
	if c.LowerBound {
		s.Lines = append(s.Lines, Line{Kind: LineLowerBound, Text: "this is a LOWER BOUND of the relay's capacity, not its capacity:"})
		for _, r := range c.Reasons {
			s.item(r)
		}
	} else if c.Attribution == measure.AttributionRelay {
		s.Lines = append(s.Lines, Line{Kind: LineLimitRelay, Text: "limited by " + limitWords(c.Attribution) + ":"})
		for _, e := range c.AttributionEvidence {
			s.item(e)
		}
	}
	return s
}

// limitWords names whose limit an attribution is, for "limited by ...".
func limitWords(a measure.Attribution) string {
	switch a {
	case measure.AttributionRelay:
		return "the relay under test"
	case measure.AttributionMachine:
		return "the machine (all its cores busy)"
	case measure.AttributionLoadGenerator:
		return "the load generator (tor clients or relaybench)"
	case measure.AttributionNetwork:
		return "another relay of the test network"
	case measure.AttributionCircuitCap:
		return "relaybench's circuit-rate cap (limits.circuit_rate), not the relay"
	case measure.AttributionDoSDefence:
		return "the relay's DoS defence (it refused relaybench's client address), not its capacity"
	}
	return "nothing measured (whose limit is unknown)"
}

// boundWords is the attribution as a clause of a head: "relay-bound",
// "machine-bound", "whose limit is unknown".
func boundWords(a measure.Attribution) string {
	if a == measure.AttributionUnknown {
		return "whose limit is unknown"
	}
	return string(a) + "-bound"
}

func (v Verdict) onset() Section {
	o := v.Onset
	if o == nil {
		s := Section{Kind: KindNoOnset, Head: "overload onset: none seen"}
		v.rulesNotApplied(&s)
		return s
	}
	s := Section{Kind: KindOnset, Head: fmt.Sprintf("overload onset: step %d (%d %s), cause %s", o.Step+1, o.Load, v.LoadUnit, o.Cause)}
	if o.Attribution != "" {
		s.Head += ", " + boundWords(o.Attribution)
	}
	for _, sig := range o.Signals {
		s.item(fmt.Sprintf("%s (%s): %s", sig.Name, sig.Source, sig.Evidence))
		if sig.Advice != "" {
			s.item("what to do: " + sig.Advice)
		}
	}
	// The attribution's evidence, but what a signal above already says
	// (relay-cpu, a relay-declared signal).
	var evidence []string
	for _, e := range o.AttributionEvidence {
		if !slices.ContainsFunc(o.Signals, func(sig measure.Signal) bool { return sig.Evidence != "" && strings.Contains(e, sig.Evidence) }) {
			evidence = append(evidence, e)
		}
	}
	if len(evidence) > 0 {
		kind := LineLimitOther
		if o.Attribution == measure.AttributionRelay {
			kind = LineLimitRelay
		}
		s.Lines = append(s.Lines, Line{Kind: kind, Text: "limited by " + limitWords(o.Attribution) + ":"})
		for _, e := range evidence {
			s.item(e)
		}
	}
	if o.LoadGeneratorBound {
		s.Lines = append(s.Lines, Line{Kind: LineGeneratorBound,
			Text: "the load generator was at its limit at this step: client-side signals may describe it rather than the relay"})
	}
	v.rulesNotApplied(&s)
	return s
}

// rulesNotApplied adds a line for each latency rule that could not judge
// the run, or some of its steps, for want of samples: "none seen" then
// does not mean "fine".
func (v Verdict) rulesNotApplied(s *Section) {
	for _, r := range v.LatencyRules {
		switch {
		case r.Insufficient != "":
			s.Lines = append(s.Lines, Line{Kind: LineRuleNotApplied, Text: fmt.Sprintf("%s rule not applied: %s", r.Name, r.Insufficient)})
		case len(r.SkippedSteps) > 0:
			var steps []string
			for _, st := range r.SkippedSteps {
				steps = append(steps, fmt.Sprint(st+1))
			}
			s.Lines = append(s.Lines, Line{Kind: LineRuleNotApplied, Text: fmt.Sprintf("%s rule did not judge step %s: fewer than %d samples",
				r.Name, strings.Join(steps, ", "), measure.MinLatencySamples)})
		}
	}
}
