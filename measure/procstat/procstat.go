// Package procstat owns the process sampler: CPU time and resident memory
// of the local processes a run depends on (the relay under test and the
// other tor processes of an embedded network, the tor client pool, the
// harness itself) and of the machine as a whole, read from /proc at a fixed
// interval and written to processes.jsonl (rundir.ProcessSample); for a process confined in a
// cgroup (the target under a CPU quota), also the quota and the cgroup's
// throttling counters, the evidence that the quota was its limit. Per-step
// CPU use, and the warning that the load generator rather than the relay was
// the limit, are computed from these samples (QuotaUsage for the quota).
package procstat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/relaybench/relaybench/chutney/cgroup"
	"github.com/relaybench/relaybench/runner/rundir"
)

// userHZ is the unit of the CPU times in /proc/PID/stat. Linux exports
// them in USER_HZ, which is 100 on every architecture Go supports on Linux
// (the kernel converts from its internal HZ), so no sysconf call is needed.
const userHZ = 100

// Process is one local process to sample.
type Process struct {
	// Name identifies the process in the samples, e.g. "rbtarget", "load0",
	// "harness".
	Name string
	// Role says what it is to the run.
	Role rundir.ProcessRole
	PID  int
	// Cgroup, when set, is the cgroup confining the process: each sample
	// then records its quota and throttling counters (rundir.ProcessSample.Cgroup).
	Cgroup CgroupReader
}

// CgroupReader reads a cgroup's limits and CPU bandwidth counters;
// *cgroup.Group (the target's, chutney.Node.Cgroup) is one.
type CgroupReader interface {
	Stat() (cgroup.Stat, error)
}

// ReadProcess reads the CPU time and RSS of pid from /proc.
func ReadProcess(pid int) (cpuSeconds float64, rssBytes int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	// Fields after the parenthesised command name (which may hold spaces):
	// state is field 3, utime 14, stime 15, rss 24 (in pages).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("process %d: unexpected /proc stat format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 22 {
		return 0, 0, fmt.Errorf("process %d: unexpected /proc stat format", pid)
	}
	if f[0] == "Z" {
		return 0, 0, fmt.Errorf("process %d has exited (zombie)", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	pages, err3 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, fmt.Errorf("process %d: unexpected /proc stat values", pid)
	}
	return (utime + stime) / userHZ, pages * int64(os.Getpagesize()), nil
}

// ReadMachine returns the busy CPU seconds of all cores from /proc/stat,
// and their total (busy, idle and iowait): busy over total between two
// readings is the machine's utilisation, at most 1 by construction, where
// busy over wall-clock time times the cores is not (the kernel's ticks and
// the sampler's clock drift apart by a few per cent).
func ReadMachine() (busySeconds, totalSeconds float64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat first line %q", line)
	}
	// user nice system idle iowait irq softirq steal guest guest_nice:
	// busy is all but idle and iowait; guest time is already in user and
	// nice, so neither sum counts it.
	var busy, total float64
	for j, v := range f[1:] {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected /proc/stat value %q", v)
		}
		if j >= 8 {
			break
		}
		total += x
		if j != 3 && j != 4 {
			busy += x
		}
	}
	return busy / userHZ, total / userHZ, nil
}

// Sampler samples a changing set of processes, and the machine, at a fixed
// interval and writes one JSON line per process and sample.
type Sampler struct {
	// Processes returns the processes to sample now (a pool may lose a
	// client mid-run). Called once per interval.
	Processes func() []Process
	// Interval between samples; 0 means 1 s.
	Interval time.Duration
	// Out receives the lines (rundir.Writer); each line is one Write.
	Out io.Writer

	log *rundir.Writer[rundir.ProcessSample]
}

