package measure

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/runner/rundir"
)

// CPUIntervals describes CPU use over a step's sampling intervals (the
// time between two process samples, 1 s by default), all repetitions
// pooled. A step's mean hides a saturated second: in the demo a mean of
// 80 % held intervals at 100 %; a limit is judged on P90.
type CPUIntervals struct {
	// Mean is the CPU over the whole measured windows (time-weighted).
	Mean float64 `json:"mean"`
	// P90 and Peak are the 90th percentile and the highest of the
	// per-interval values.
	P90  float64 `json:"p90"`
	Peak float64 `json:"peak"`
	// Intervals is the number of sampling intervals; 0 when nothing was
	// sampled.
	Intervals int `json:"intervals"`
}

// intervals summarises per-interval values with the time-weighted mean.
func intervals(values []float64, mean float64) CPUIntervals {
	if len(values) == 0 {
		return CPUIntervals{}
	}
	d := NewDistribution(slices.Clone(values))
	return CPUIntervals{Mean: mean, P90: d.P90, Peak: d.Max, Intervals: len(values)}
}

// scaled returns c with every value divided by by (cores into shares).
func (c CPUIntervals) scaled(by float64) CPUIntervals {
	if by <= 0 {
		return c
	}
	c.Mean /= by
	c.P90 /= by
	c.Peak /= by
	return c
}

// ProcessStep is one process's CPU and memory over a step's measured
// windows.
type ProcessStep struct {
	Name string `json:"name"`
	// Role is the process's rundir.ProcessRole: target, relay (another
	// node of an embedded network), client, harness or machine.
	Role string `json:"role"`
	// CPU is the mean CPU use in cores; for the machine, all cores busy.
	CPU float64 `json:"cpu"`
	// CPUPeak and CPUP90 are the highest and the 90th percentile of the
	// CPU use (cores) over the sampling intervals.
	CPUPeak float64 `json:"cpu_peak"`
	CPUP90  float64 `json:"cpu_p90"`
	// Intervals is the number of sampling intervals the CPU figures are
	// taken from.
	Intervals int `json:"intervals,omitempty"`
	// RSSMax is the largest resident set seen, in bytes (0 for the machine).
	RSSMax int64 `json:"rss_max,omitempty"`
	// Cores is the machine's number of CPUs (machine only).
	Cores int `json:"cores,omitempty"`
	// QuotaCores is the CPU quota of a confined process (the target with
	// target.testnet.cpu), in cores; 0 when unconfined. Periods and
	// ThrottledPeriods are its cgroup's enforcement periods with work in
	// the measured windows and those in which it ran out of quota.
	QuotaCores       float64 `json:"quota_cores,omitempty"`
	Periods          int64   `json:"nr_periods,omitempty"`
	ThrottledPeriods int64   `json:"nr_throttled,omitempty"`
}

// limitCores is what the process can use, in cores: all cores for the
// machine, its quota when confined, else one core (tor relays cells on one
// thread, so one core is a tor process's limit however many there are).
func (p ProcessStep) limitCores() float64 {
	switch {
	case p.Cores > 0:
		return float64(p.Cores)
	case p.QuotaCores > 0:
		return p.QuotaCores
	}
	return 1
}

// Utilisation is the mean CPU as a share of what the process can use (see
// limitCores).
func (p ProcessStep) Utilisation() float64 { return p.CPU / p.limitCores() }

// UtilisationP90 is the 90th percentile of the per-interval CPU as a
// share of what the process can use: what a limit is judged on. A step
// without intervals (a summary written before they were kept) has the
// mean instead.
func (p ProcessStep) UtilisationP90() float64 {
	if p.Intervals == 0 {
		return p.Utilisation()
	}
	return p.CPUP90 / p.limitCores()
}

// Shares is the process's CPU over the step's intervals as shares of what
// it can use.
func (p ProcessStep) Shares() CPUIntervals {
	return CPUIntervals{Mean: p.CPU, P90: p.CPUP90, Peak: p.CPUPeak, Intervals: p.Intervals}.scaled(p.limitCores())
}

