package measure

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// The attribution tests build a synth run (steps of 1, 2, 4, 8 streams,
// 10 s each, 2 s warm-up, step i from t0 + 10·i s) whose goodput goes
// flat from the second step (saturation there), and add the processes and
// MetricsPort scrapes a real run would sample: what changes between them
// is who is at a limit, so the attribution is all that differs.

var attrT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// flatRun is the synth run the attribution tests share: 2 MB/s at every
// load, so that saturation fires at step 2 and is the onset unless a
// relay signal fires earlier.
func flatRun(t *testing.T) *Run {
	t.Helper()
	s := synth{t0: attrT0, loads: []int{1, 2, 4, 8}, size: 2e5,
		perStream: func(load int) float64 { return 2e6 / float64(load) },
		ttfb:      func(int) time.Duration { return 10 * time.Millisecond }}
	return s.run(t)
}

// proc is a process to sample once a second: rate(sec) is its CPU in
// cores during the second that ends sec seconds after attrT0.
type proc struct {
	name string
	role rundir.ProcessRole
	rate func(sec int) float64
	// quota, when set, confines it: 10 periods of 100 ms a second,
	// throttled(sec) of them throttled.
	quota     float64
	throttled func(sec int) int64
}

// sampleEverySecond adds samples of the processes and of the machine (2
// cores; machineBusy(sec) cores busy, with its total CPU time) at every
// whole second from attrT0 to 41 s, the run's end.
func sampleEverySecond(r *Run, machineBusy func(sec int) float64, procs ...proc) {
	cpu := make([]float64, len(procs))
	var periods, throttled int64
	busy, total := 0.0, 0.0
	for sec := 0; sec <= 41; sec++ {
		at := attrT0.Add(time.Duration(sec) * time.Second)
		if sec > 0 {
			busy += machineBusy(sec)
			total += 2
		}
		r.Processes = append(r.Processes, rundir.ProcessSample{Time: at, Name: rundir.MachineName, Role: rundir.RoleMachine,
			CPUSeconds: busy, TotalCPUSeconds: total, Cores: 2})
		for i, p := range procs {
			if sec > 0 {
				cpu[i] += p.rate(sec)
			}
			smp := rundir.ProcessSample{Time: at, Name: p.name, Role: p.role, PID: 100 + i, CPUSeconds: cpu[i], RSSBytes: 50 << 20}
			if p.quota > 0 {
				if sec > 0 {
					periods += 10
					throttled += p.throttled(sec)
				}
				smp.Cgroup = &rundir.CgroupSample{QuotaCores: p.quota, Periods: periods, Throttled: throttled}
			}
			r.Processes = append(r.Processes, smp)
		}
	}
}

// stepOf is the 0-based step of the second that ends sec seconds after
// attrT0 (the last, for the second after the run).
func stepOf(sec int) int { return min((sec-1)/10, 3) }

// byStep returns a rate function of per-step values.
func byStep(v ...float64) func(int) float64 {
	return func(sec int) float64 { return v[min(stepOf(sec), len(v)-1)] }
}

const targetURL = "http://127.0.0.1:9035/metrics"

// scrapeRelay adds MetricsPort scrapes of the target at every second and a
// half, its written (and read) bytes growing at written(step) bytes/s, and
// its rate-limit counter rising once a second in the steps limited(step).
func scrapeRelay(r *Run, written func(step int) float64, limited func(step int) bool) {
	var bytes, hits float64
	prev := attrT0
	for sec := 0; sec <= 40; sec++ {
		at := attrT0.Add(time.Duration(sec)*time.Second + 500*time.Millisecond)
		if sec > 0 {
			step := stepOf(sec + 1) // the second from sec-0.5 to sec+0.5 lies in this step but at its edges
			bytes += written(step) * at.Sub(prev).Seconds()
			if limited != nil && limited(step) {
				hits++
			}
		}
		prev = at
		r.Metrics = append(r.Metrics, metricsport.ScrapeRecord{URL: targetURL, At: at, OK: true, Families: []metricsport.Family{
			{Name: metricsport.FamilyTrafficBytes, Type: "counter", Samples: []metricsport.Sample{
				{Name: metricsport.FamilyTrafficBytes, Labels: map[string]string{"direction": "read"}, Value: bytes},
				{Name: metricsport.FamilyTrafficBytes, Labels: map[string]string{"direction": "written"}, Value: bytes},
			}},
			{Name: metricsport.FamilyRateLimitReached, Type: "counter", Samples: []metricsport.Sample{
				{Name: metricsport.FamilyRateLimitReached, Labels: map[string]string{"side": "read"}, Value: hits},
			}},
		}})
	}
}

