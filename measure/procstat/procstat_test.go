package procstat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney/cgroup"
	"github.com/relaybench/relaybench/runner/rundir"
)

func TestReadProcessSeesCPUAndMemory(t *testing.T) {
	cpu0, rss0, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn about 300 ms of CPU and hold 64 MiB.
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	// Busy until the kernel's own account (getrusage) says this process
	// used 300 ms more CPU: a wall-clock loop gets less than that on a
	// busy machine, and the check below would blame ReadProcess.
	x := 0
	for start := selfCPU(t); selfCPU(t)-start < 0.3; {
		for range 100000 {
			x++
		}
	}
	cpu1, rss1, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu1-cpu0 < 0.2 {
		t.Errorf("CPU time grew by %.2f s after a 0.3 s busy loop", cpu1-cpu0)
	}
	if rss1-rss0 < 48<<20 {
		t.Errorf("RSS grew by %d bytes after touching 64 MiB", rss1-rss0)
	}
	_ = hold[len(hold)-1] + byte(x)
}

func TestReadProcessGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadProcess(cmd.Process.Pid); err == nil {
		t.Error("reading an exited process succeeded")
	}
}

func TestReadMachine(t *testing.T) {
	a, ta, err := ReadMachine()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	b, tb, err := ReadMachine()
	if err != nil {
		t.Fatal(err)
	}
	if b-a < 0.1 {
		t.Errorf("machine busy time grew by %.2f s during a 0.2 s busy loop", b-a)
	}
	if ta < a || tb-ta < b-a {
		t.Errorf("total CPU time %.2f → %.2f grew less than busy %.2f → %.2f", ta, tb, a, b)
	}
}

