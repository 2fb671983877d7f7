package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

// scaleoutRate caps every fake stream, so that a step of N streams carries
// about N times as much whoever runs them.
const scaleoutRate = 512 << 10

// scaleoutScenario is a two-step socks scenario through fakes: 2 and 7
// streams, so that over 3 workers the first step is 1, 1, 0 (segment 2
// idles) and the second 3, 2, 2.
func scaleoutScenario(t *testing.T) (string, *testkit.MetricsPort) {
	socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: scaleoutRate, ReplyDelay: 50 * time.Millisecond}))
	return goldenScenario(t, "scaleout", socks, mp, `payload:
  size: 384KiB
workload:
  kind: bulk
ramp:
  steps: [2, 7]
  step_duration: 3s
  warmup: 1s
sampling:
  interval: 500ms
`), mp
}

// runWorkers runs `relaybench run --segment i/N --start-at T` for every i
// at once, in-process, and returns their run directories by segment.
func runWorkers(t *testing.T, scenario string, n int, startAt time.Time) []string {
	t.Helper()
	dirs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		out := t.TempDir()
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			err := run([]string{"run", "--out", out, "--segment", fmt.Sprintf("%d/%d", i, n), "--start-at", startAt.Format(time.RFC3339), scenario}, &stdout, &stderr)
			if code := exitCode(err); code != exitOK {
				t.Errorf("worker %d: exit %d (%v)\nstderr:\n%s", i, code, err, stderr.String())
				return
			}
			ents, _ := os.ReadDir(out)
			if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), fmt.Sprintf("-scaleout-segment-%d-of-%d", i, n)) {
				t.Errorf("worker %d wrote %v, want one directory named for its segment", i, ents)
				return
			}
			dirs[i] = filepath.Join(out, ents[0].Name())
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return dirs
}

