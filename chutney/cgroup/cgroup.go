// Package cgroup owns the Linux control groups relaybench confines the relay
// under test in: it finds where the cpu and memory controllers are (the
// cgroup v2 unified hierarchy when it has them, else cgroup v1, each
// controller on its own), creates one group per confined process, writes its
// CPU quota (with a weight that lets it have its quota on a busy machine)
// and memory limit, starts the process inside it, reads its
// throttling counters as evidence that the quota was the limit, and removes
// it again. Groups are named relaybench-<harness pid>-<name>-<n>; groups of
// that form whose harness is gone (it was SIGKILLed) are removed by the next
// New or RemoveStale. No other cgroup is ever written, except that on cgroup
// v2 a controller is enabled in the parent's cgroup.subtree_control when it
// is available there but not yet enabled.
package cgroup

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Period is the CPU bandwidth period written with every quota (the kernel's
// default, 100 ms): a quota of 0.25 cores is 25 ms of CPU per 100 ms.
const Period = 100 * time.Millisecond

// Bounds of a CPU limit: the kernel refuses quotas under 1 ms per period.
const minQuota = time.Millisecond

// A quota is a cap, not a reservation: on a machine whose cores are busy
// with other work the scheduler shares them by weight, and a group of
// default weight gets its share of one task among many, possibly less than
// its quota. The relay would then be short of CPU for a reason that is not
// its quota, and a run would measure the machine's other load. A group with
// a CPU quota is therefore given ten times the default weight (cgroup v1
// cpu.shares 1024, v2 cpu.weight 100), so that it gets its quota when it
// asks for it; the quota still caps it.
const (
	sharesV1 = 10 * 1024
	weightV2 = 10 * 100
)

// Limits are what a group confines its processes to; a zero field is no
// limit.
type Limits struct {
	// CPU is the CPU quota in cores (0.25 = a quarter of one core).
	CPU float64
	// MemoryBytes is the memory limit; swap is limited to the same total
	// where the kernel offers it, so the limit cannot be escaped by swapping.
	MemoryBytes int64
}

func (l Limits) zero() bool { return l.CPU == 0 && l.MemoryBytes == 0 }

// Group is one cgroup created by New: a directory in each hierarchy that
// holds one of its controllers (one on cgroup v2, up to two on v1).
type Group struct {
	// Name is the directory name shared by every hierarchy.
	Name   string
	limits Limits
	dirs   []groupDir

	mu sync.Mutex
}

type groupDir struct {
	path string
	v2   bool
	// cpu and memory say which limits live in this directory.
	cpu, memory bool
	// removed is set once Remove deleted the directory.
	removed bool
}

var seq atomic.Int64

var nameRE = regexp.MustCompile(`[^a-z0-9-]+`)

// New creates a group for the given limits, named after the calling
// process and name (a nickname such as "rbtarget"), after removing stale
// relaybench groups of dead harnesses in the same places. The error names
// the path that could not be written and what to do. The caller must call
// Remove, after every process in the group has exited.
func New(name string, lim Limits) (*Group, error) {
	return hostSystem.newGroup(name, lim)
}

func (s system) newGroup(name string, lim Limits) (_ *Group, err error) {
	if lim.CPU < 0 || math.IsNaN(lim.CPU) || math.IsInf(lim.CPU, 0) || lim.MemoryBytes < 0 {
		return nil, fmt.Errorf("cgroup limits %+v: want a positive CPU quota in cores and a positive memory limit in bytes", lim)
	}
	if lim.CPU > 0 && time.Duration(lim.CPU*float64(Period)) < minQuota {
		return nil, fmt.Errorf("a CPU quota of %g cores is below the kernel's minimum of %s per %s period", lim.CPU, minQuota, Period)
	}
	if lim.zero() {
		return nil, errors.New("cgroup: no limit given (set a CPU quota or a memory limit)")
	}
	g := &Group{
		Name:   fmt.Sprintf("relaybench-%d-%s-%d", os.Getpid(), strings.Trim(nameRE.ReplaceAllString(strings.ToLower(name), "-"), "-"), seq.Add(1)),
		limits: lim,
	}
	defer func() {
		if err != nil {
			g.Remove()
		}
	}()
	var wanted []string
	if lim.CPU > 0 {
		wanted = append(wanted, "cpu")
	}
	if lim.MemoryBytes > 0 {
		wanted = append(wanted, "memory")
	}
	for _, ctrl := range wanted {
		h, err := s.locate(ctrl)
		if err != nil {
			return nil, fmt.Errorf("confine %s: %w; run without a %s limit, or on a machine that has it (cgroup2 mounted with the %s controller, or cgroup v1's %s hierarchy)",
				name, err, limitName(ctrl), ctrl, ctrl)
		}
		s.removeStaleIn(h.base)
		d, err := g.dirFor(h, ctrl)
		if err != nil {
			return nil, fmt.Errorf("confine %s: %w", name, advise(err))
		}
		switch ctrl {
		case "cpu":
			d.cpu = true
		case "memory":
			d.memory = true
		}
	}
	for _, d := range g.dirs {
		if err := d.writeLimits(lim); err != nil {
			return nil, fmt.Errorf("confine %s: %w", name, advise(err))
		}
	}
	return g, nil
}

func limitName(ctrl string) string {
	if ctrl == "cpu" {
		return "CPU"
	}
	return ctrl
}

// advise adds what to do to a failed write under /sys/fs/cgroup.
func advise(err error) error {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%w (confining the relay under test creates cgroups: run relaybench as root, or drop the CPU and memory limits)", err)
	}
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("%w (cgroup v2 enables a controller for children only in a cgroup without processes of its own: run relaybench in a cgroup of its own, e.g. systemd-run --scope relaybench ...)", err)
	}
	return err
}