func TestSamplerWritesEveryProcessAndSurvivesExit(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	var out bytes.Buffer
	s := &Sampler{
		Interval: 100 * time.Millisecond,
		Out:      &out,
		Processes: func() []Process {
			return []Process{{Name: "harness", Role: rundir.RoleHarness, PID: os.Getpid()}, {Name: "child", Role: rundir.RoleClient, PID: child.Process.Pid}}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	time.AfterFunc(250*time.Millisecond, func() { child.Process.Kill(); child.Wait() })
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	childErrors := 0
	var machine []rundir.ProcessSample
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var smp rundir.ProcessSample
		if err := json.Unmarshal(sc.Bytes(), &smp); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		counts[smp.Name]++
		if smp.Name == "child" && smp.Err != "" {
			childErrors++
		}
		if smp.Name == rundir.MachineName {
			machine = append(machine, smp)
		}
		if smp.Name == "harness" && (smp.RSSBytes == 0 || smp.Err != "") {
			t.Errorf("harness sample without RSS: %+v", smp)
		}
	}
	if counts["harness"] < 4 || counts["child"] != counts["harness"] || counts[rundir.MachineName] != counts["harness"] {
		t.Errorf("samples per process %v: want one per interval for each", counts)
	}
	if childErrors == 0 {
		t.Error("the killed child was never recorded as gone")
	}
	if machine[0].TotalCPUSeconds <= 0 {
		t.Errorf("machine sample without its total CPU time: %+v", machine[0])
	}
	if u := Utilisation(machine[0], machine[len(machine)-1]); u < 0 || u > 1 {
		t.Errorf("machine utilisation %.2f outside 0..1", u)
	}
}

// selfCPU is this process's user+system CPU time in seconds, from getrusage.
func selfCPU(t *testing.T) float64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// fakeCgroup returns scripted readings, one per Stat call.
type fakeCgroup struct {
	stats []cgroup.Stat
	err   error
	calls int
}

func (f *fakeCgroup) Stat() (cgroup.Stat, error) {
	if f.err != nil {
		return cgroup.Stat{}, f.err
	}
	st := f.stats[min(f.calls, len(f.stats)-1)]
	f.calls++
	return st, nil
}

func TestSamplerRecordsTheCgroupOfConfinedProcessesOnly(t *testing.T) {
	var out bytes.Buffer
	confined := &fakeCgroup{stats: []cgroup.Stat{{QuotaCores: 0.25, Periods: 807, Throttled: 611, ThrottledTime: 41200 * time.Millisecond, MemoryLimitBytes: 512 << 20}}}
	broken := &fakeCgroup{err: errors.New("cpu.stat: no such file")}
	s := &Sampler{Out: &out, Processes: func() []Process {
		return []Process{
			{Name: "rbtarget", Role: "target", PID: os.Getpid(), Cgroup: confined},
			{Name: "gone", Role: "target", PID: os.Getpid(), Cgroup: broken},
			{Name: "harness", Role: "harness", PID: os.Getpid()},
		}
	}}
	if err := s.sampleOnce(time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var smp rundir.ProcessSample
		if err := json.Unmarshal([]byte(line), &smp); err != nil {
			t.Fatal(err)
		}
		lines[smp.Name] = line
	}
	if want := `"cgroup":{"quota_cores":0.25,"nr_periods":807,"nr_throttled":611,"throttled_s":41.2,"memory_limit":536870912}`; !strings.Contains(lines["rbtarget"], want) {
		t.Errorf("confined process line %s lacks %s", lines["rbtarget"], want)
	}
	if want := `"cgroup":{"quota_cores":0,"nr_periods":0,"nr_throttled":0,"throttled_s":0,"err":"cpu.stat: no such file"}`; !strings.Contains(lines["gone"], want) {
		t.Errorf("unreadable cgroup line %s lacks %s", lines["gone"], want)
	}
	for _, name := range []string{"harness", rundir.MachineName} {
		if strings.Contains(lines[name], "cgroup") {
			t.Errorf("unconfined %s has a cgroup block: %s", name, lines[name])
		}
	}
}

func TestQuotaUsage(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sample := func(sec, cpu float64, cg *rundir.CgroupSample) rundir.ProcessSample {
		return rundir.ProcessSample{Time: t0.Add(time.Duration(sec * float64(time.Second))), Name: "rbtarget", Role: "target", PID: 1, CPUSeconds: cpu, Cgroup: cg}
	}
	// 2 s at 0.24 cores of a 0.25-core quota: 0.48 CPU seconds; 20 periods
	// with work, 18 throttled (by hand: 0.24/0.25 = 0.96, 18/20 = 0.9).
	a := sample(10, 3.00, &rundir.CgroupSample{QuotaCores: 0.25, Periods: 100, Throttled: 50, ThrottledSeconds: 4})
	b := sample(12, 3.48, &rundir.CgroupSample{QuotaCores: 0.25, Periods: 120, Throttled: 68, ThrottledSeconds: 5.5})
	got, ok := QuotaUsage(a, b)
	want := QuotaUse{QuotaCores: 0.25, UsedCores: 0.24, QuotaShare: 0.96, Periods: 20, Throttled: 18, ThrottledShare: 0.9, ThrottledSeconds: 1.5}
	if !ok || !near(got.UsedCores, want.UsedCores) || !near(got.QuotaShare, want.QuotaShare) || got.Periods != want.Periods ||
		got.Throttled != want.Throttled || !near(got.ThrottledShare, want.ThrottledShare) || !near(got.ThrottledSeconds, want.ThrottledSeconds) || got.QuotaCores != want.QuotaCores {
		t.Errorf("QuotaUsage = %+v, %v; want %+v", got, ok, want)
	}
	// Idle: no period with work is not "throttled".
	idle, ok := QuotaUsage(b, sample(13, 3.48, &rundir.CgroupSample{QuotaCores: 0.25, Periods: 120, Throttled: 68, ThrottledSeconds: 5.5}))
	if !ok || idle.ThrottledShare != 0 || idle.QuotaShare != 0 {
		t.Errorf("idle interval: %+v, %v", idle, ok)
	}
	for name, pair := range map[string][2]rundir.ProcessSample{
		"unconfined":        {sample(0, 1, nil), sample(1, 2, nil)},
		"memory limit only": {sample(0, 1, &rundir.CgroupSample{MemoryLimitBytes: 1 << 30}), sample(1, 2, &rundir.CgroupSample{MemoryLimitBytes: 1 << 30})},
		"unreadable":        {a, sample(12, 3.48, &rundir.CgroupSample{Err: "gone"})},
		"same time":         {a, a},
		"new group":         {b, sample(14, 0.1, &rundir.CgroupSample{QuotaCores: 0.25, Periods: 3, Throttled: 1})},
	} {
		if got, ok := QuotaUsage(pair[0], pair[1]); ok {
			t.Errorf("%s: QuotaUsage = %+v, ok; want not ok", name, got)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestQuotaUsageOfABusyLoop samples a busy loop confined to 0.25 core with
// the real cgroup and checks what QuotaUsage makes of it: the quota used up
// and most periods throttled.
func TestQuotaUsageOfABusyLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("confines a process in a cgroup: needs root (running as uid %d)", os.Geteuid())
	}
	g, err := cgroup.New("procstat-test", cgroup.Limits{CPU: 0.25})
	if err != nil {
		t.Skipf("cannot confine a process here: %v", err)
	}
	defer func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	}()
	loop := exec.Command("sh", "-c", "while :; do :; done")
	if err := g.Start(loop); err != nil {
		t.Fatal(err)
	}
	defer loop.Wait()
	defer loop.Process.Kill()
	var out bytes.Buffer
	s := &Sampler{Out: &out, Processes: func() []Process {
		return []Process{{Name: "loop", Role: "target", PID: loop.Process.Pid, Cgroup: g}}
	}}
	first := time.Now()
	s.sampleOnce(first)
	time.Sleep(2 * time.Second)
	s.sampleOnce(time.Now())
	var loopSamples []rundir.ProcessSample
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var smp rundir.ProcessSample
		json.Unmarshal([]byte(line), &smp)
		if smp.Name == "loop" {
			loopSamples = append(loopSamples, smp)
		}
	}
	use, ok := QuotaUsage(loopSamples[0], loopSamples[1])
	t.Logf("%+v", use)
	if !ok || use.QuotaShare > 1.15 || use.QuotaShare < 0.5 || use.ThrottledShare < 0.5 {
		t.Errorf("busy loop under a 0.25-core quota: %+v, %v; want about the whole quota used and most periods throttled", use, ok)
	}
}

