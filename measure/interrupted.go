package measure

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// Interruption is a step the run stopped in before its end: Ctrl-C or
// another signal, the relay or a test network node dying (aborted), a
// scenario limit, or a crash or kill -9 (then steps.jsonl has no line for
// the step and it is inferred from its requests). The requests the stop
// cut are neither failures nor samples: they are counted apart. A partial
// step says nothing about the relay's limit, so it gives no onset and no
// capacity, and a run with an interruption passes no gate (Unjudged).
type Interruption struct {
	Rep  int `json:"rep"`
	Step int `json:"step"`
	Load int `json:"load"`
	// StoppedBy is how the run ended (Analysis.StoppedBy); "unknown" when
	// it ended without recording it (killed or crashed).
	StoppedBy string `json:"stopped_by"`
	// Seconds is how long the step ran before the stop.
	Seconds float64 `json:"seconds"`
	// Canceled counts the requests the stop cut (class canceled). A run
	// that was killed could not record the requests it cut: 0 then.
	Canceled int `json:"canceled"`
	// Inferred is true when steps.jsonl has no line for the step (the run
	// was killed during it): its boundaries come from its requests.
	Inferred bool `json:"inferred,omitempty"`
	// LeftOut is true when other repetitions ran the step whole: this
	// partial window is then left out of the step's statistics. When it
	// is false the step rests on partial windows alone; it is shown,
	// marked interrupted (StepResult.Interrupted), and gives no onset or
	// capacity.
	LeftOut bool `json:"left_out"`
}

// Text says what the interruption means for the analysis, in one line.
func (i Interruption) Text(loadUnit string) string {
	how := "stopped (" + i.StoppedBy + ")"
	if i.StoppedBy == "unknown" {
		how = "ended without recording how (killed or crashed)"
	}
	s := fmt.Sprintf("the run %s during step %d (%d %s) of repetition %d, %.1f s into it", how, i.Step+1, i.Load, loadUnit, i.Rep+1, i.Seconds)
	if i.Inferred {
		s += "; steps.jsonl has no line for that step: its boundaries were inferred from its requests"
	}
	if i.Canceled > 0 {
		s += fmt.Sprintf("; %d requests cut by the stop are counted apart, not as failures", i.Canceled)
	}
	if i.LeftOut {
		return s + "; that partial window is left out of the step's statistics (other repetitions ran the step whole)"
	}
	return s + "; no onset or capacity is drawn from that step"
}

// takeCanceled removes the requests cut by the run's stop (class
// canceled) from recs and returns how many each repetition's step had:
// they were cut by the harness, not by the relay.
func takeCanceled(recs map[rundir.StepKey][]rundir.Record) map[rundir.StepKey]int {
	out := map[rundir.StepKey]int{}
	for k, rs := range recs {
		kept := slices.DeleteFunc(rs, func(r rundir.Record) bool { return r.Error == rundir.ClassCanceled })
		if n := len(rs) - len(kept); n > 0 {
			out[k] = n
			recs[k] = kept
		}
	}
	return out
}

// setAsideInterrupted finds the windows the run stopped in (marked by the
// runner or by Load, or holding canceled requests, which only a stop
// leaves) and records them in a.Interruptions. A partial window of a step
// that other repetitions ran whole is removed from steps; a step with
// nothing but partial windows stays, and its index is returned so that
// the step is marked and kept out of onset and capacity.
func (a *Analysis) setAsideInterrupted(steps []rundir.StepSummary, canceled map[rundir.StepKey]int, inferred map[rundir.StepKey]bool) ([]rundir.StepSummary, map[int]bool) {
	whole := map[int]bool{}
	cut := func(s rundir.StepSummary) bool {
		return s.Interrupted || canceled[s.StepKey] > 0
	}
	for _, s := range steps {
		if !cut(s) {
			whole[s.Step] = true
		}
	}
	partial := map[int]bool{}
	kept := steps[:0:0]
	for _, s := range steps {
		if !cut(s) {
			kept = append(kept, s)
			continue
		}
		a.Interruptions = append(a.Interruptions, Interruption{
			Rep: s.Repetition, Step: s.Step, Load: s.Load, StoppedBy: a.StoppedBy,
			Seconds: s.End.Sub(s.Start).Seconds(), Canceled: canceled[s.StepKey],
			Inferred: inferred[s.StepKey], LeftOut: whole[s.Step],
		})
		if !whole[s.Step] {
			partial[s.Step] = true
			kept = append(kept, s)
		}
	}
	return kept, partial
}