// throttledShare is the share of the enforcement periods with work in
// which a confined process ran out of quota; 0 unconfined.
func (p ProcessStep) throttledShare() float64 {
	if p.Periods <= 0 {
		return 0
	}
	return float64(p.ThrottledPeriods) / float64(p.Periods)
}

// measuredSamples calls f for each sample of one process within the
// measured windows (failed reads left out), in time order, with the sample
// before it: for the first of a window the latest before the window, so
// that the first interval straddles the window's start; prev is nil when
// there is none.
func measuredSamples(samples []rundir.ProcessSample, windows []rundir.StepSummary, f func(prev, s *rundir.ProcessSample)) {
	for _, w := range windows {
		from := measuredFrom(w)
		var prev *rundir.ProcessSample
		for i := range samples {
			s := &samples[i]
			if s.Err != "" || s.Time.After(w.End) {
				continue
			}
			if s.Time.Before(from) {
				prev = s // the latest sample before the window
				continue
			}
			f(prev, s)
			prev = s
		}
	}
}

// processSteps computes each process's CPU over the measured windows from
// the samples bracketing them, interval by interval: for the machine from
// its busy and total CPU time (procstat.Utilisation), for a confined
// process also its quota and throttled periods (procstat.QuotaUsage).
func processSteps(procs map[string][]rundir.ProcessSample, windows []rundir.StepSummary) []ProcessStep {
	var out []ProcessStep
	for _, name := range slices.Sorted(maps.Keys(procs)) {
		samples := procs[name]
		ps := ProcessStep{Name: name, Role: string(samples[0].Role), Cores: samples[0].Cores}
		var cpu, secs float64
		var perInterval []float64
		measuredSamples(samples, windows, func(prev, s *rundir.ProcessSample) {
			ps.RSSMax = max(ps.RSSMax, s.RSSBytes)
			if s.Cores > 0 {
				ps.Cores = s.Cores
			}
			if prev == nil || s.PID != prev.PID {
				return
			}
			dt := s.Time.Sub(prev.Time).Seconds()
			if dt <= 0 {
				return
			}
			c := s.CPUSeconds - prev.CPUSeconds
			if s.Cores > 0 {
				// The machine: its share of the cores' time, bounded by 1
				// when the total is recorded.
				c = procstat.Utilisation(*prev, *s) * float64(s.Cores) * dt
			}
			cpu += c
			secs += dt
			perInterval = append(perInterval, c/dt)
			if q, ok := procstat.QuotaUsage(*prev, *s); ok {
				ps.QuotaCores = q.QuotaCores
				ps.Periods += q.Periods
				ps.ThrottledPeriods += q.Throttled
			}
		})
		if secs == 0 {
			continue // not alive during this step
		}
		ps.CPU = cpu / secs
		iv := intervals(perInterval, ps.CPU)
		ps.CPUP90, ps.CPUPeak, ps.Intervals = iv.P90, iv.Peak, iv.Intervals
		out = append(out, ps)
	}
	return out
}

// foreignCPU is the CPU of the machine that no sampled process used, in
// cores, per sampling interval: the machine's busy cores minus the sum of
// the processes sampled at both ends of the interval (the sampler reads
// them all at one instant). It is load relaybench did not start (another
// job on the machine), plus the kernel's own work and processes that
// started or ended within an interval.
func foreignCPU(procs map[string][]rundir.ProcessSample, windows []rundir.StepSummary) CPUIntervals {
	type key struct {
		name string
		at   int64
	}
	at := map[key]*rundir.ProcessSample{}
	var names []string
	for name, ss := range procs {
		if name == rundir.MachineName {
			continue
		}
		names = append(names, name)
		for i := range ss {
			at[key{name, ss[i].Time.UnixNano()}] = &ss[i]
		}
	}
	var values []float64
	var foreign, secs float64
	measuredSamples(procs[rundir.MachineName], windows, func(prev, m *rundir.ProcessSample) {
		if prev == nil {
			return
		}
		dt := m.Time.Sub(prev.Time).Seconds()
		if dt <= 0 {
			return
		}
		busy := procstat.Utilisation(*prev, *m) * float64(max(m.Cores, 1))
		sampled := 0.0
		for _, n := range names {
			a, b := at[key{n, prev.Time.UnixNano()}], at[key{n, m.Time.UnixNano()}]
			if a != nil && b != nil && a.Err == "" && b.Err == "" && a.PID == b.PID && b.CPUSeconds >= a.CPUSeconds {
				sampled += (b.CPUSeconds - a.CPUSeconds) / dt
			}
		}
		f := max(busy-sampled, 0)
		values = append(values, f)
		foreign += f * dt
		secs += dt
	})
	if secs == 0 {
		return CPUIntervals{}
	}
	return intervals(values, foreign/secs)
}