// dirFor returns the group's directory in h, creating it (and enabling
// ctrl in its parent on v2) if it is not there yet.
func (g *Group) dirFor(h hierarchy, ctrl string) (*groupDir, error) {
	path := filepath.Join(h.base, g.Name)
	for i := range g.dirs {
		if g.dirs[i].path == path {
			return &g.dirs[i], nil
		}
	}
	if h.v2 && h.enable {
		ctl := filepath.Join(h.base, "cgroup.subtree_control")
		if err := os.WriteFile(ctl, []byte("+"+ctrl), 0); err != nil {
			return nil, fmt.Errorf("enable the %s controller for child cgroups in %s: %w", ctrl, ctl, err)
		}
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	g.dirs = append(g.dirs, groupDir{path: path, v2: h.v2})
	return &g.dirs[len(g.dirs)-1], nil
}

func (d *groupDir) writeLimits(lim Limits) error {
	write := func(file, value string) error {
		p := filepath.Join(d.path, file)
		if err := os.WriteFile(p, []byte(value), 0); err != nil {
			return fmt.Errorf("write %q to %s: %w", value, p, err)
		}
		return nil
	}
	if d.cpu {
		period := Period.Microseconds()
		quota := int64(math.Round(lim.CPU * float64(period)))
		if d.v2 {
			if err := write("cpu.max", fmt.Sprintf("%d %d", quota, period)); err != nil {
				return err
			}
			if err := write("cpu.weight", strconv.Itoa(weightV2)); err != nil {
				return err
			}
		} else {
			if err := write("cpu.cfs_period_us", strconv.FormatInt(period, 10)); err != nil {
				return err
			}
			if err := write("cpu.cfs_quota_us", strconv.FormatInt(quota, 10)); err != nil {
				return err
			}
			if err := write("cpu.shares", strconv.Itoa(sharesV1)); err != nil {
				return err
			}
		}
	}
	if d.memory {
		n := strconv.FormatInt(lim.MemoryBytes, 10)
		if d.v2 {
			if err := write("memory.max", n); err != nil {
				return err
			}
			// Best effort: not every kernel accounts swap.
			os.WriteFile(filepath.Join(d.path, "memory.swap.max"), []byte("0"), 0)
		} else {
			if err := write("memory.limit_in_bytes", n); err != nil {
				return err
			}
			// memsw is memory plus swap; it exists only with swap accounting.
			os.WriteFile(filepath.Join(d.path, "memory.memsw.limit_in_bytes"), []byte(n), 0)
		}
	}
	return nil
}

// Limits returns the limits the group was created with.
func (g *Group) Limits() Limits { return g.limits }

// Paths returns the group's directories, one per hierarchy.
func (g *Group) Paths() []string {
	out := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		out[i] = d.path
	}
	return out
}