// markInterrupted sets res's Interrupted (the step rests on partial
// windows only) and Canceled (the requests the stop cut in its windows).
func markInterrupted(res StepResult, windows []rundir.StepSummary, partial map[int]bool, canceled map[rundir.StepKey]int) StepResult {
	res.Interrupted = partial[res.Step]
	for _, w := range windows {
		res.Canceled += canceled[w.StepKey]
	}
	return res
}

// wholeSteps returns the steps that are not interrupted: the ones onset
// and capacity may be drawn from.
func wholeSteps(steps []StepResult) []StepResult {
	return slices.DeleteFunc(slices.Clone(steps), func(s StepResult) bool { return s.Interrupted })
}

// inferMissingSteps gives the requests of a step without a steps.jsonl
// line (the runner writes it as the step ends) boundaries inferred from
// them. Only the last step of a run that never finished (run.json has no
// end: it was killed or crashed) can lack its line: that step is marked
// interrupted, and ends with the last thing the run recorded. When that
// step recorded no request at all, the step after the last one in
// steps.jsonl is added, empty and interrupted, so that a killed run reads
// as one stopped by Ctrl-C does. Any other step without its line means
// steps.jsonl lost lines, which is damage (a Problem).
func (r *Run) inferMissingSteps(sc *scenarios.Scenario) {
	warmup := sc.Ramp.Warmup.Std()
	have := map[rundir.StepKey]bool{}
	last := rundir.StepKey{Repetition: -1, Step: -1}
	later := func(k rundir.StepKey) {
		if k.Compare(last) > 0 {
			last = k
		}
	}
	for _, s := range r.Steps {
		have[s.StepKey] = true
		later(s.StepKey)
	}
	var orphans []rundir.Record
	for _, rec := range r.Records {
		if k := rec.StepKey; !have[k] {
			orphans = append(orphans, rec)
			later(k)
		}
	}
	inferred := inferSteps(orphans, warmup)
	// A run stopped by a failed write recorded its end, but not whole:
	// its last step reads as a killed run's.
	finished := r.Info != nil && !r.Info.Finished.IsZero() && r.Info.StoppedBy != "write-failed"
	if r.inferred == nil {
		r.inferred = map[rundir.StepKey]bool{}
	}
	var lost []string
	for i := range inferred {
		s := &inferred[i]
		k := s.StepKey
		r.inferred[k] = true
		if !finished && k == last {
			s.Interrupted = true
			if seen := r.lastSeen(); seen.After(s.End) {
				s.End = seen // the run went on until it was killed
			}
			continue
		}
		lost = append(lost, fmt.Sprintf("step %d of repetition %d", s.Step+1, s.Repetition+1))
	}
	if !finished && r.Info != nil && len(orphans) == 0 {
		// Killed before a request of its step ended: the step after the
		// last one recorded (the first when none was).
		if next, ok := r.nextStep(sc, last); ok {
			next.Interrupted = true
			r.inferred[next.StepKey] = true
			inferred = append(inferred, next)
		}
	}
	if len(lost) > 0 {
		what := "has no line"
		if len(r.Steps) == 0 {
			what = "is missing or empty: it has no line"
		}
		r.Problems = append(r.Problems, fmt.Sprintf("%s %s for %s although requests.jsonl has their requests: their boundaries were inferred from the requests", rundir.StepsFile, what, joinAnd(lost)))
	}
	r.Steps = append(r.Steps, inferred...)
	sortSteps(r.Steps)
}

// nextStep is the step the ramp runs after k (after none: k.Repetition -1), empty,
// from the end of k (the run's start) to the last thing the run recorded;
// false when k was the ramp's last.
func (r *Run) nextStep(sc *scenarios.Scenario, k rundir.StepKey) (rundir.StepSummary, bool) {
	next := rundir.StepKey{Repetition: max(k.Repetition, 0), Step: k.Step + 1}
	if next.Step >= len(sc.Ramp.Steps) {
		next = rundir.StepKey{Repetition: k.Repetition + 1}
		if next.Repetition >= max(sc.Repetitions, 1) {
			return rundir.StepSummary{}, false
		}
	}
	from := r.Info.Started
	for _, s := range r.Steps {
		if s.StepKey == k {
			from = s.End
		}
	}
	s := rundir.StepSummary{StepKey: next, Load: sc.Ramp.Steps[next.Step], Start: from, End: from}
	s.WarmupEnd = s.Start.Add(sc.Ramp.Warmup.Std())
	if seen := r.lastSeen(); seen.After(s.End) {
		s.End = seen
	}
	return s, true
}

