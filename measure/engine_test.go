package measure

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// The tests of this file run the load engine against a fake SocksPort
// (package testkit) whose streams fail, stall or crawl by construction,
// write the run directory as `relaybench run` does, and check what the
// analysis concludes from it. No tor: the faults are known, so the
// conclusions must be exact.

// engineRun runs sc through one fake SocksPort configured by opts and
// returns the run directory loaded back.
func engineRun(t *testing.T, sc *scenarios.Scenario, opts []testkit.SOCKSOption, ropts ...runner.Option) *Run {
	t.Helper()
	dir := t.TempDir()
	srv, err := payload.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	fake := testkit.StartSOCKS(t, opts...)
	create := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	steps := rundir.NewWriter[rundir.StepSummary](create(rundir.StepsFile), rundir.StepsFile)
	plan := runner.Plan{Scenario: sc, Endpoints: []runner.Endpoint{{Name: "fake", Addr: fake.Addr()}},
		PayloadURL: srv.BytesURL, Verify: true, Seed: payload.DefaultSeed, Records: create(rundir.RequestsFile), LoopbackOnly: true}
	ropts = append(ropts, runner.WithStepDone(func(s rundir.StepSummary) {
		if err := steps.Write(s); err != nil {
			t.Error(err)
		}
	}))
	if _, err := runner.Run(t.Context(), plan, ropts...); err != nil {
		t.Fatal(err)
	}
	data, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.ScenarioFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("problems loading the run: %v", r.Problems)
	}
	return r
}

