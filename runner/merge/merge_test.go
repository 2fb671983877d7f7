package merge

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

const testScenario = `name: scaleout
target:
  kind: socks
  socks:
    addresses: ["127.0.0.1:9050"]
    metrics_urls: ["http://127.0.0.1:9035/metrics"]
workload:
  kind: bulk
ramp:
  steps: [2, 5]
  step_duration: 10s
  warmup: 2s
`

// t0 is a whole second, as a --start-at is.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	targetURL = "http://127.0.0.1:9035/metrics"
	clientURL = "http://127.0.0.1:9000/metrics" // the same port on both workers' machines
)

// fakeWorker is one worker's run directory, made by hand so that every
// merged number can be worked out on paper.
type fakeWorker struct {
	index, count int
	scenario     string
	startAt      time.Time
	steps        []rundir.StepSummary
	records      []rundir.Record
	endpoints    int
	proof        *rundir.RelayProof
}

func (f fakeWorker) write(t *testing.T) string {
	t.Helper()
	sc, err := scenarios.Parse([]byte(f.scenario), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run-segment")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := sc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.ScenarioFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	info := rundir.RunInfo{Scenario: sc.Name, Started: t0.Add(-time.Minute), Finished: t0.Add(time.Minute), StoppedBy: "completed",
		Metrics: []rundir.MetricsEndpoint{{URL: clientURL, Name: "load0", Role: rundir.RoleClient}},
		Segment: &rundir.SegmentInfo{Index: f.index, Count: f.count, TotalLoads: sc.Ramp.Steps, StartAt: f.startAt,
			StartBound: time.Second, ScrapesRelay: f.index == 0, Endpoints: f.endpoints}, RelayProof: f.proof}
	scrapes := []rundir.ScrapeRecord{{URL: clientURL, At: t0, OK: true}}
	if f.index == 0 {
		info.Metrics = append([]rundir.MetricsEndpoint{{URL: targetURL, Name: "relay0", Role: rundir.RoleTarget}}, info.Metrics...)
		scrapes = append(scrapes, rundir.ScrapeRecord{URL: targetURL, At: t0, OK: true})
		if err := os.WriteFile(filepath.Join(dir, rundir.EnvFile), []byte(`{"version":1}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := rundir.WriteRunInfo(dir, info); err != nil {
		t.Fatal(err)
	}
	procs := []rundir.ProcessSample{
		{Time: t0, Name: "load0", Role: rundir.RoleClient, PID: 10, CPUSeconds: 1},
		{Time: t0, Name: rundir.MachineName, Role: rundir.RoleMachine, CPUSeconds: 1, Cores: 2},
	}
	circs := []rundir.CircuitRecord{{Time: t0, Client: "load0", Event: rundir.CircuitUsed, ID: "1"}}
	writeAll(t, dir, rundir.StepsFile, f.steps)
	writeAll(t, dir, rundir.RequestsFile, f.records)
	writeAll(t, dir, rundir.MetricsFile, scrapes)
	writeAll(t, dir, rundir.ProcessesFile, procs)
	writeAll(t, dir, rundir.CircuitsFile, circs)
	return dir
}

func writeAll[T any](t *testing.T, dir, name string, recs []T) {
	t.Helper()
	if err := writeLines(dir, name, recs); err != nil {
		t.Fatal(err)
	}
}

// step is a worker's summary of a 10 s step with a 2 s warm-up that
// began at start; second i carried bytes[i].
func step(rep, index, load int, start time.Time, requests, ok int, errs map[string]int, bytes ...int64) rundir.StepSummary {
	s := rundir.StepSummary{StepKey: rundir.StepKey{Repetition: rep, Step: index}, Load: load, Start: start, End: start.Add(10 * time.Second),
		WarmupEnd: start.Add(2 * time.Second), Requests: requests, OK: ok, Errors: errs, SecondBytes: bytes,
		First: start, Last: start.Add(10 * time.Second)}
	for i, b := range bytes {
		if i >= 2 {
			s.Bytes += b
		}
	}
	return s
}

func seconds(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v * int64(i+1)
	}
	return out
}

func rec(step, load, worker, endpoint int, start time.Time, ttfb time.Duration, errClass string) rundir.Record {
	return rundir.Record{StepKey: rundir.StepKey{Step: step}, Load: load, Worker: worker, Endpoint: endpoint, Intended: start, Start: start,
		TTFBNS: int64(ttfb), TTLBNS: int64(ttfb + time.Second), Bytes: 1000, Status: 200, Error: errClass}
}

// twoWorkers is a 2-worker run of testScenario: worker 1 began step 1
// 0.6 s after worker 0 (its seconds move one over), step 2 0.3 s after
// (they stay), and runs 2 of step 2's 5 streams (worker 0 runs 3).
func twoWorkers(t *testing.T) (w0, w1 fakeWorker) {
	w0 = fakeWorker{index: 0, count: 2, scenario: testScenario, startAt: t0, endpoints: 2,
		steps: []rundir.StepSummary{
			step(0, 0, 1, t0, 4, 4, nil, seconds(11, 10)...),
			step(0, 1, 3, t0.Add(10*time.Second), 9, 8, map[string]int{"timeout": 1}, seconds(11, 100)...),
		},
		records: []rundir.Record{
			rec(0, 1, 0, 1, t0.Add(3*time.Second), 100*time.Millisecond, ""),
			rec(1, 3, 2, 0, t0.Add(13*time.Second), 300*time.Millisecond, ""),
			rec(1, 3, 1, 1, t0.Add(14*time.Second), 500*time.Millisecond, "timeout"),
		}}
	w1 = fakeWorker{index: 1, count: 2, scenario: testScenario, startAt: t0, endpoints: 1,
		steps: []rundir.StepSummary{
			step(0, 0, 1, t0.Add(600*time.Millisecond), 3, 2, map[string]int{"timeout": 1, "short-read": 1}, seconds(11, 1000)...),
			step(0, 1, 2, t0.Add(10300*time.Millisecond), 5, 5, nil, seconds(11, 10000)...),
		},
		records: []rundir.Record{
			rec(0, 1, 0, 0, t0.Add(4*time.Second), 200*time.Millisecond, ""),
			rec(1, 2, 1, 0, t0.Add(15*time.Second), 400*time.Millisecond, ""),
		}}
	return w0, w1
}

func TestMergeSumsExactlyOnAlignedSeconds(t *testing.T) {
	w0, w1 := twoWorkers(t)
	// Open-loop counts add up too (churn; made up here).
	w0.steps[1].Offered, w0.steps[1].Sent = 10, 9
	w1.steps[1].Offered, w1.steps[1].Sent = 7, 7
	d0, d1 := w0.write(t), w1.write(t)
	out := filepath.Join(t.TempDir(), "merged")
	info, err := Merge(out, d1, d0) // in any order
	if err != nil {
		t.Fatal(err)
	}
	run, err := rundir.Read(out)
	if err != nil || len(run.Problems) > 0 {
		t.Fatalf("read merged: %v %v", err, run.Problems)
	}
	if len(run.Steps) != 2 {
		t.Fatalf("%d merged steps, want 2", len(run.Steps))
	}

	// Step 1: worker 1 began 0.6 s late, so its second k is merged second
	// k+1; the merged step ends where worker 1's does on that axis.
	s := run.Steps[0]
	want := make([]int64, 12)
	for k := range 11 {
		want[k] += 10 * int64(k+1)
		want[k+1] += 1000 * int64(k+1)
	}
	if !slices.Equal(s.SecondBytes, want) {
		t.Errorf("step 1 second bytes %v, want %v", s.SecondBytes, want)
	}
	if s.Load != 2 || s.Requests != 7 || s.OK != 6 || s.Bytes != w0.steps[0].Bytes+w1.steps[0].Bytes ||
		s.Errors["timeout"] != 1 || s.Errors["short-read"] != 1 {
		t.Errorf("step 1 sums: %+v", s)
	}
	if !s.Start.Equal(t0) || !s.End.Equal(t0.Add(11*time.Second)) || !s.WarmupEnd.Equal(t0.Add(2*time.Second)) {
		t.Errorf("step 1 spans %s..%s (warm-up to %s), want t0..t0+11s (t0+2s)", s.Start, s.End, s.WarmupEnd)
	}
	if g := float64(s.Bytes) / 9; s.Goodput != g {
		t.Errorf("step 1 goodput %v, want bytes over the 9 s window, %v", s.Goodput, g)
	}
	// Step 2: 0.3 s apart, so the seconds add index to index.
	s = run.Steps[1]
	for k, b := range s.SecondBytes {
		if want := 100*int64(k+1) + 10000*int64(k+1); b != want {
			t.Errorf("step 2 second %d: %d bytes, want %d", k, b, want)
		}
	}
	if s.Load != 5 || s.Requests != 14 || s.OK != 13 || s.Bytes != w0.steps[1].Bytes+w1.steps[1].Bytes || s.Offered != 17 || s.Sent != 16 {
		t.Errorf("step 2 sums: %+v", s)
	}
	// Latency percentiles come from the concatenated records: step 2's
	// TTFB samples are 300, 400 and 500 ms.
	if s.TTFBP50 != 400*time.Millisecond || s.TTFBP95 != 500*time.Millisecond {
		t.Errorf("step 2 TTFB p50 %s p95 %s, want 400ms 500ms", s.TTFBP50, s.TTFBP95)
	}
	if info.Merged.MaxStartSpread != 600*time.Millisecond || len(info.Warnings) != 0 {
		t.Errorf("spread %s, warnings %q; want 600ms and none", info.Merged.MaxStartSpread, info.Warnings)
	}

	// Records: the whole step's load, workers and endpoints numbered on.
	type key struct{ step, load, worker, endpoint int }
	var got []key
	for _, r := range run.Records {
		got = append(got, key{r.Step, r.Load, r.Worker, r.Endpoint})
	}
	wantRecs := []key{{0, 2, 0, 1}, {0, 2, 1, 2}, {1, 5, 2, 0}, {1, 5, 1, 1}, {1, 5, 4, 2}}
	if !slices.Equal(got, wantRecs) {
		t.Errorf("records (step, load, worker, endpoint) %v, want %v", got, wantRecs)
	}

	// Samples under the worker's prefix; the relay's scrapes as they were.
	var names, urls, clients []string
	for _, p := range run.Processes {
		names = append(names, p.Name)
	}
	for _, m := range run.Metrics {
		urls = append(urls, m.URL)
	}
	for _, c := range run.Circuits {
		clients = append(clients, c.Client)
	}
	slices.Sort(names)
	slices.Sort(urls)
	if want := []string{"w0/load0", "w0/machine", "w1/load0", "w1/machine"}; !slices.Equal(names, want) {
		t.Errorf("process names %v, want %v", names, want)
	}
	if want := []string{clientURL + "#w0", clientURL + "#w1", targetURL}; !slices.Equal(urls, want) {
		t.Errorf("scrape URLs %v, want %v", urls, want)
	}
	if want := []string{"w0/load0", "w1/load0"}; !slices.Equal(clients, want) {
		t.Errorf("circuit clients %v, want %v", clients, want)
	}
	if run.Info.Segment != nil || run.Info.Merged == nil || len(run.Info.Merged.Workers) != 2 || run.Info.Merged.Workers[1].Dir != d1 {
		t.Errorf("run.json segment %+v merged %+v", run.Info.Segment, run.Info.Merged)
	}
	roles := map[string]rundir.ProcessRole{}
	for _, e := range run.Info.Metrics {
		roles[e.URL] = e.Role
	}
	if roles[targetURL] != rundir.RoleTarget || roles[clientURL+"#w1"] != rundir.RoleClient || len(roles) != 3 {
		t.Errorf("run.json metrics %+v", run.Info.Metrics)
	}
	if _, err := os.Stat(filepath.Join(out, rundir.EnvFile)); err != nil {
		t.Errorf("env.json of segment 0 not copied: %v", err)
	}
}

// Workers further apart than their bound, or one that stopped early, are
// merged with warnings in run.json (the analysis shows them as problems).
func TestMergeWarnsAboutSpreadAndMissingSteps(t *testing.T) {
	w0, w1 := twoWorkers(t)
	w1.steps[0].Start = t0.Add(1500 * time.Millisecond)
	w1.steps = w1.steps[:1]
	w1.records = w1.records[:1]
	out := filepath.Join(t.TempDir(), "merged")
	info, err := Merge(out, w0.write(t), w1.write(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Warnings) != 2 ||
		!strings.Contains(info.Warnings[0], "step 1 of repetition 1: the workers began it 1.5s apart (more than 1s; segment 1/2") ||
		!strings.Contains(info.Warnings[1], "step 2 of repetition 1: segment 1/2 (") ||
		!strings.Contains(info.Warnings[1], "the merged step carries 3 of the step's 5 streams") {
		t.Errorf("warnings %q", info.Warnings)
	}
	run, err := rundir.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Steps[0]; s.SecondBytes[2] != 30+1000 || len(s.SecondBytes) != 13 {
		t.Errorf("1.5 s apart: worker 1's first second is merged second %d; second bytes %v", 2, s.SecondBytes)
	}
}

// TestMergeKeepsTheWeakestRelayProof: a worker that skipped the proof of
// operating the relay makes the merged run one without proof, saying
// which worker.
func TestMergeKeepsTheWeakestRelayProof(t *testing.T) {
	w0, w1 := twoWorkers(t)
	w0.proof = &rundir.RelayProof{Kind: rundir.ProofMetricsPort, Detail: "the MetricsPort answered"}
	w1.proof = &rundir.RelayProof{Kind: rundir.ProofSkipped, Detail: "skipped"}
	info, err := Merge(filepath.Join(t.TempDir(), "merged"), w0.write(t), w1.write(t))
	if err != nil {
		t.Fatal(err)
	}
	if p := info.RelayProof; p == nil || p.Kind != rundir.ProofSkipped || p.Detail != "segment 1/2: skipped" {
		t.Errorf("merged relay proof %+v; want segment 1/2's skipped one", p)
	}
	w1.proof = nil
	info, err = Merge(filepath.Join(t.TempDir(), "merged"), w0.write(t), w1.write(t))
	if err != nil {
		t.Fatal(err)
	}
	if p := info.RelayProof; p == nil || p.Kind != rundir.ProofMetricsPort {
		t.Errorf("merged relay proof %+v; want segment 0/2's MetricsPort", p)
	}
}

// Merge refuses what is not the N segments of one run, naming the
// conflict and the directories, and writes nothing.
func TestMergeRefusesConflicts(t *testing.T) {
	w0, w1 := twoWorkers(t)
	other := strings.Replace(testScenario, "steps: [2, 5]", "steps: [2, 6]", 1)
	three := func(f fakeWorker, i int) fakeWorker { f.index, f.count = i, 3; return f }
	for _, tc := range []struct {
		name    string
		workers []fakeWorker
		want    string
	}{
		{"different scenarios", []fakeWorker{w0, {index: 1, count: 2, scenario: other, startAt: t0, steps: w1.steps}},
			`segment 1/2 (`},
		{"overlapping segments", []fakeWorker{three(w0, 0), three(w0, 0), three(w1, 1)}, "segment 0/3 is given twice"},
		{"missing segment", []fakeWorker{three(w0, 0), three(w1, 1)}, "segment 2/3 is missing"},
		{"different splits", []fakeWorker{three(w0, 0), w1}, "split the load over different numbers of workers (3 and 2)"},
		{"different start times", []fakeWorker{w0, {index: 1, count: 2, scenario: testScenario, startAt: t0.Add(time.Minute), steps: w1.steps}},
			"was started with --start-at 2026-05-01T12:01:00Z, segment 0/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dirs []string
			for _, w := range tc.workers {
				dirs = append(dirs, w.write(t))
			}
			out := filepath.Join(t.TempDir(), "merged")
			_, err := Merge(out, dirs...)
			var ce *ConflictError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a ConflictError containing %q", err, tc.want)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("%s was created despite the conflict", out)
			}
		})
	}
	t.Run("scenario difference named", func(t *testing.T) {
		_, err := Merge(filepath.Join(t.TempDir(), "m"), w0.write(t), fakeWorker{index: 1, count: 2, scenario: other, startAt: t0}.write(t))
		if err == nil || !strings.Contains(err.Error(), `ran another scenario than segment 0/2`) || !strings.Contains(err.Error(), `("steps: [2, 6]" against "steps: [2, 5]")`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("not a segment", func(t *testing.T) {
		dir := w0.write(t)
		info, err := rundir.ReadRunInfo(dir)
		if err != nil {
			t.Fatal(err)
		}
		info.Segment = nil
		if err := rundir.WriteRunInfo(dir, *info); err != nil {
			t.Fatal(err)
		}
		_, err = Merge(filepath.Join(t.TempDir(), "m"), dir, w1.write(t))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Dir != dir || !strings.Contains(err.Error(), "not run with --segment") {
			t.Errorf("err = %v, want an InputError naming %s", err, dir)
		}
	})
	t.Run("output not empty", func(t *testing.T) {
		out := t.TempDir()
		os.WriteFile(filepath.Join(out, "x"), nil, 0o644)
		_, err := Merge(out, w0.write(t), w1.write(t))
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("err = %v", err)
		}
	})
}