// targetProcess returns the relay under test's ProcessStep; false when it
// was not sampled (a relay or socks target, or no processes.jsonl).
func targetProcess(procs []ProcessStep) (ProcessStep, bool) {
	for _, p := range procs {
		if rundir.ProcessRole(p.Role) == rundir.RoleTarget {
			return p, true
		}
	}
	return ProcessStep{}, false
}

// machineProcess returns the machine's ProcessStep.
func machineProcess(procs []ProcessStep) (ProcessStep, bool) {
	for _, p := range procs {
		if rundir.ProcessRole(p.Role) == rundir.RoleMachine {
			return p, true
		}
	}
	return ProcessStep{}, false
}

// cpuStep fills the step's target and machine CPU figures and its relay
// efficiency from its processes and relay side.
func cpuStep(s *StepResult, procs map[string][]rundir.ProcessSample, windows []rundir.StepSummary) {
	if t, ok := targetProcess(s.Processes); ok {
		s.TargetCPU = t.Shares()
		s.TargetQuotaCores = t.QuotaCores
		s.TargetPeriods, s.TargetThrottledPeriods = t.Periods, t.ThrottledPeriods
		s.TargetThrottledShare = t.throttledShare()
		if s.Relay != nil {
			s.RelayEfficiency = relayEfficiency(s.Relay.WrittenBps, t.CPU)
		}
	}
	if m, ok := machineProcess(s.Processes); ok {
		s.MachineBusy = m.Shares()
		s.ForeignCPU = foreignCPU(procs, windows)
	}
}

// relayEfficiency is the bytes the relay wrote per second of its CPU:
// its written rate (MetricsPort) over its CPU in cores, both over the
// measured windows. 0 when either is unknown or zero.
func relayEfficiency(writtenBps, cpuCores float64) float64 {
	if writtenBps <= 0 || cpuCores <= 0 {
		return 0
	}
	return writtenBps / cpuCores
}

// relayBound reports whether the relay under test was at its CPU limit at
// step s. Unconfined: at p90 over the sampling intervals it used at least
// BottleneckUtilisation of one core (tor relays cells on one thread; a
// step's mean hides a saturated second). Confined: its cgroup throttled it
// in at least ThrottledShareMin of the periods with work, or its mean was
// at BottleneckUtilisation of its quota. The kernel's throttling count is
// exact where a small quota's per-second CPU is not: /proc counts CPU in
// 10 ms ticks, 15 ± 1 a second at 0.15 cores, so p90 reached 93 % of the
// quota at a step whose mean was 80 %, throttled in 37 % of periods, after
// which goodput still grew by 77 %. The evidence names its use and its
// throttling.
func relayBound(s *StepResult) (evidence string, ok bool) {
	t, found := targetProcess(s.Processes)
	if !found || t.Intervals == 0 {
		return "", false
	}
	share := t.Shares()
	if t.QuotaCores > 0 {
		if t.throttledShare() < ThrottledShareMin && share.Mean < BottleneckUtilisation {
			return "", false
		}
	} else if share.P90 < BottleneckUtilisation {
		return "", false
	}
	if t.QuotaCores > 0 {
		return fmt.Sprintf("%s used %s of its %s-core quota (p90 %s), throttled in %d of %d periods",
			t.Name, cores(t.CPU), cores(t.QuotaCores), cores(t.CPUP90), t.ThrottledPeriods, t.Periods), true
	}
	return fmt.Sprintf("%s used %s of a core (p90 %s): tor relays cells on one thread, so one core is its limit",
		t.Name, cores(t.CPU), cores(t.CPUP90)), true
}