func idleMachine(int) float64 { return 0.8 }

func hasSignal(s StepResult, name string) bool {
	return slices.ContainsFunc(s.Signals, func(sig Signal) bool { return sig.Name == name })
}

// TestAttributionRelay: the target under a 0.25-core quota uses 40 % and
// 80 % of it at the first two steps, then all of it, throttled in 8 of
// every 10 periods. relay-cpu fires at step 3 with the quota as its
// evidence, the target is its bottleneck, and the capacity there is the
// relay's, not a lower bound. The relay's efficiency is its written bytes
// per CPU-second, checked by hand.
func TestAttributionRelay(t *testing.T) {
	// Goodput grows until step 3 (4 MB/s), then stays: saturation only
	// at step 4, after the relay's own limit.
	s := synth{t0: attrT0, loads: []int{1, 2, 4, 8}, size: 2e5,
		perStream: func(load int) float64 { return 1e6 * float64(min(load, 4)) / float64(load) },
		ttfb:      func(int) time.Duration { return 10 * time.Millisecond }}
	r := s.run(t)
	written := []float64{1e6, 2e6, 4e6, 4e6}
	sampleEverySecond(r, idleMachine,
		proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.1, 0.2, 0.25, 0.25), quota: 0.25,
			throttled: func(sec int) int64 { return []int64{0, 1, 8, 8}[stepOf(sec)] }},
		proc{name: "load0", role: rundir.RoleClient, rate: byStep(0.1, 0.2, 0.3, 0.3)})
	scrapeRelay(r, func(step int) float64 { return written[step] }, nil)
	a := Analyze(r)

	st := a.Steps[2]
	if !hasSignal(st, SignalRelayCPU) || st.Attribution != AttributionRelay {
		t.Fatalf("step 3: signals %+v, attribution %q: want relay-cpu and relay", st.Signals, st.Attribution)
	}
	want := "rbtarget used 0.25 of its 0.25-core quota (p90 0.25), throttled in 72 of 90 periods"
	if sig := st.Signals[0]; sig.Name != SignalRelayCPU || sig.Source != SourceRelay || sig.Evidence != want {
		t.Errorf("step 3 first signal %+v, want relay-cpu from the relay saying %q", sig, want)
	}
	if len(st.Bottlenecks) != 1 || st.Bottlenecks[0].Kind != BottleneckTarget || st.Bottlenecks[0].Evidence != want || st.LoadGeneratorBound {
		t.Errorf("step 3 bottlenecks %+v, want the target with the quota evidence", st.Bottlenecks)
	}
	if st.TargetQuotaCores != 0.25 || math.Abs(st.TargetCPU.P90-1) > 1e-9 || math.Abs(st.TargetThrottledShare-0.8) > 1e-9 || st.TargetPeriods != 90 {
		t.Errorf("step 3 target CPU %+v of quota %v, throttled %v of %d periods: want all of 0.25 cores, 80%% of 90",
			st.TargetCPU, st.TargetQuotaCores, st.TargetThrottledShare, st.TargetPeriods)
	}
	for i := range 2 {
		if s := a.Steps[i]; hasSignal(s, SignalRelayCPU) || s.Attribution != "" {
			t.Errorf("step %d (target at %.0f%% of its quota): signals %+v, attribution %q; want neither", i+1, s.TargetCPU.P90*100, s.Signals, s.Attribution)
		}
	}
	if o := a.Onset; o == nil || o.Step != 2 || o.Cause != SignalRelayCPU || o.Attribution != AttributionRelay || len(o.AttributionEvidence) == 0 || o.AttributionEvidence[0] != want {
		t.Fatalf("onset %+v, want relay-cpu at step 3, the relay's", o)
	}
	c := a.Capacity
	if c == nil || c.Step != 2 || c.LowerBound || c.Attribution != AttributionRelay || len(c.Reasons) != 0 || c.Path {
		t.Fatalf("capacity %+v, want step 3, the relay's, not a lower bound", c)
	}
	// By hand: in each measured window (8 s) the relay wrote 8 s × its
	// rate, and used 9 one-second intervals × its CPU (the interval ending
	// at the window's start is the first one sampled); both rates are flat
	// within a step, so bytes per CPU-second = rate / CPU.
	for i, want := range []float64{8e6 / (8 * 0.1), 16e6 / (8 * 0.2), 32e6 / (8 * 0.25), 32e6 / (8 * 0.25)} {
		if got := a.Steps[i].RelayEfficiency; math.Abs(got-want) > 1e-6*want {
			t.Errorf("step %d efficiency %.0f B/CPU-s, want %.0f", i+1, got, want)
		}
		if rs := a.Steps[i].RepStats; len(rs) != 1 || math.Abs(rs[0].RelayEfficiency-want) > 1e-6*want {
			t.Errorf("step %d repetition efficiency %+v, want %.0f", i+1, rs, want)
		}
	}
}