// TestMergeThreeWorkers is issue 15's check without tor: three workers
// (`--segment 0/3`, `1/3`, `2/3`, one `--start-at`) load fake SocksPorts,
// `relaybench merge` makes one run of them, and
//   - the merged steps' requests, outcomes and bytes are the workers'
//     sums exactly, the merged requests.jsonl every worker's records;
//   - the merged analysis' latency percentiles are those of the
//     concatenated raw samples of the workers' requests.jsonl;
//   - only segment 0 scraped the relay and wrote env.json, the others'
//     process samples are kept under their prefix;
//   - the merged goodput of each step is that of one process running the
//     whole load, within the noise of the fakes' pacing.
func TestMergeThreeWorkers(t *testing.T) {
	scenario, mp := scaleoutScenario(t)
	startAt := time.Now().Add(3 * time.Second).Truncate(time.Second)
	dirs := runWorkers(t, scenario, 3, startAt)

	var workers []*rundir.Run
	for i, d := range dirs {
		r, err := rundir.Read(d)
		if err != nil || len(r.Problems) > 0 {
			t.Fatalf("worker %d: %v %v", i, err, r.Problems)
		}
		workers = append(workers, r)
		seg := r.Info.Segment
		if seg == nil || seg.Index != i || seg.Count != 3 || !slices.Equal(seg.TotalLoads, []int{2, 7}) || !seg.StartAt.Equal(startAt) {
			t.Errorf("worker %d run.json segment %+v", i, seg)
		}
		if len(r.Info.Warnings) > 0 {
			t.Errorf("worker %d warned: %q", i, r.Info.Warnings)
		}
		shares := [][]int{{1, 3}, {1, 2}, {0, 2}}[i]
		for j, s := range r.Steps {
			if s.Load != shares[j] {
				t.Errorf("worker %d step %d load %d, want its share %d", i, j+1, s.Load, shares[j])
			}
			if off := s.Start.Sub(startAt.Add(time.Duration(j) * 3 * time.Second)); off < 0 || off > time.Second {
				t.Errorf("worker %d step %d began %s after its schedule", i, j+1, off)
			}
		}
		_, envErr := os.Stat(filepath.Join(d, rundir.EnvFile))
		scraped := slices.ContainsFunc(r.Metrics, func(s rundir.ScrapeRecord) bool { return s.URL == mp.URL() })
		if (i == 0) != (envErr == nil) || (i == 0) != scraped || (i == 0) != seg.ScrapesRelay {
			t.Errorf("worker %d: env.json %v, scraped the relay %v, scrapes_relay %v; want only segment 0 to", i, envErr == nil, scraped, seg.ScrapesRelay)
		}
	}

	merged := filepath.Join(t.TempDir(), "merged")
	var stdout, stderr bytes.Buffer
	err := run([]string{"merge", dirs[0], dirs[1], dirs[2], "-o", merged}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("merge: exit %d (%v)\n%s", code, err, stderr.String())
	}
	t.Logf("merge:\n%s", stdout.String())
	m, err := rundir.Read(merged)
	if err != nil || len(m.Problems) > 0 {
		t.Fatalf("merged: %v %v", err, m.Problems)
	}
	if len(m.Info.Warnings) > 0 {
		t.Errorf("merged run.json warns: %q", m.Info.Warnings)
	}

	// Exact sums, step by step.
	if len(m.Steps) != 2 {
		t.Fatalf("%d merged steps, want 2", len(m.Steps))
	}
	nrecs := 0
	for _, w := range workers {
		nrecs += len(w.Records)
	}
	if len(m.Records) != nrecs {
		t.Errorf("merged requests.jsonl has %d records, the workers %d", len(m.Records), nrecs)
	}
	for j, s := range m.Steps {
		var req, ok, cut, warm, errs int
		var byts, secs, msecs int64
		for _, w := range workers {
			ws := w.Steps[j]
			req, ok, cut, warm, errs = req+ws.Requests, ok+ws.OK, cut+ws.Cut, warm+ws.Warmup, errs+ws.ErrorCount()
			byts += ws.Bytes
			for _, b := range ws.SecondBytes {
				secs += b
			}
		}
		for _, b := range s.SecondBytes {
			msecs += b
		}
		if s.Load != []int{2, 7}[j] || s.Requests != req || s.OK != ok || s.Cut != cut || s.Warmup != warm || s.ErrorCount() != errs || s.Bytes != byts || msecs != secs {
			t.Errorf("merged step %d: load %d, %d requests (%d ok, %d cut, %d warm-up, %d failed), %d bytes, %d in its seconds; the workers' sums: %d (%d, %d, %d, %d), %d, %d",
				j+1, s.Load, s.Requests, s.OK, s.Cut, s.Warmup, s.ErrorCount(), s.Bytes, msecs, req, ok, cut, warm, errs, byts, secs)
		}
		if s.Bytes == 0 {
			t.Errorf("merged step %d carried no bytes", j+1)
		}
	}

	// Percentiles from the raw samples: the merged analysis against that of
	// the workers' requests.jsonl files concatenated as they are (cat), in
	// the merged steps' windows. Every sample and count must be the same.
	a, err := measure.ReadSummary(merged)
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	var cat []byte
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, rundir.RequestsFile))
		if err != nil {
			t.Fatal(err)
		}
		cat = append(cat, b...)
	}
	for name, b := range map[string][]byte{rundir.RequestsFile: cat, rundir.ScenarioFile: nil, rundir.StepsFile: nil} {
		if b == nil {
			if b, err = os.ReadFile(filepath.Join(merged, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(ref, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	refRun, err := measure.Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := measure.Analyze(refRun)
	for j, st := range a.Steps {
		w := want.Steps[j]
		if !slices.Equal(slices.Sorted(slices.Values(st.TTFBSamples)), slices.Sorted(slices.Values(w.TTFBSamples))) || len(st.TTFBSamples) == 0 {
			t.Errorf("step %d: merged TTFB samples %v, the concatenated records' %v", j+1, st.TTFBSamples, w.TTFBSamples)
		}
		for name, c := range map[string][2]measure.Distribution{
			"connect": {st.Connect, w.Connect}, "ttfb": {st.TTFB, w.TTFB}, "ttlb": {st.TTLB, w.TTLB}, "stream goodput": {st.StreamGoodput, w.StreamGoodput},
		} {
			if c[0] != c[1] || c[0].N == 0 {
				t.Errorf("step %d %s: merged %+v, from the concatenated records %+v", j+1, name, c[0], c[1])
			}
		}
		if st.Requests != w.Requests || st.OK != w.OK || st.Cut != w.Cut || st.Warmup != w.Warmup || !maps.Equal(st.Errors, w.Errors) {
			t.Errorf("step %d: merged analysis counts %d requests (%d ok, %d cut, %d warm-up, errors %v), the concatenated records %d (%d, %d, %d, %v)",
				j+1, st.Requests, st.OK, st.Cut, st.Warmup, st.Errors, w.Requests, w.OK, w.Cut, w.Warmup, w.Errors)
		}
		if st.Load != []int{2, 7}[j] || st.Bytes != float64(m.Steps[j].Bytes) {
			t.Errorf("step %d: analysis load %d bytes %.0f", j+1, st.Load, st.Bytes)
		}
	}
	var prefixed int
	for _, p := range a.Steps[1].Processes {
		if strings.HasPrefix(p.Name, "w1/") || strings.HasPrefix(p.Name, "w2/") {
			prefixed++
		}
	}
	if prefixed < 4 { // each worker's harness and machine at least
		t.Errorf("processes of the merged step: %+v; want those of workers 1 and 2 under their prefix", a.Steps[1].Processes)
	}

	// The same total load from one process.
	var sout, serr bytes.Buffer
	if err := run([]string{"run", "--out", t.TempDir(), scenario}, &sout, &serr); err != nil {
		t.Fatalf("single run: %v\n%s", err, serr.String())
	}
	single := runDirOf(t, sout.String())
	sa, err := measure.ReadSummary(single)
	if err != nil {
		t.Fatal(err)
	}
	for j := range a.Steps {
		mg, sg := a.Steps[j].Goodput.Mean, sa.Steps[j].Goodput.Mean
		t.Logf("step %d (%d streams): merged %.0f B/s, one process %.0f B/s", j+1, a.Steps[j].Load, mg, sg)
		if mg < 0.8*sg || mg > 1.25*sg {
			t.Errorf("step %d: merged goodput %.0f B/s against %.0f B/s from one process: more than the fakes' pacing noise apart", j+1, mg, sg)
		}
	}
}

// runDirOf finds the run directory in run's closing line.
func runDirOf(t *testing.T, stdout string) string {
	t.Helper()
	for _, l := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "results in "); ok {
			return strings.SplitN(rest, ":", 2)[0]
		}
	}
	t.Fatalf("no run directory in\n%s", stdout)
	return ""
}

// Bad segment flags and inputs that are not one run's segments are usage
// errors (exit 2) whose message names the flag or the conflict.
func TestSegmentUsageErrors(t *testing.T) {
	scenario, _ := scaleoutScenario(t)
	future := time.Now().Add(time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--segment", "3/3", scenario}, `invalid value "3/3" for flag -segment: segment 3/3: the index must be 0 to 2`},
		{[]string{"run", "--segment", "0/0", scenario}, "flag -segment: segment 0/0: the number of workers must be 1 to 1000"},
		{[]string{"run", "--segment", "one", scenario}, `flag -segment: "one" is not i/N`},
		{[]string{"run", "--start-at", "tomorrow", scenario}, `invalid value "tomorrow" for flag -start-at: "tomorrow" is not an RFC 3339 time`},
		{[]string{"run", "--start-at", "2001-01-01T00:00:00Z", scenario}, "--start-at: 2001-01-01T00:00:00Z: the whole schedule (6s) ended"},
		{[]string{"run", "--segment", "0/2", "local"}, "--segment: a testnet target would start an embedded network of its own on every worker"},
		{[]string{"run", "--scrape-relay", "--start-at", future, scenario}, "--scrape-relay: only a worker of a segmented run"},
		{[]string{"merge", "-o", t.TempDir()}, "merge: name the run directory of every worker"},
		{[]string{"merge", t.TempDir()}, "merge: name the merged run directory with -o MERGED"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(tc.args, &stdout, &stderr)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if code := exitCode(err); code != exitUsage || !strings.Contains(msg+stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q (stderr %q); want exit 2 and %q", tc.args, code, msg, stderr.String(), tc.want)
		}
	}
}

// Merging runs of different scenarios, or overlapping or missing
// segments, exits 2 naming the conflict. The workers are real runs of the
// fakes, one step each, so this goes through everything a user does.
func TestMergeConflictsExit2(t *testing.T) {
	scenario, _ := scaleoutScenario(t)
	short, err := os.ReadFile(scenario)
	if err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(t.TempDir(), "one.yaml")
	other := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(one, bytes.Replace(short, []byte("steps: [2, 7]"), []byte("steps: [2]"), 1), 0o644)
	os.WriteFile(other, bytes.Replace(short, []byte("steps: [2, 7]"), []byte("steps: [3]"), 1), 0o644)
	soon := func() time.Time { return time.Now().Add(2 * time.Second).Truncate(time.Second) }
	a := runWorkers(t, one, 2, soon())
	b := runWorkers(t, other, 2, soon())
	for _, tc := range []struct {
		name string
		dirs []string
		want string
	}{
		{"overlapping", []string{a[0], a[0], a[1]}, "segment 0/2 is given twice (" + a[0] + " and " + a[0] + ")"},
		{"missing", []string{a[1]}, "segment 0/2 is missing"},
		{"different scenarios", []string{a[0], b[1]}, "segment 1/2 (" + b[1] + ") ran another scenario than segment 0/2 (" + a[0] + "): scenario.yaml differs at line"},
	} {
		var stdout, stderr bytes.Buffer
		out := filepath.Join(t.TempDir(), "merged")
		err := run(append(append([]string{"merge"}, tc.dirs...), "-o", out), &stdout, &stderr)
		if code := exitCode(err); code != exitUsage || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: exit %d, %v; want exit 2 and %q", tc.name, code, err, tc.want)
		}
	}
}
