package session

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney/cgroup"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/scenarios"
)

// The tests here run the embedded network so that one part of it is the
// limit, and check that the run says whose limit its onset and capacity
// were, with the evidence: the relay under test confined to a CPU quota
// (relay), one tor client carrying many streams (load-generator), and
// spinning processes started beside the run (machine, foreign load). Each
// is a short ramp of two steps; together they take about 2.5 minutes.

// attributionScenario is the built-in local scenario cut to two steps of
// 8 s with 2 s of warm-up, the target unconfined (shortScenario).
func attributionScenario(t *testing.T, name string, steps ...int) *scenarios.Scenario {
	t.Helper()
	sc := shortScenario(t, "local", steps...)
	sc.Name = name
	sc.Ramp.StepDuration = scenarios.Duration(8 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
	fitTimeouts(sc)
	return sc
}

// fitTimeouts gives sc the default timeouts of its (shortened) ramp.
func fitTimeouts(sc *scenarios.Scenario) {
	sc.Workload.Timeout = sc.Ramp.DefaultTimeout()
	sc.Workload.StallTimeout = sc.Ramp.DefaultStallTimeout()
}

// runAnalysed runs sc and returns its analysis, failing the test when the
// run failed or produced none.
func runAnalysed(t *testing.T, sc *scenarios.Scenario) *measure.Analysis {
	t.Helper()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Analysis == nil {
		t.Fatal("the run produced no analysis")
	}
	logAttribution(t, res.Analysis)
	return res.Analysis
}

// logAttribution logs what a failure needs: each step's goodput, its
// attribution and the CPU figures it rests on.
func logAttribution(t *testing.T, a *measure.Analysis) {
	t.Helper()
	for _, s := range a.Steps {
		t.Logf("step %d (%d streams): %.2f MiB/s, attribution %q, relay CPU p90 %.2f (throttled %.0f%%), machine p90 %.2f, foreign p90 %.2f cores, %.0f MiB/relay-CPU-s; %s",
			s.Step+1, s.Load, s.Goodput.Mean/(1<<20), s.Attribution, s.TargetCPU.P90, s.TargetThrottledShare*100,
			s.MachineBusy.P90, s.ForeignCPU.P90, s.RelayEfficiency/(1<<20), strings.Join(s.AttributionEvidence, "; "))
	}
	if o := a.Onset; o != nil {
		t.Logf("onset: step %d, cause %s, attribution %s: %s", o.Step+1, o.Cause, o.Attribution, strings.Join(o.AttributionEvidence, "; "))
	}
	if c := a.Capacity; c != nil {
		t.Logf("capacity: %.2f MiB/s at step %d, attribution %s, lower bound %v: %s", c.Goodput.Mean/(1<<20), c.Step+1, c.Attribution, c.LowerBound, strings.Join(c.AttributionEvidence, "; "))
	}
}

// hasSignal reports whether o fired name.
func hasSignal(o *measure.Onset, name string) bool {
	for _, s := range o.Signals {
		if s.Name == name {
			return true
		}
	}
	return false
}

// TestAttributionRelayAtItsQuota: the target confined to 0.1 core (well
// below what this machine gives it even when busy: the group's weight
// gets it its quota) carries 2 and 8 streams. The relay is the limit: the
// onset is relay-cpu, attributed to the relay with the quota and the
// throttled periods as evidence, and the capacity is the relay's, not a
// lower bound.
func TestAttributionRelayAtItsQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	skipUnlessConfinable(t)
	sc := attributionScenario(t, "attr-relay", 2, 8)
	sc.Target.Testnet.CPU = 0.1
	a := runAnalysed(t, sc)

	o := a.Onset
	if o == nil {
		t.Fatal("no onset: a relay held to 0.1 core by 8 streams must be at its limit")
	}
	if o.Attribution != measure.AttributionRelay || !hasSignal(o, measure.SignalRelayCPU) {
		t.Errorf("onset at step %d attributed %q with signals %+v; want %q with %s", o.Step+1, o.Attribution, o.Signals, measure.AttributionRelay, measure.SignalRelayCPU)
	}
	c := a.Capacity
	if c == nil {
		t.Fatalf("no capacity: %s", a.NoCapacity)
	}
	if c.Attribution != measure.AttributionRelay || c.LowerBound {
		t.Errorf("capacity attributed %q, lower bound %v (%v); want the relay's own capacity", c.Attribution, c.LowerBound, c.Reasons)
	}
	evidence := strings.Join(c.AttributionEvidence, "\n")
	for _, want := range []string{"0.1-core quota", "throttled in"} {
		if !strings.Contains(evidence, want) {
			t.Errorf("capacity evidence lacks %q:\n%s", want, evidence)
		}
	}
	top := a.Steps[len(a.Steps)-1]
	if top.TargetThrottledShare < measure.ThrottledShareMin || top.TargetCPU.Mean < 0.8 {
		t.Errorf("at 8 streams the relay used %.0f%% of its quota, throttled in %.0f%% of periods: want it at its quota", top.TargetCPU.Mean*100, top.TargetThrottledShare*100)
	}
	if top.RelayEfficiency <= 0 {
		t.Errorf("no relay efficiency at 8 streams")
	}
}