// TestAttributionLoadGenerator: a tor client at 100 % of a core, the
// relay at 30 % and the machine at 40 %: the load generator's limit, so
// the capacity is a lower bound attributed to it.
func TestAttributionLoadGenerator(t *testing.T) {
	r := flatRun(t)
	sampleEverySecond(r, idleMachine,
		proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)},
		proc{name: "load0", role: rundir.RoleClient, rate: byStep(1.0)})
	a := Analyze(r)
	for _, s := range a.Steps {
		if s.Attribution != AttributionLoadGenerator || hasSignal(s, SignalRelayCPU) || !s.LoadGeneratorBound {
			t.Errorf("step %d: attribution %q, signals %+v: want load-generator and no relay-cpu", s.Step+1, s.Attribution, s.Signals)
		}
	}
	if o := a.Onset; o == nil || o.Cause != SignalSaturation || o.Attribution != AttributionLoadGenerator {
		t.Fatalf("onset %+v, want saturation, the load generator's", o)
	}
	c := a.Capacity
	if c == nil || !c.LowerBound || c.Attribution != AttributionLoadGenerator || !strings.Contains(strings.Join(c.Reasons, " "), "tor client load0 used 100% of a core") {
		t.Fatalf("capacity %+v, want a lower bound, the load generator's, naming load0", c)
	}
}

// TestAttributionChurnBehindSchedule: an open loop that sent less than
// 95 % of the offered requests is the load generator's limit, whatever the
// CPU says.
func TestAttributionChurnBehindSchedule(t *testing.T) {
	s := StepResult{Step: 0, Load: 100, OfferedRate: 100, AchievedRate: 80}
	b, ok := generatorBottleneck(s)
	if !ok {
		t.Fatal("no generator bottleneck at 80 % of the offered rate")
	}
	s.Bottlenecks = []Bottleneck{b}
	if who, ev := stepAttribution(&s); who != AttributionLoadGenerator || len(ev) != 1 || !strings.Contains(ev[0], "80.0 of the 100 req/s") {
		t.Errorf("attribution %q %v, want load-generator with the achieved rate", who, ev)
	}
}

// TestAttributionNetwork: another relay of the embedded network at a
// whole core: the network's limit.
func TestAttributionNetwork(t *testing.T) {
	r := flatRun(t)
	sampleEverySecond(r, idleMachine,
		proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)},
		proc{name: "load0", role: rundir.RoleClient, rate: byStep(0.2)},
		proc{name: "test003r", role: rundir.RoleRelay, rate: byStep(0.5, 1.0)})
	a := Analyze(r)
	if s := a.Steps[0]; s.Attribution != "" {
		t.Errorf("step 1 (exit at half a core): attribution %q, want none", s.Attribution)
	}
	if o := a.Onset; o == nil || o.Step != 1 || o.Attribution != AttributionNetwork || !strings.Contains(o.AttributionEvidence[0], "test003r") {
		t.Fatalf("onset %+v, want step 2, the network's (test003r)", o)
	}
	if c := a.Capacity; c == nil || !c.LowerBound || c.Attribution != AttributionNetwork {
		t.Fatalf("capacity %+v, want a lower bound, the network's", c)
	}
}