// Start starts cmd inside the group. On cgroup v2 the child is created in
// the group (clone3 with CLONE_INTO_CGROUP, via SysProcAttr.CgroupFD), so
// not one instruction of it runs unconfined; on cgroup v1 its PID is written
// to cgroup.procs right after the exec, before the program has done any
// real work. If the process cannot be placed, it is killed and reaped and
// Start returns the error. cmd.SysProcAttr is kept and extended.
func (g *Group) Start(cmd *exec.Cmd) error {
	var v2 *groupDir
	for i := range g.dirs {
		if g.dirs[i].v2 {
			v2 = &g.dirs[i]
		}
	}
	if v2 != nil {
		fd, err := syscall.Open(v2.path, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open cgroup %s: %w", v2.path, err)
		}
		defer syscall.Close(fd)
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
	}
	if err := cmd.Start(); err != nil {
		if v2 != nil {
			return fmt.Errorf("%w (starting a process inside cgroup %s needs clone3, Linux 5.7 or later)", err, v2.path)
		}
		return err
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, d := range g.dirs {
		if d.v2 {
			continue
		}
		procs := filepath.Join(d.path, "cgroup.procs")
		if err := os.WriteFile(procs, []byte(pid), 0); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return fmt.Errorf("move %s (pid %s) into cgroup: write %s: %w", filepath.Base(cmd.Path), pid, procs, advise(err))
		}
	}
	return nil
}

// removeTimeout bounds the wait for a just-exited process to leave the
// group: the kernel releases it shortly after the parent reaped it.
const removeTimeout = 2 * time.Second

// Remove deletes the group's directories. Call it after every process in
// the group has exited and been reaped; while one still runs, the kernel
// refuses, the error lists the PIDs, and a later Remove tries again. Safe to
// call more than once and from several goroutines.
func (g *Group) Remove() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for i := range g.dirs {
		d := &g.dirs[i]
		if d.removed {
			continue
		}
		if err := removeDir(d.path); err != nil {
			errs = append(errs, err)
			continue
		}
		d.removed = true
	}
	return errors.Join(errs...)
}

func removeDir(path string) error {
	deadline := time.Now().Add(removeTimeout)
	for {
		err := syscall.Rmdir(path)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			procs := readList(filepath.Join(path, "cgroup.procs"))
			return fmt.Errorf("remove cgroup %s: %w (processes still in it: %v)", path, err, procs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// staleRE matches the groups New creates; the first group is the PID of
// the harness that created it.
var staleRE = regexp.MustCompile(`^relaybench-(\d+)-`)

// RemoveStale removes the relaybench groups whose harness process is gone,
// in every hierarchy that holds the cpu or memory controller, and returns
// their paths. A group that still holds a process is left alone.
func RemoveStale() []string {
	var removed []string
	for _, ctrl := range []string{"cpu", "memory"} {
		if h, err := hostSystem.locate(ctrl); err == nil {
			removed = append(removed, hostSystem.removeStaleIn(h.base)...)
		}
	}
	return removed
}

func (s system) removeStaleIn(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		m := staleRE.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || s.alive(pid) {
			continue
		}
		// rmdir refuses a group that still holds a process.
		if syscall.Rmdir(filepath.Join(base, e.Name())) == nil {
			removed = append(removed, filepath.Join(base, e.Name()))
		}
	}
	return removed
}

// alive reports whether pid is a running (not zombie) process.
func (s system) alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join(s.procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}