// Run samples until ctx ends. It returns an error only if Out fails.
func (s *Sampler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := s.sampleOnce(time.Now()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *Sampler) sampleOnce(now time.Time) error {
	var samples []rundir.ProcessSample
	if busy, total, err := ReadMachine(); err == nil {
		samples = append(samples, rundir.ProcessSample{Time: now.UTC(), Name: rundir.MachineName, Role: rundir.RoleMachine,
			CPUSeconds: busy, TotalCPUSeconds: total, Cores: runtime.NumCPU()})
	}
	for _, p := range s.Processes() {
		smp := rundir.ProcessSample{Time: now.UTC(), Name: p.Name, Role: p.Role, PID: p.PID}
		cpu, rss, err := ReadProcess(p.PID)
		if err != nil {
			smp.Err = err.Error()
		} else {
			smp.CPUSeconds, smp.RSSBytes = cpu, rss
		}
		if p.Cgroup != nil {
			smp.Cgroup = readCgroup(p.Cgroup)
		}
		samples = append(samples, smp)
	}
	if s.log == nil {
		s.log = rundir.NewWriter[rundir.ProcessSample](s.Out, rundir.ProcessesFile)
	}
	for _, smp := range samples {
		if err := s.log.Write(smp); err != nil {
			return err
		}
	}
	return nil
}

// Utilisation returns, for consecutive samples a and b of one process, the
// share of one core it used between them (1.0 = a whole core); for machine
// samples, the share of all cores: busy over total CPU time when both
// samples have the total (TotalCPUSeconds), else busy time over wall-clock
// time and cores (samples written before the total was recorded).
func Utilisation(a, b rundir.ProcessSample) float64 {
	dt := b.Time.Sub(a.Time).Seconds()
	if dt <= 0 || a.Err != "" || b.Err != "" {
		return 0
	}
	if a.TotalCPUSeconds > 0 && b.TotalCPUSeconds > a.TotalCPUSeconds {
		return (b.CPUSeconds - a.CPUSeconds) / (b.TotalCPUSeconds - a.TotalCPUSeconds)
	}
	u := (b.CPUSeconds - a.CPUSeconds) / dt
	if b.Cores > 0 {
		u /= float64(b.Cores)
	}
	return u
}

func readCgroup(r CgroupReader) *rundir.CgroupSample {
	st, err := r.Stat()
	if err != nil {
		return &rundir.CgroupSample{Err: err.Error()}
	}
	return &rundir.CgroupSample{
		QuotaCores: st.QuotaCores, Periods: st.Periods, Throttled: st.Throttled,
		ThrottledSeconds: st.ThrottledTime.Seconds(), MemoryLimitBytes: st.MemoryLimitBytes,
	}
}

// QuotaUse is how a confined process used its CPU quota between two
// samples.
type QuotaUse struct {
	// QuotaCores is the quota in force at the later sample.
	QuotaCores float64
	// UsedCores is the process's CPU time per wall-clock second.
	UsedCores float64
	// QuotaShare is UsedCores / QuotaCores: 1.0 is the whole quota. It can
	// exceed 1 by sampling jitter (CPU times tick in 10 ms).
	QuotaShare float64
	// Periods and Throttled are the enforcement periods with work, and
	// those in which the quota ran out, between the samples.
	Periods, Throttled int64
	// ThrottledShare is Throttled / Periods (0 when no period had work).
	ThrottledShare float64
	// ThrottledSeconds is how long the process was held back in total.
	ThrottledSeconds float64
}

// QuotaUsage returns how the process of samples a and b (the same process,
// b later) used its CPU quota between them. ok is false when either sample
// has no CPU quota (an unconfined process, a memory-only limit, an
// unreadable cgroup), the process could not be read, b is not later than a,
// or the counters went backwards (a new group: another repetition's).
func QuotaUsage(a, b rundir.ProcessSample) (use QuotaUse, ok bool) {
	ca, cb := a.Cgroup, b.Cgroup
	dt := b.Time.Sub(a.Time).Seconds()
	if ca == nil || cb == nil || ca.Err != "" || cb.Err != "" || a.Err != "" || b.Err != "" ||
		ca.QuotaCores <= 0 || cb.QuotaCores <= 0 || dt <= 0 ||
		cb.Periods < ca.Periods || cb.Throttled < ca.Throttled || b.CPUSeconds < a.CPUSeconds {
		return QuotaUse{}, false
	}
	use = QuotaUse{
		QuotaCores:       cb.QuotaCores,
		UsedCores:        (b.CPUSeconds - a.CPUSeconds) / dt,
		Periods:          cb.Periods - ca.Periods,
		Throttled:        cb.Throttled - ca.Throttled,
		ThrottledSeconds: cb.ThrottledSeconds - ca.ThrottledSeconds,
	}
	use.QuotaShare = use.UsedCores / use.QuotaCores
	if use.Periods > 0 {
		use.ThrottledShare = float64(use.Throttled) / float64(use.Periods)
	}
	return use, true
}
