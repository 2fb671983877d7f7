package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipUnlessConfinable skips a test that writes real cgroups when this
// process may not (not root) or the machine has no hierarchy with ctrl.
func skipUnlessConfinable(t *testing.T, ctrl string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("writes cgroup files under /sys/fs/cgroup: needs root (running as uid %d)", os.Geteuid())
	}
	if _, err := hostSystem.locate(ctrl); err != nil {
		t.Skipf("no cgroup %s controller to test with: %v", ctrl, err)
	}
}

// busyLoop starts a shell spinning on one core in g.
func busyLoop(t *testing.T, g *Group) *exec.Cmd {
	t.Helper()
	return startIn(t, g, "sh", "-c", "while :; do :; done")
}

// startIn starts a command in g, killed and reaped when the test ends.
func startIn(t *testing.T, g *Group, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// cpuSeconds reads the user+system CPU time of pid.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	var utime, stime float64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100
}

func TestQuotaHoldsABusyLoop(t *testing.T) {
	skipUnlessConfinable(t, "cpu")
	const quota = 0.25
	g, err := New("busy-loop", Limits{CPU: quota})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
		for _, p := range g.Paths() {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s is still there after Remove: %v", p, err)
			}
		}
	}()
	cmd := busyLoop(t, g)
	pid := cmd.Process.Pid
	membership, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if !strings.Contains(string(membership), "/"+g.Name+"\n") {
		t.Fatalf("the busy loop is not in %s: /proc/%d/cgroup is\n%s", g.Name, pid, membership)
	}
	before, err := g.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cpu0, t0 := cpuSeconds(t, pid), time.Now()
	time.Sleep(2 * time.Second)
	cpu1, t1 := cpuSeconds(t, pid), time.Now()
	after, err := g.Stat()
	if err != nil {
		t.Fatal(err)
	}
	used := (cpu1 - cpu0) / t1.Sub(t0).Seconds()
	periods, throttled := after.Periods-before.Periods, after.Throttled-before.Throttled
	t.Logf("busy loop used %.3f cores under a %.2f-core quota; throttled in %d of %d periods, %s held back",
		used, quota, throttled, periods, after.ThrottledTime-before.ThrottledTime)
	if after.QuotaCores != quota {
		t.Errorf("quota read back as %g cores, want %g", after.QuotaCores, quota)
	}
	// Unconfined, the loop takes a whole core (or what a busy machine
	// leaves it); confined, it cannot exceed the quota by more than the
	// 10 ms granularity of /proc CPU times over 2 s.
	if used > quota+0.03 {
		t.Errorf("the busy loop used %.3f cores, more than its %.2f-core quota", used, quota)
	}
	if throttled <= 0 || periods <= 0 {
		t.Errorf("no throttled periods (%d of %d) while a busy loop ran against a quota", throttled, periods)
	}
	if err := g.Remove(); err == nil {
		t.Error("Remove succeeded while the busy loop still ran in the group")
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// TestQuotaIsHadOnABusyMachine: a confined busy loop still gets its quota
// while twelve unconfined ones, each in a session of its own, compete for
// the cores. With the default weight it would get one entity's share of 2
// cores among thirteen, 0.15 cores, less than its 0.25-core quota.
func TestQuotaIsHadOnABusyMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("fills every core for 3 s; skipped with -short")
	}
	skipUnlessConfinable(t, "cpu")
	const quota, competitors = 0.25, 12
	g, err := New("weighted", Limits{CPU: quota})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the process starts, so it runs after its kill.
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	confined := busyLoop(t, g).Process.Pid
	for range competitors {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		// A session of its own, so that with autogroup scheduling each
		// competes as its own entity, as another user's work would.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	time.Sleep(500 * time.Millisecond) // the scheduler settles
	cpu0, t0 := cpuSeconds(t, confined), time.Now()
	time.Sleep(2500 * time.Millisecond)
	used := (cpuSeconds(t, confined) - cpu0) / time.Since(t0).Seconds()
	t.Logf("confined busy loop used %.3f cores of its %.2f-core quota beside %d unconfined ones", used, quota, competitors)
	if used < 0.8*quota {
		t.Errorf("the confined loop got %.3f cores, less than 80%% of its %.2f-core quota, on a busy machine", used, quota)
	}
}

func TestMemoryLimitIsSet(t *testing.T) {
	skipUnlessConfinable(t, "memory")
	g, err := New("mem", Limits{MemoryBytes: 96 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the process starts, so it runs after its kill.
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	cmd := startIn(t, g, "sleep", "30")
	st, err := g.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryLimitBytes != 96<<20 || st.QuotaCores != 0 {
		t.Errorf("Stat = %+v, want a 96 MiB memory limit and no CPU quota", st)
	}
	membership, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if !strings.Contains(string(membership), "/"+g.Name+"\n") {
		t.Errorf("sleep is not in %s: /proc/%d/cgroup is\n%s", g.Name, cmd.Process.Pid, membership)
	}
}

// TestStartIntoV2Group proves that Start creates the child inside a v2
// group (clone3 CLONE_INTO_CGROUP) even where the unified hierarchy has no
// controllers to limit with, as on a hybrid machine.
func TestStartIntoV2Group(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("writes cgroup files under /sys/fs/cgroup: needs root (running as uid %d)", os.Geteuid())
	}
	var unified string
	mi, _ := os.ReadFile(hostSystem.mountinfo)
	self, _ := os.ReadFile(hostSystem.selfCgroup)
	member := parseSelfCgroup(self)
	for _, m := range parseMountinfo(mi) {
		if m.v2 && member.hasV2 {
			unified = pathIn(m, member.v2)
		}
	}
	if unified == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	g := &Group{Name: fmt.Sprintf("relaybench-%d-v2test-%d", os.Getpid(), seq.Add(1))}
	d := filepath.Join(unified, g.Name)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Skipf("cannot create a v2 cgroup here: %v", err)
	}
	g.dirs = []groupDir{{path: d, v2: true}}
	// Registered before the process starts, so it runs after its kill.
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	})
	cmd := startIn(t, g, "sleep", "30")
	membership, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if !strings.Contains(string(membership), "0::"+strings.TrimPrefix(d, unified)) && !strings.Contains(string(membership), "/"+g.Name+"\n") {
		t.Errorf("sleep was not started in %s: /proc/%d/cgroup is\n%s", d, cmd.Process.Pid, membership)
	}
}

func TestStaleGroupOfAKilledHarnessIsRemoved(t *testing.T) {
	skipUnlessConfinable(t, "cpu")
	h, _ := hostSystem.locate("cpu")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(h.base, fmt.Sprintf("relaybench-%d-rbtarget-1", dead.Process.Pid))
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(stale)
	g, err := New("fresh", Limits{CPU: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale group %s of dead pid %d survived New: %v", stale, dead.Process.Pid, err)
	}
}
