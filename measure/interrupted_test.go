package measure

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
)

// cutAt makes r look like a run stopped at cut during its last step, as
// the runner records a stop it sees (Ctrl-C, a signal, Abort): requests
// running at the cut end there as canceled, none starts after it, and the
// step's steps.jsonl line ends there, marked interrupted.
func cutAt(r *Run, rep int, cut time.Time) {
	recs := r.Records[:0:0]
	for _, rec := range r.Records {
		switch {
		case rec.Repetition != rep || !rec.End().After(cut):
			recs = append(recs, rec)
		case rec.Start.Before(cut):
			rec.TTLBNS = int64(cut.Sub(rec.Start))
			rec.Error, rec.Bytes = rundir.ClassCanceled, rec.Bytes/2
			recs = append(recs, rec)
		}
	}
	r.Records = recs
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Repetition == rep && s.End.After(cut) {
			s.End, s.Interrupted = cut, true
			s.SecondBytes = s.SecondBytes[:int(cut.Sub(s.Start)/time.Second)+1]
		}
	}
	r.Info = &rundir.RunInfo{Started: r.Steps[0].Start, Finished: cut, StoppedBy: "canceled"}
}

// killAt makes r look like a run killed at cut: what cutAt leaves but the
// canceled requests (nobody wrote them), the cut step's steps.jsonl line
// and run.json's end; a process sample from just before the kill.
func killAt(r *Run, rep int, cut time.Time) {
	cutAt(r, rep, cut)
	r.Records = slices.DeleteFunc(r.Records, func(rec rundir.Record) bool { return rec.Error == rundir.ClassCanceled })
	r.Steps = slices.DeleteFunc(r.Steps, func(s rundir.StepSummary) bool { return s.Interrupted })
	r.Info = &rundir.RunInfo{Started: r.Steps[0].Start}
	r.Processes = append(r.Processes, rundir.ProcessSample{Time: cut.Add(-100 * time.Millisecond), Name: "harness", Role: rundir.RoleHarness})
	r.inferMissingSteps(r.Scenario)
}

// secondRep appends to r a copy of its repetition 0, as repetition 1, 40 s
// later.
func secondRep(r *Run) {
	shift := 40 * time.Second
	for _, s := range slices.Clone(r.Steps) {
		s.Repetition, s.Start, s.WarmupEnd, s.End = 1, s.Start.Add(shift), s.WarmupEnd.Add(shift), s.End.Add(shift)
		r.Steps = append(r.Steps, s)
	}
	for _, rec := range slices.Clone(r.Records) {
		rec.Repetition, rec.Start, rec.Intended = 1, rec.Start.Add(shift), rec.Intended.Add(shift)
		r.Records = append(r.Records, rec)
	}
}

// TestInterruptedSteps: a run stopped during a step, by a signal (the
// runner saw it) or by kill -9 (it did not), draws no onset and no
// capacity from that step and counts the requests the stop cut apart,
// never as failures; a partial window of a step other repetitions ran
// whole is left out of it. The saturating run's onset is at step 4
// (errors, latency, saturation) and its capacity at step 3: stopping it
// 5 s into step 4 must take the onset away (nothing whole showed it),
// making the capacity a lower bound; with a whole repetition beside the
// cut one the onset stays at step 4. The capacity stays at step 3, the
// healthy step with the highest goodput.
func TestInterruptedSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	step4 := t0.Add(30 * time.Second) // steps are 10 s
	for _, tc := range []struct {
		name      string
		make      func(t *testing.T) *Run
		leftOut   bool
		inferred  bool
		canceled  bool
		wantOnset int // -1: none
		capacity  int
	}{
		{"signal during step 4", func(t *testing.T) *Run {
			r := saturating(t0).run(t)
			cutAt(r, 0, step4.Add(5*time.Second))
			return r
		}, false, false, true, -1, 2},
		{"kill -9 during step 4", func(t *testing.T) *Run {
			r := saturating(t0).run(t)
			killAt(r, 0, step4.Add(5*time.Second))
			return r
		}, false, true, false, -1, 2},
		{"kill -9 before a request of step 4 ended", func(t *testing.T) *Run {
			r := saturating(t0).run(t)
			killAt(r, 0, step4.Add(90*time.Millisecond))
			return r
		}, false, true, false, -1, 2},
		{"signal during repetition 2's step 4, repetition 1 whole", func(t *testing.T) *Run {
			r := saturating(t0).run(t)
			secondRep(r)
			cutAt(r, 1, step4.Add(45*time.Second))
			return r
		}, true, false, true, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.make(t)
			a := Analyze(r)
			if len(a.Interruptions) != 1 {
				t.Fatalf("interruptions %+v, want one", a.Interruptions)
			}
			in := a.Interruptions[0]
			if in.Step != 3 || in.Load != 8 || in.LeftOut != tc.leftOut || in.Inferred != tc.inferred || (in.Canceled > 0) != tc.canceled {
				t.Errorf("interruption %+v; want step 4 (load 8), left out %v, inferred %v, canceled requests %v", in, tc.leftOut, tc.inferred, tc.canceled)
			}
			if len(a.Steps) != 4 || a.Steps[3].Interrupted == tc.leftOut {
				t.Fatalf("%d steps, step 4 interrupted %v; want 4 steps, step 4 interrupted %v", len(a.Steps), len(a.Steps) == 4 && a.Steps[3].Interrupted, !tc.leftOut)
			}
			for _, s := range a.Steps {
				if s.Errors[rundir.ClassCanceled] > 0 {
					t.Errorf("step %d counts %d canceled requests as errors", s.Step+1, s.Errors[rundir.ClassCanceled])
				}
			}
			switch {
			case tc.wantOnset < 0 && a.Onset != nil:
				t.Errorf("onset %+v drawn from the cut step", a.Onset)
			case tc.wantOnset >= 0 && (a.Onset == nil || a.Onset.Step != tc.wantOnset):
				t.Errorf("onset %+v, want step %d, from the whole repetition", a.Onset, tc.wantOnset+1)
			}
			if a.Capacity == nil || a.Capacity.Step != tc.capacity {
				t.Errorf("capacity %+v, want step %d", a.Capacity, tc.capacity+1)
			}
			if len(a.Unjudged()) == 0 || !strings.Contains(strings.Join(a.Unjudged(), ";"), "stopped before its end, during step 4 (8 streams)") {
				t.Errorf("unjudged %q: want the gates not judged, saying where the run stopped", a.Unjudged())
			}
			if len(a.Problems) > 0 {
				t.Errorf("problems %q: an interruption is not damage", a.Problems)
			}
		})
	}
}