// TestMachineUtilisation: with the total CPU time the machine's share is
// busy over total, so a clock that ticked 3 % more than the kernel's
// (the 1.01 seen in a run) cannot push it over 1; without it (old files)
// busy seconds per wall-clock second over the cores.
func TestMachineUtilisation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	machine := func(at time.Duration, busy, total float64) rundir.ProcessSample {
		return rundir.ProcessSample{Time: t0.Add(at), Name: rundir.MachineName, Role: rundir.RoleMachine, CPUSeconds: busy, TotalCPUSeconds: total, Cores: 2}
	}
	// 1 s of wall clock; the kernel counted 1.94 s of the 2 cores' time,
	// all of it busy.
	if u := Utilisation(machine(0, 100, 400), machine(time.Second, 101.94, 401.94)); u != 1 {
		t.Errorf("all busy: utilisation %v, want 1", u)
	}
	if u := Utilisation(machine(0, 100, 400), machine(time.Second, 100.5, 402)); u != 0.25 {
		t.Errorf("0.5 of 2 s busy: utilisation %v, want 0.25", u)
	}
	old := func(at time.Duration, busy float64) rundir.ProcessSample { return machine(at, busy, 0) }
	if u := Utilisation(old(0, 100), old(2*time.Second, 103)); u != 0.75 {
		t.Errorf("without the total: utilisation %v, want 3 busy s / 2 s / 2 cores = 0.75", u)
	}
}