// TestAttributionOneClientManyStreams: one tor client carries 8, then 64
// streams of 64 KiB objects, each on a circuit of its own, so the client
// builds circuits and relays every stream's cells on its one thread while
// the unconfined relays idle: the load generator is the limit, and the
// capacity a lower bound saying so. On a machine busy with other work
// the machine is the limit first (it takes precedence); the test then
// skips, since what it checks cannot be seen there.
func TestAttributionOneClientManyStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	sc := attributionScenario(t, "attr-generator", 8, 64)
	sc.Clients = 1
	sc.Payload.Size = 64 << 10
	a := runAnalysed(t, sc)

	top := a.Steps[len(a.Steps)-1]
	if top.Attribution == measure.AttributionMachine && top.ForeignCPU.P90 >= foreignBusy {
		t.Skipf("the machine was busy with other work (%.2f cores at p90 used by no process of the run): the machine, not the client, was the limit at 64 streams", top.ForeignCPU.P90)
	}
	if top.Attribution != measure.AttributionLoadGenerator {
		t.Errorf("64 streams through one client attributed %q (%v); want %q", top.Attribution, top.AttributionEvidence, measure.AttributionLoadGenerator)
	}
	if !strings.Contains(strings.Join(top.AttributionEvidence, "\n"), "tor client load0") {
		t.Errorf("the evidence does not name the client: %v", top.AttributionEvidence)
	}
	c := a.Capacity
	if c == nil {
		t.Fatalf("no capacity: %s", a.NoCapacity)
	}
	if c.Attribution == measure.AttributionRelay || !c.LowerBound {
		t.Errorf("capacity attributed %q, lower bound %v; want a lower bound that is not the relay's", c.Attribution, c.LowerBound)
	}
}

// foreignBusy is the foreign load, in cores at p90, above which a test
// that needs the machine to itself gives up.
const foreignBusy = 0.3

// TestAttributionMachineWithForeignLoad: two shells spin, each in a
// session of its own (another user's job, as the scheduler sees it),
// beside a run whose target is unconfined. All cores are busy with work no
// process of the run did: the capacity is a lower bound attributed to the
// machine, and its evidence names the foreign load.
func TestAttributionMachineWithForeignLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	for range 2 {
		spin(t)
	}
	sc := attributionScenario(t, "attr-machine", 2, 8)
	a := runAnalysed(t, sc)

	c := a.Capacity
	if c == nil {
		t.Fatalf("no capacity: %s", a.NoCapacity)
	}
	if c.Attribution != measure.AttributionMachine || !c.LowerBound {
		t.Errorf("capacity attributed %q, lower bound %v; want a lower bound attributed to the machine", c.Attribution, c.LowerBound)
	}
	if ev := strings.Join(c.AttributionEvidence, "\n"); !strings.Contains(ev, "foreign load") {
		t.Errorf("the capacity's evidence does not name the foreign load:\n%s", ev)
	}
	for _, s := range a.Steps {
		// Two spinning shells take at least half a core between them
		// however many other jobs share the machine.
		if s.ForeignCPU.Mean < 0.5 {
			t.Errorf("step %d: foreign load %.2f cores (mean); want the spinning shells' at least 0.5", s.Step+1, s.ForeignCPU.Mean)
		}
	}
}

// spin starts a shell spinning in a session of its own, killed by PID and
// reaped when the test ends.
func spin(t *testing.T) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("spinning shell pid %d", cmd.Process.Pid)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// skipUnlessConfinable skips a test that confines the target when this
// machine cannot (not root, no cpu controller).
func skipUnlessConfinable(t *testing.T) {
	t.Helper()
	g, err := cgroup.New("probe", cgroup.Limits{CPU: 1})
	if err != nil {
		t.Skipf("cannot confine the target here: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(fmt.Errorf("remove the probe cgroup: %w", err))
	}
}