// TestStepsAndRecordsThatDisagree: in a run that finished, a step without
// its steps.jsonl line, or fewer records than steps.jsonl counts, is
// damage: the analysis goes on and says so.
func TestStepsAndRecordsThatDisagree(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	finished := func(r *Run) {
		r.Info = &rundir.RunInfo{Started: t0, Finished: t0.Add(41 * time.Second), StoppedBy: "completed"}
	}
	for _, tc := range []struct {
		name   string
		damage func(r *Run)
		want   string
	}{
		{"a step without its line", func(r *Run) {
			r.Steps = slices.Delete(r.Steps, 1, 2)
			r.inferMissingSteps(r.Scenario)
		}, "steps.jsonl has no line for step 2 of repetition 1 although requests.jsonl has their requests"},
		{"records missing", func(r *Run) {
			n := 0
			for _, rec := range r.Records {
				if rec.Step == 0 {
					n++
				}
			}
			r.Steps[0].Requests = n
			r.Records = slices.DeleteFunc(r.Records, func(rec rundir.Record) bool {
				return rec.Step == 0 && rec.Worker == 0 && rec.Start.After(t0.Add(5*time.Second))
			})
			r.checkRecordCounts()
		}, "requests.jsonl lacks requests that steps.jsonl counts: step 1 of repetition 1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := saturating(t0).run(t)
			finished(r)
			tc.damage(r)
			a := Analyze(r)
			if !slices.ContainsFunc(a.Problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one saying %q", a.Problems, tc.want)
			}
			if len(a.Interruptions) > 0 || len(a.Unjudged()) == 0 {
				t.Errorf("interruptions %+v, unjudged %q: want damage, not an interruption, and the gates not judged", a.Interruptions, a.Unjudged())
			}
		})
	}
}

// TestMetricsPortThatNeverAnswered: a relay MetricsPort that failed every
// scrape of the run was never reachable (a wrong URL, a policy that
// refuses relaybench): a configuration problem, never a
// metricsport-unreachable onset at the first step.
func TestMetricsPortThatNeverAnswered(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2025, 11, 23, 8, 26, 35, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2},
		perStream: func(load int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 50 * time.Millisecond }}
	r := s.run(t)
	r.Info = &rundir.RunInfo{Started: t0, Finished: t0.Add(21 * time.Second), StoppedBy: "completed",
		Metrics: []rundir.MetricsEndpoint{{URL: url, Name: "relay", Role: rundir.RoleTarget}}}
	for sec := -1; sec < 21; sec++ {
		r.Metrics = append(r.Metrics, metricsport.ScrapeRecord{URL: url, At: t0.Add(time.Duration(sec) * time.Second),
			Kind: metricsport.FailConnect, Error: "connection refused"})
	}
	a := Analyze(r)
	if a.Onset != nil {
		t.Errorf("onset %+v from a MetricsPort that never answered", a.Onset)
	}
	want := "the relay's MetricsPort " + url + " never answered (22 scrapes failed, the first with: connection refused): a configuration error, not overload"
	if !slices.ContainsFunc(a.Problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
		t.Errorf("problems %q, want %q", a.Problems, want)
	}
	for _, s := range a.Steps {
		if s.Relay != nil || len(s.Signals) > 0 {
			t.Errorf("step %d: relay %+v, signals %+v from a MetricsPort that never answered", s.Step+1, s.Relay, s.Signals)
		}
	}
}