// TestAttributionMachineForeignLoad: the machine's 2 cores are 98 % busy
// while the sampled processes use 0.5 core: 1.46 cores of foreign load,
// which the machine's evidence names.
func TestAttributionMachineForeignLoad(t *testing.T) {
	r := flatRun(t)
	sampleEverySecond(r, func(int) float64 { return 1.96 },
		proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)},
		proc{name: "load0", role: rundir.RoleClient, rate: byStep(0.2)})
	a := Analyze(r)
	st := a.Steps[1]
	if math.Abs(st.MachineBusy.P90-0.98) > 1e-9 || math.Abs(st.ForeignCPU.P90-1.46) > 1e-9 || math.Abs(st.ForeignCPU.Mean-1.46) > 1e-9 {
		t.Errorf("step 2 machine busy %+v, foreign %+v: want 98%% and 1.46 cores", st.MachineBusy, st.ForeignCPU)
	}
	if st.Attribution != AttributionMachine || !strings.Contains(st.AttributionEvidence[0], "1.46 cores at p90 were foreign load") {
		t.Errorf("step 2 attribution %q %v, want machine naming the foreign load", st.Attribution, st.AttributionEvidence)
	}
	if c := a.Capacity; c == nil || !c.LowerBound || c.Attribution != AttributionMachine {
		t.Fatalf("capacity %+v, want a lower bound, the machine's", c)
	}
}