// lastSeen is the time of the last thing the run recorded: a request's
// end, a scrape, a process sample.
func (r *Run) lastSeen() time.Time {
	var t time.Time
	for _, rec := range r.Records {
		if e := rec.End(); e.After(t) {
			t = e
		}
	}
	for _, m := range r.Metrics {
		if m.At.After(t) {
			t = m.At
		}
	}
	for _, p := range r.Processes {
		if p.Time.After(t) {
			t = p.Time
		}
	}
	return t
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	s := items[0]
	for _, it := range items[1 : len(items)-1] {
		s += ", " + it
	}
	return s + " and " + items[len(items)-1]
}

// Unjudged returns why a's gates, and a regression check against a, cannot
// be trusted: missing or damaged input (Problems), a run that stopped
// before its end (Interruptions), or a run without any request. Gates and
// regression checks fail closed on it: not judged is never passed. Empty
// when they can be judged.
func (a *Analysis) Unjudged() []string {
	var out []string
	if n := len(a.Problems); n > 0 {
		out = append(out, fmt.Sprintf("the input is missing or damaged (%d %s, listed under problems)", n, plural(n, "problem", "problems")))
	}
	if len(a.Interruptions) > 0 {
		i := a.Interruptions[0]
		out = append(out, fmt.Sprintf("the run stopped before its end, during step %d (%d %s) of repetition %d", i.Step+1, i.Load, a.LoadUnit, i.Rep+1))
	}
	requests := 0
	for _, s := range a.Steps {
		requests += s.Requests + s.Warmup + s.Canceled
	}
	if requests == 0 {
		out = append(out, "the run recorded no request")
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// answeredTargets returns the target MetricsPort URLs that answered at
// least one scrape. One that never answered is a configuration error (a
// wrong URL, a MetricsPortPolicy that refuses relaybench), not the relay
// overloading: it gets a Problem and no relay-side statistics or signals,
// never a "metricsport-unreachable" onset.
//
// A metrics.jsonl left out of a copy of the run (missing) loses the relay
// side, which is noted; one that is there without a scrape of a URL the
// run sampled is damage.
func (a *Analysis) answeredTargets(urls []string, scrapes []rundir.ScrapeRecord, missing bool) []string {
	var out []string
	for _, u := range urls {
		n, firstErr := 0, ""
		answered := false
		for _, s := range scrapes {
			if s.URL != u {
				continue
			}
			n++
			if s.OK {
				answered = true
				break
			}
			if firstErr == "" {
				firstErr = s.Error
			}
		}
		switch {
		case n == 0 && missing:
			a.Notes = append(a.Notes, fmt.Sprintf("%s is missing (the run sampled the relay's MetricsPort %s): no relay-side statistics or signals", rundir.MetricsFile, u))
		case n == 0:
			a.Problems = append(a.Problems, fmt.Sprintf("%s has no scrape of the relay's MetricsPort %s, which the run sampled: no relay-side statistics or signals", rundir.MetricsFile, u))
		}
		if answered || n == 0 {
			out = append(out, u)
			continue
		}
		a.Problems = append(a.Problems, fmt.Sprintf("the relay's MetricsPort %s never answered (%d scrapes failed, the first with: %s): a configuration error, not overload; no relay-side statistics or signals", u, n, firstErr))
	}
	return out
}

// checkRecordCounts compares the requests steps.jsonl counts for each step
// the runner recorded (every request a step observed, whatever its end)
// with the records requests.jsonl holds for it. Fewer records mean
// requests.jsonl lost some (cut, emptied, or a write that failed): damage.
func (r *Run) checkRecordCounts() {
	have := map[rundir.StepKey]int{}
	for _, rec := range r.Records {
		have[rec.StepKey]++
	}
	var short []string
	for _, s := range r.Steps {
		k := s.StepKey
		if r.inferred[k] {
			continue
		}
		if counted := s.Requests + s.Warmup + s.Canceled; have[k] < counted {
			short = append(short, fmt.Sprintf("step %d of repetition %d: %d of %d", s.Step+1, s.Repetition+1, have[k], counted))
		}
	}
	if len(short) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%s lacks requests that %s counts: %s", rundir.RequestsFile, rundir.StepsFile, strings.Join(short, "; ")))
	}
}

// noWholeCapacity words NoCapacity when the only steps that carried bytes
// are steps the run stopped in: they carried bytes, but none whole.
func (a *Analysis) noWholeCapacity() {
	if a.Capacity != nil || a.NoCapacity != "no step carried any bytes" {
		return
	}
	for _, s := range a.Steps {
		if s.Interrupted && s.Bytes > 0 {
			a.NoCapacity = fmt.Sprintf("no whole step carried any bytes: the run stopped during step %d", s.Step+1)
			return
		}
	}
}
