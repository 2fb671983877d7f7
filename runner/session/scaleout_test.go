package session

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/merge"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// TestSegmentsOnOneNetwork is issue 15's check with real tor: three
// workers (segments 0/3, 1/3, 2/3, one start time), each with a tor client
// of its own that uses the embedded network's relay under test as its
// bridge, merged; then one process with three clients running the same
// total load. The merged steps are the workers' exact sums; the goodputs
// are logged side by side and must agree within a factor that a busy
// machine cannot break by itself (2 cores run the network, the clients and
// the workers).
func TestSegmentsOnOneNetwork(t *testing.T) {
	net := sharedNetwork(t)
	target := net.Target()
	sc := shortScenario(t, "local", 2, 6)
	sc.Ramp.StepDuration = scenarios.Duration(10 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
	sc.Target = scenarios.Target{Kind: scenarios.TargetRelay, Role: scenarios.RoleBridge,
		Relay: &scenarios.RelayTarget{BridgeLine: target.BridgeLine(), MetricsURL: target.MetricsURL()}}
	sc.Clients = 1

	// Time for every worker to bootstrap its client on a busy machine: on a
	// network that is up, a client bootstraps in about 3 s here. A worker
	// that misses the start still runs; run.json then warns of the spread.
	startAt := time.Now().Add(15 * time.Second).Truncate(time.Second)
	dirs := make([]string, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		opts := testOptions(t)
		opts.DirAuthorities = net.DirAuthorities
		opts.Segment = segment.Segment{Index: i, Count: 3}
		opts.StartAt = startAt
		wg.Go(func() {
			res, err := Run(context.Background(), sc, opts)
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			if res != nil {
				dirs[i] = res.Dir
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	out := filepath.Join(t.TempDir(), "merged")
	info, err := merge.Merge(out, dirs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("merged run.json warnings: %q; largest start spread %s", info.Warnings, info.Merged.MaxStartSpread)
	m, err := rundir.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	for j, s := range m.Steps {
		var req, ok int
		var byts int64
		for _, d := range dirs {
			w, err := rundir.Read(d)
			if err != nil {
				t.Fatal(err)
			}
			req, ok, byts = req+w.Steps[j].Requests, ok+w.Steps[j].OK, byts+w.Steps[j].Bytes
		}
		if s.Requests != req || s.OK != ok || s.Bytes != byts || s.Load != sc.Ramp.Steps[j] {
			t.Errorf("merged step %d: load %d, %d requests, %d ok, %d bytes; the workers' sums %d, %d, %d", j+1, s.Load, s.Requests, s.OK, s.Bytes, req, ok, byts)
		}
	}
	merged, err := AnalyzeDir(out)
	if err != nil {
		t.Fatal(err)
	}

	// One process, three clients, the whole load.
	whole := *sc
	whole.Clients = 3
	opts := testOptions(t)
	opts.DirAuthorities = net.DirAuthorities
	res, err := Run(context.Background(), &whole, opts)
	if err != nil {
		t.Fatal(err)
	}
	for j, ms := range merged.Steps {
		ss := res.Analysis.Steps[j]
		t.Logf("step %d (%d streams): 3 workers merged %.2f MiB/s (CI %.2f–%.2f, %d requests, generator-bound %v); one process %.2f MiB/s (CI %.2f–%.2f, %d requests, generator-bound %v)",
			j+1, ms.Load, units.InMiB(ms.Goodput.Mean), units.InMiB(ms.Goodput.Low), units.InMiB(ms.Goodput.High), ms.Requests, ms.LoadGeneratorBound,
			units.InMiB(ss.Goodput.Mean), units.InMiB(ss.Goodput.Low), units.InMiB(ss.Goodput.High), ss.Requests, ss.LoadGeneratorBound)
		if r := ms.Goodput.Mean / ss.Goodput.Mean; r < 0.5 || r > 2 {
			t.Errorf("step %d: merged goodput is %.2f times one process's", j+1, r)
		}
	}
}