// TestAttributionUnknownSocks: a socks target without MetricsPort and
// without a target process: nothing can say whose limit the onset was.
func TestAttributionUnknownSocks(t *testing.T) {
	r := flatRun(t)
	sc, err := scenarios.Parse([]byte("name: socks\ntarget: {kind: socks, socks: {addresses: [127.0.0.1:9050]}}\nworkload: {kind: bulk}\nramp: {steps: [1, 2, 4, 8], step_duration: 10s, warmup: 2s}\n"), "socks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r.Scenario = sc
	sampleEverySecond(r, idleMachine, proc{name: "harness", role: rundir.RoleHarness, rate: byStep(0.3)})
	a := Analyze(r)
	for _, s := range a.Steps {
		if s.Attribution != "" || s.RelayEfficiency != 0 || s.TargetCPU.Intervals != 0 {
			t.Errorf("step %d: attribution %q, efficiency %v, target CPU %+v: want none", s.Step+1, s.Attribution, s.RelayEfficiency, s.TargetCPU)
		}
	}
	const why = "neither the relay's MetricsPort nor its CPU was measured"
	if o := a.Onset; o == nil || o.Attribution != AttributionUnknown || !strings.Contains(o.AttributionEvidence[0], why) {
		t.Fatalf("onset %+v, want unknown: %s", o, why)
	}
	if c := a.Capacity; c == nil || !c.LowerBound || c.Attribution != AttributionUnknown || !strings.Contains(strings.Join(c.Reasons, " "), why) {
		t.Fatalf("capacity %+v, want an unknown lower bound saying %s", c, why)
	}
}

// TestAttributionP90NotMean: the unconfined relay at 40 % of a core for
// the first three seconds of each measured window and at a whole core for
// the other six: its step mean is 80 %, below the 90 % limit, but its p90
// is 100 %. It was at its limit, and the attribution says so.
func TestAttributionP90NotMean(t *testing.T) {
	r := flatRun(t)
	// The measured window of each step is made of the intervals ending 2
	// to 10 s into the step.
	busy := func(sec int) float64 {
		if pos := sec - 10*stepOf(sec); pos >= 2 && pos <= 4 {
			return 0.4
		}
		return 1
	}
	sampleEverySecond(r, idleMachine, proc{name: "rbtarget", role: rundir.RoleTarget, rate: busy})
	a := Analyze(r)
	st := a.Steps[0]
	if math.Abs(st.TargetCPU.Mean-0.8) > 1e-9 || st.TargetCPU.P90 != 1 || st.TargetCPU.Peak != 1 || st.TargetCPU.Intervals != 9 {
		t.Fatalf("step 1 target CPU %+v, want mean 0.8, p90 and peak 1 over 9 intervals", st.TargetCPU)
	}
	if !hasSignal(st, SignalRelayCPU) || st.Attribution != AttributionRelay {
		t.Errorf("step 1: signals %+v, attribution %q: want relay-cpu, the relay's", st.Signals, st.Attribution)
	}
	const want = "rbtarget used 0.8 of a core (p90 1): tor relays cells on one thread, so one core is its limit"
	if len(st.Bottlenecks) != 1 || st.Bottlenecks[0].Evidence != want {
		t.Errorf("step 1 bottlenecks %+v, want %q", st.Bottlenecks, want)
	}
	if c := a.Capacity; c == nil || c.LowerBound || c.Attribution != AttributionRelay {
		t.Errorf("capacity %+v, want the relay's", c)
	}
}

// TestAttributionPrecedence: several limits at once. The relay at its
// quota wins over a saturated machine and a client at its core (its own
// counters say it could carry no more); without the relay, the machine
// wins over the client and another relay; the losers stay in the evidence
// as "also at its limit".
func TestAttributionPrecedence(t *testing.T) {
	target := proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.25), quota: 0.25, throttled: func(int) int64 { return 9 }}
	client := proc{name: "load0", role: rundir.RoleClient, rate: byStep(1.0)}
	exit := proc{name: "test003r", role: rundir.RoleRelay, rate: byStep(1.0)}
	saturated := func(int) float64 { return 1.98 }

	r := flatRun(t)
	sampleEverySecond(r, saturated, target, client, exit)
	a := Analyze(r)
	st := a.Steps[0]
	if st.Attribution != AttributionRelay || len(st.AttributionEvidence) != 4 || !strings.HasPrefix(st.AttributionEvidence[0], "rbtarget used 0.25 of its 0.25-core quota") {
		t.Fatalf("relay, machine, client and network at their limits: attribution %q %v, want the relay's first", st.Attribution, st.AttributionEvidence)
	}
	for _, also := range st.AttributionEvidence[1:] {
		if !strings.HasPrefix(also, "also at its limit: ") {
			t.Errorf("evidence %q after the winner's, want \"also at its limit: ...\"", also)
		}
	}
	if c := a.Capacity; c == nil || c.LowerBound || c.Attribution != AttributionRelay {
		t.Errorf("capacity %+v, want the relay's", c)
	}

	r = flatRun(t)
	sampleEverySecond(r, saturated, proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)}, client, exit)
	a = Analyze(r)
	if st := a.Steps[0]; st.Attribution != AttributionMachine || len(st.AttributionEvidence) != 3 {
		t.Errorf("machine, client and network at their limits: attribution %q %v, want the machine's", st.Attribution, st.AttributionEvidence)
	}

	r = flatRun(t)
	sampleEverySecond(r, idleMachine, proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)}, client, exit)
	a = Analyze(r)
	if st := a.Steps[0]; st.Attribution != AttributionLoadGenerator {
		t.Errorf("client and network at their limits: attribution %q, want the load generator's", st.Attribution)
	}

	// The relay's rate limiter (a relay-declared signal) wins over the
	// saturated machine too.
	r = flatRun(t)
	sampleEverySecond(r, saturated, proc{name: "rbtarget", role: rundir.RoleTarget, rate: byStep(0.3)})
	scrapeRelay(r, func(int) float64 { return 2e6 }, func(int) bool { return true })
	a = Analyze(r)
	if st := a.Steps[0]; st.Attribution != AttributionRelay || !strings.HasPrefix(st.AttributionEvidence[0], "rate-limit (relay): ") {
		t.Errorf("rate limit and machine: attribution %q %v, want the relay's rate limit", st.Attribution, st.AttributionEvidence)
	}
	if c := a.Capacity; c == nil || c.LowerBound || c.Attribution != AttributionRelay {
		t.Errorf("capacity %+v, want the relay's (its rate limiter)", c)
	}
}