// cores formats a number of cores with two decimals, trailing zeros
// dropped: 0.25, 0.2, 1.
func cores(c float64) string {
	return strconv.FormatFloat(math.Round(c*100)/100, 'f', -1, 64)
}

// bottlenecks lists the processes of step s at their CPU limit, judged on
// the 90th percentile of their sampling intervals: the relay under test
// (see relayBound), tor clients, relaybench, other relays of the embedded
// network, and the machine (all cores busy, with how much of it was
// foreign load).
func bottlenecks(s *StepResult) []Bottleneck {
	var out []Bottleneck
	for _, p := range s.Processes {
		role := rundir.ProcessRole(p.Role)
		if role == rundir.RoleTarget {
			if ev, ok := relayBound(s); ok {
				out = append(out, Bottleneck{Kind: BottleneckTarget, Name: p.Name, Utilisation: p.UtilisationP90(), Evidence: ev})
			}
			continue
		}
		u := p.UtilisationP90()
		if u < BottleneckUtilisation {
			continue
		}
		b := Bottleneck{Name: p.Name, Utilisation: u}
		switch role {
		case rundir.RoleClient:
			b.Kind = BottleneckClient
			b.Evidence = fmt.Sprintf("tor client %s used %.0f%% of a core at p90 (mean %.0f%%): the load generator, not the relay, was the limit", p.Name, u*100, p.Utilisation()*100)
		case rundir.RoleHarness:
			b.Kind = BottleneckHarness
			b.Evidence = fmt.Sprintf("relaybench itself%s used %.0f%% of a core at p90 (mean %.0f%%): the load generator, not the relay, was the limit", onWorker(p.Name), u*100, p.Utilisation()*100)
		case rundir.RoleMachine:
			b.Kind = BottleneckMachine
			foreign := ""
			if s.ForeignCPU.Intervals > 0 {
				foreign = fmt.Sprintf("; %s cores at p90 were foreign load, used by no process relaybench sampled", cores(s.ForeignCPU.P90))
			}
			b.Evidence = fmt.Sprintf("the machine%s was CPU-saturated (%.0f%% of %d cores busy at p90, mean %.0f%%%s): load generator and relay competed for CPU", onWorker(p.Name), u*100, p.Cores, p.Utilisation()*100, foreign)
		default:
			b.Kind = BottleneckNetwork
			b.Evidence = fmt.Sprintf("test network relay %s used %.0f%% of a core at p90 (mean %.0f%%): the test network, not the relay under test, was the limit", p.Name, u*100, p.Utilisation()*100)
		}
		out = append(out, b)
	}
	return out
}

// repEfficiency fills each repetition's relay efficiency at step s: the
// relay's written rate over its CPU in that repetition's measured window
// alone, so that bench.txt has one sample per repetition.
func repEfficiency(s *StepResult, url string, obs []metricsport.Observation, procs map[string][]rundir.ProcessSample, windows []rundir.StepSummary) {
	target := map[string][]rundir.ProcessSample{}
	for name, ss := range procs {
		if len(ss) > 0 && ss[0].Role == rundir.RoleTarget {
			target[name] = ss
		}
	}
	if len(target) == 0 {
		return
	}
	for i := range s.RepStats {
		rs := &s.RepStats[i]
		for _, w := range windows {
			if w.Repetition != rs.Rep {
				continue
			}
			one := []rundir.StepSummary{w}
			relay := relayStep(url, obs, one)
			t, ok := targetProcess(processSteps(target, one))
			if relay != nil && ok {
				rs.RelayEfficiency = relayEfficiency(relay.WrittenBps, t.CPU)
			}
		}
	}
}

// onWorker names the worker of a merged run (`relaybench merge`) whose
// harness or machine a process sample describes: merge names them
// "w1/harness", "w1/machine".
func onWorker(name string) string {
	if w, _, ok := strings.Cut(name, "/"); ok {
		return " of worker " + w
	}
	return ""
}