func parseScenario(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func signalNames(s StepResult) []string {
	var out []string
	for _, sg := range s.Signals {
		out = append(out, sg.Name)
	}
	return out
}

// TestEngineStreamsDyingAfterTheWarmup: at the second step all 8 streams
// start in the 1 s warm-up and are reset 2 s after they attach. Counted
// by their start, as before, they vanished and the error rate was 0;
// counted where they end, they are 8 failures of the step.
func TestEngineStreamsDyingAfterTheWarmup(t *testing.T) {
	sc := parseScenario(t, `name: dying
target: {kind: socks, socks: {addresses: ["127.0.0.1:9050"]}}
payload: {size: 10MiB}
workload: {kind: bulk}
ramp: {steps: [4, 8], step_duration: 3s, warmup: 1s}
`)
	// 10 MiB at 200 kB/s takes 50 s: no stream finishes in a step. The
	// 4 streams of step 1 are CONNECTs 0-3, the first 8 of step 2 are
	// 4-11; those die. Their workers' next streams are healthy.
	slow := testkit.Behavior{Rate: 200_000}
	dying := slow
	dying.ResetAfter = 2 * time.Second
	r := engineRun(t, sc, []testkit.SOCKSOption{testkit.WithPolicy(testkit.Schedule(
		testkit.Rule{From: 4, To: 12, Behavior: dying},
		testkit.Rule{From: 0, Behavior: slow},
	))})

	died := 0
	for _, rec := range r.Records {
		if rec.Step == 1 && rec.Error != "" && rec.Error != rundir.ClassStepEnd {
			died++
			if !rec.Warmup {
				t.Errorf("failed record %+v did not start in the warm-up: the test no longer shows the rule", rec)
			}
		}
	}
	if died != 8 {
		t.Fatalf("%d failed records at step 2, want the 8 reset streams (classes %v)", died, recordClasses(r.Records))
	}

	a := Analyze(r)
	s1, s2 := a.Steps[0], a.Steps[1]
	if s1.Requests != 4 || s1.Cut != 4 || s1.ErrorRate != 0 || s1.CutShare != 1 || s1.CompletedShare != 0 {
		t.Errorf("step 1: %d requests, %d cut, error rate %v, cut share %v, completed share %v; want 4 streams cut at the end, no failure",
			s1.Requests, s1.Cut, s1.ErrorRate, s1.CutShare, s1.CompletedShare)
	}
	failed := s2.Requests - s2.OK - s2.Cut
	if failed != 8 || s2.Cut != 8 || s2.ErrorRate != 1 {
		t.Errorf("step 2: %d failed, %d cut, error rate %v (errors %v); want the 8 resets failed and the 8 streams after them cut",
			failed, s2.Cut, s2.ErrorRate, s2.Errors)
	}
	if !slices.Contains(signalNames(s2), SignalErrors) || slices.Contains(signalNames(s1), SignalErrors) {
		t.Errorf("signals %v and %v: want errors at step 2 only", signalNames(s1), signalNames(s2))
	}
	if a.Onset == nil || a.Onset.Step != 1 || a.Onset.Cause != SignalErrors {
		t.Fatalf("onset %+v, want errors at step 2", a.Onset)
	}
	if c := a.Capacity; c == nil || c.Step != 0 || c.LastHealthy == nil || c.LastHealthy.Step != 0 {
		t.Errorf("capacity %+v, want step 1, the last healthy one", c)
	}
}

// TestEngineStallingStreams: at the second step the 4 streams fall silent
// 1 s after they attach, their connections open. The watchdog ends them
// 0.5 s later as stalls: failures, so the errors rule fires with the stall
// as evidence, and the step, which still carried more bytes than the
// first, is not the capacity.
func TestEngineStallingStreams(t *testing.T) {
	sc := parseScenario(t, `name: stalling
target: {kind: socks, socks: {addresses: ["127.0.0.1:9050"]}}
payload: {size: 10MiB}
workload: {kind: bulk, stall_timeout: 500ms}
ramp: {steps: [2, 4], step_duration: 3s, warmup: 500ms}
`)
	slow := testkit.Behavior{Rate: 200_000}
	stalling := slow
	stalling.StallAfter = time.Second
	r := engineRun(t, sc, []testkit.SOCKSOption{testkit.WithPolicy(testkit.Schedule(
		testkit.Rule{From: 2, To: 6, Behavior: stalling},
		testkit.Rule{From: 0, Behavior: slow},
	))})
	a := Analyze(r)
	s1, s2 := a.Steps[0], a.Steps[1]
	if s2.Errors[rundir.ClassStall] != 4 || len(s2.Errors) != 1 {
		t.Fatalf("step 2 errors %v, want 4 stalls (classes %v)", s2.Errors, recordClasses(r.Records))
	}
	var errSig *Signal
	for i := range s2.Signals {
		if s2.Signals[i].Name == SignalErrors {
			errSig = &s2.Signals[i]
		}
	}
	if errSig == nil || !strings.Contains(errSig.Evidence, "stall 4") {
		t.Fatalf("step 2 signals %+v, want errors naming 4 stalls", s2.Signals)
	}
	if s2.Goodput.Mean <= s1.Goodput.Mean {
		t.Fatalf("step 2 goodput %.0f not above step 1's %.0f: the test no longer shows that goodput alone would pick it", s2.Goodput.Mean, s1.Goodput.Mean)
	}
	if c := a.Capacity; c == nil || c.Step != 0 {
		t.Errorf("capacity %+v, want step 1: step 2 stalled its streams", c)
	}
}

// TestEngineChurnFallingBehind: 20 requests per second for 3 s to a
// server that answers after 300 ms, with 2 workers: the load generator
// sends about 7 per second. The step is generator-bound, the hits it never
// sent are failures, and the latency from the intended start shows the
// wait that the latency from the actual start (about 300 ms) hides.
func TestEngineChurnFallingBehind(t *testing.T) {
	sc := parseScenario(t, `name: behind
target: {kind: socks, socks: {addresses: ["127.0.0.1:9050"]}}
payload: {size: 1KiB}
workload: {kind: churn}
ramp: {steps: [20], step_duration: 3s, warmup: 500ms}
`)
	r := engineRun(t, sc, []testkit.SOCKSOption{testkit.WithBehavior(testkit.Behavior{FirstByteDelay: 300 * time.Millisecond})},
		runner.WithMaxWorkers(2))
	a := Analyze(r)
	s := a.Steps[0]
	if s.OfferedRate != 20 || s.AchievedRate > 9 || s.AchievedRate < 3 {
		t.Errorf("offered %v req/s, achieved %v; want 20 and about 7", s.OfferedRate, s.AchievedRate)
	}
	var gen *Bottleneck
	for i := range s.Bottlenecks {
		if s.Bottlenecks[i].Kind == BottleneckGenerator {
			gen = &s.Bottlenecks[i]
		}
	}
	if gen == nil || !s.LoadGeneratorBound || a.Onset == nil || !a.Onset.LoadGeneratorBound {
		t.Fatalf("bottlenecks %+v, generator-bound %v, onset %+v: want the step and the onset generator-bound", s.Bottlenecks, s.LoadGeneratorBound, a.Onset)
	}
	if s.Errors[rundir.ClassUnsent] < 20 || !slices.Contains(signalNames(s), SignalErrors) {
		t.Errorf("errors %v, signals %v: want the unsent hits counted as failures", s.Errors, signalNames(s))
	}
	// From the actual start the first byte takes the server's 300 ms; from
	// the schedule, the requests sent last waited over a second more.
	if s.TTFB.P95 < 0.3 || s.TTFB.P95 > 0.6 || s.IntendedTTFB.P95 < s.TTFB.P95+1 || s.ScheduleLag.P95 < 1 {
		t.Errorf("TTFB p95 %.3f s, from the intended start %.3f s, schedule lag p95 %.3f s; want about 0.3, over a second more, over a second",
			s.TTFB.P95, s.IntendedTTFB.P95, s.ScheduleLag.P95)
	}
	if c := a.Capacity; c != nil && !c.LowerBound {
		t.Errorf("capacity %+v from a generator-bound step: want none or a lower bound", c)
	}
}

func recordClasses(recs []rundir.Record) map[string]int {
	m := map[string]int{}
	for _, r := range recs {
		m[r.Error]++
	}
	return m
}