// liveRelayRun is flatRun with a relay target (the relay under test as
// middle, a payload URL on the live network).
func liveRelayRun(t *testing.T) *Run {
	t.Helper()
	r := flatRun(t)
	sc, err := scenarios.Parse([]byte("name: live\ntarget: {kind: relay, role: middle, relay: {fingerprint: 0123456789ABCDEF0123456789ABCDEF01234567}}\npayload: {url: https://example.org/10MB}\nworkload: {kind: bulk}\nramp: {steps: [1, 2, 4, 8], step_duration: 10s, warmup: 2s}\n"), "live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r.Scenario = sc
	return r
}

// TestAttributionLiveRelayIsPathCapacity: a live relay (target.kind relay)
// whose own counters show nothing: the capacity is the path's.
func TestAttributionLiveRelayIsPathCapacity(t *testing.T) {
	r := liveRelayRun(t)
	a := Analyze(r)
	if c := a.Capacity; c == nil || !c.LowerBound || !c.Path || c.Attribution != AttributionUnknown {
		t.Fatalf("capacity %+v, want the path's, a lower bound", c)
	}
}

// TestUpgradeAttributesOldSummaries: a summary from before the
// attribution is attributed on reading from its bottlenecks: an old
// capacity at a machine-saturated step becomes the machine's lower bound.
func TestUpgradeAttributesOldSummaries(t *testing.T) {
	a := &Analysis{Version: 2, RunHeader: RunHeader{Target: "testnet relay as bridge"},
		Steps: []StepResult{{Step: 0, Load: 1, Goodput: Estimate{N: 1, Mean: 1e6},
			Bottlenecks: []Bottleneck{{Kind: BottleneckMachine, Name: "machine", Utilisation: 0.95, Evidence: "the machine was CPU-saturated"}}},
			{Step: 1, Load: 2, Goodput: Estimate{N: 1, Mean: 1e6},
				Signals: []Signal{{Name: SignalSaturation, Source: SourceClient, Step: 1, Load: 2}}}},
		Onset:    &Onset{Step: 1, Load: 2, Cause: SignalSaturation},
		Capacity: &Capacity{Step: 0, Load: 1, Goodput: Estimate{N: 1, Mean: 1e6}},
	}
	upgradeSummary(a)
	// Its numbers stay version 2's (requests counted by their start):
	// only a run directory's raw files make them version 3.
	if a.Version != 2 || a.Steps[0].Attribution != AttributionMachine || a.Onset.Attribution != AttributionUnknown {
		t.Errorf("version %d, step 1 %q, onset %q: want 2, machine, unknown", a.Version, a.Steps[0].Attribution, a.Onset.Attribution)
	}
	if c := a.Capacity; !c.LowerBound || c.Attribution != AttributionMachine || !slices.Contains(c.Reasons, "the machine was CPU-saturated") {
		t.Errorf("capacity %+v, want the machine's lower bound", c)
	}
	// A version 3 file lacks only the attribution: attributed, it is
	// current.
	v3 := &Analysis{Version: 3, Steps: []StepResult{{Step: 0, Load: 1, Goodput: Estimate{N: 1, Mean: 1e6}}},
		Capacity: &Capacity{Step: 0, Load: 1, Goodput: Estimate{N: 1, Mean: 1e6}}}
	upgradeSummary(v3)
	if v3.Version != AnalysisVersion || v3.Capacity.Attribution != AttributionUnknown || !v3.Capacity.LowerBound {
		t.Errorf("version 3 upgraded: version %d, capacity %+v; want %d and an unknown lower bound", v3.Version, v3.Capacity, AnalysisVersion)
	}
}

// TestLiveRelayCountsVerifiedDownloads: a relay target's analysis counts
// the run's successful requests, warm-up included, and those whose body
// was verified; failures count in neither.
func TestLiveRelayCountsVerifiedDownloads(t *testing.T) {
	r := liveRelayRun(t)
	// Count by hand what the analysis must find, after marking every
	// third success verified and failing every fifth request.
	var ok, verified int
	for i := range r.Records {
		rec := &r.Records[i]
		if i%5 == 4 {
			rec.Error, rec.Verified = rundir.ClassTimeout, false
		}
		if rec.OK() {
			ok++
			if i%3 == 0 {
				rec.Verified = true
				verified++
			}
		}
	}
	if ok == 0 || verified == 0 || verified == ok {
		t.Fatalf("fixture: %d ok, %d verified; want some of each", ok, verified)
	}
	l := Analyze(r).LiveRelay
	if l == nil || l.Succeeded != ok || l.Verified != verified {
		t.Errorf("live_relay %+v; want %d succeeded, %d verified", l, ok, verified)
	}
}
