package cgroup

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSystem lays out a cgroup view under a temporary directory: mountinfo
// lines whose mount points are {root} placeholders, /proc/self/cgroup, and
// files (path relative to root -> content) such as cgroup.controllers.
func fakeSystem(t *testing.T, mountinfo, selfCgroup string, files map[string]string) (system, string) {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := system{mountinfo: filepath.Join(root, "mountinfo"), selfCgroup: filepath.Join(root, "self-cgroup"), procRoot: filepath.Join(root, "proc")}
	os.WriteFile(s.mountinfo, []byte(strings.ReplaceAll(mountinfo, "{root}", root)), 0o644)
	os.WriteFile(s.selfCgroup, []byte(selfCgroup), 0o644)
	return s, root
}

// This machine's layout (Debian 12 VM): cgroup v1 controllers each on
// their own mount, a v2 hierarchy without controllers at unified/.
const hybridMountinfo = `25 1 0:22 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / {root}/cg rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cg/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / {root}/cg/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / {root}/cg/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / {root}/cg/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / {root}/cg/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridSelf = `4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`

func TestLocateV1WhenTheUnifiedHierarchyLacksTheController(t *testing.T) {
	s, root := fakeSystem(t, hybridMountinfo, hybridSelf, map[string]string{
		"cg/unified/cgroup.controllers":          "\n",
		"cg/cpu/cpu.cfs_quota_us":                "-1\n",
		"cg/memory/process_api/abc/cgroup.procs": "",
	})
	h, err := s.locate("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if h.v2 || h.base != filepath.Join(root, "cg/cpu") {
		t.Errorf("cpu: got %+v, want v1 at %s", h, filepath.Join(root, "cg/cpu"))
	}
	// The group goes inside the harness's own memory cgroup, not at the
	// top, so it stays within whatever limit the harness runs under.
	h, err = s.locate("memory")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "cg/memory/process_api/abc"); h.v2 || h.base != want {
		t.Errorf("memory: got %+v, want v1 at %s", h, want)
	}
	// Not cpuacct or cpuset: "cpu" is a whole controller name.
	s2, _ := fakeSystem(t, strings.ReplaceAll(hybridMountinfo, "rw,cpu\n", "rw,net_cls\n"), hybridSelf, nil)
	if h, err := s2.locate("cpu"); err == nil {
		t.Errorf("found a cpu hierarchy %+v where only cpuacct and cpuset are mounted", h)
	}
}

func TestLocateV2(t *testing.T) {
	const mi = "30 23 0:26 / {root}/cg rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	t.Run("harness at the root", func(t *testing.T) {
		// A container's cgroup namespace: the root is the top it can see.
		s, root := fakeSystem(t, mi, "0::/\n", map[string]string{
			"cg/cgroup.controllers":     "cpuset cpu io memory pids\n",
			"cg/cgroup.subtree_control": "memory\n",
		})
		h, err := s.locate("cpu")
		if err != nil {
			t.Fatal(err)
		}
		if !h.v2 || h.base != filepath.Join(root, "cg") || !h.enable {
			t.Errorf("got %+v, want v2 at the root with cpu to enable", h)
		}
		h, _ = s.locate("memory")
		if h.enable {
			t.Errorf("memory is enabled already, got %+v", h)
		}
	})
	t.Run("harness in a systemd scope", func(t *testing.T) {
		// A v2 cgroup with processes cannot have children with
		// controllers: the group goes beside the harness's scope.
		s, root := fakeSystem(t, mi, "0::/user.slice/session-1.scope\n", map[string]string{
			"cg/user.slice/cgroup.controllers":                     "cpu memory pids\n",
			"cg/user.slice/cgroup.subtree_control":                 "cpu memory pids\n",
			"cg/user.slice/session-1.scope/cgroup.controllers":     "cpu memory pids\n",
			"cg/user.slice/session-1.scope/cgroup.subtree_control": "",
		})
		h, err := s.locate("cpu")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, "cg/user.slice"); !h.v2 || h.base != want || h.enable {
			t.Errorf("got %+v, want v2 at %s, cpu already enabled", h, want)
		}
	})
	t.Run("host path outside the namespace", func(t *testing.T) {
		s, root := fakeSystem(t, mi, "0::/../../system.slice/docker-1.scope\n", map[string]string{
			"cg/cgroup.controllers": "cpu memory\n",
		})
		h, err := s.locate("cpu")
		if err != nil {
			t.Fatal(err)
		}
		if h.base != filepath.Join(root, "cg") {
			t.Errorf("got %+v, want the mount point", h)
		}
	})
	t.Run("v2 without cpu and no v1", func(t *testing.T) {
		s, root := fakeSystem(t, mi, "0::/\n", map[string]string{"cg/cgroup.controllers": "memory pids\n"})
		_, err := s.locate("cpu")
		if err == nil {
			t.Fatal("found a cpu hierarchy")
		}
		for _, want := range []string{"no cgroup hierarchy offers the cpu controller", filepath.Join(root, "cg/cgroup.controllers"), `"memory pids"`, "no cgroup v1 hierarchy with the cpu controller"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}

func TestParseMountinfoEscapesAndCombinedControllers(t *testing.T) {
	ms := parseMountinfo([]byte(`32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 / /sys/fs/cgroup/sys\040temd rw - cgroup cgroup rw,xattr,name=systemd
`))
	if len(ms) != 2 {
		t.Fatalf("got %d mounts, want 2: %+v", len(ms), ms)
	}
	if !slices.Equal(ms[0].controllers, []string{"cpu", "cpuacct"}) || ms[0].point != "/sys/fs/cgroup/cpu,cpuacct" {
		t.Errorf("combined mount: %+v", ms[0])
	}
	if ms[1].point != "/sys/fs/cgroup/sys temd" || slices.Contains(ms[1].controllers, "name=systemd") {
		t.Errorf("named hierarchy: %+v", ms[1])
	}
}

func TestNewWritesLimitsV1AndV2(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		s, root := fakeSystem(t, hybridMountinfo, hybridSelf, map[string]string{
			"cg/unified/cgroup.controllers":          "",
			"cg/cpu/cgroup.procs":                    "",
			"cg/memory/process_api/abc/cgroup.procs": "",
		})
		g, err := s.newGroup("rbtarget", Limits{CPU: 0.25, MemoryBytes: 512 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.dirs) != 2 {
			t.Fatalf("got dirs %v, want one per v1 hierarchy", g.Paths())
		}
		cpu := filepath.Join(root, "cg/cpu", g.Name)
		checkFile(t, filepath.Join(cpu, "cpu.cfs_period_us"), "100000")
		checkFile(t, filepath.Join(cpu, "cpu.cfs_quota_us"), "25000")
		checkFile(t, filepath.Join(cpu, "cpu.shares"), "10240")
		mem := filepath.Join(root, "cg/memory/process_api/abc", g.Name)
		checkFile(t, filepath.Join(mem, "memory.limit_in_bytes"), "536870912")
		if !strings.HasPrefix(g.Name, "relaybench-"+strconv.Itoa(os.Getpid())+"-rbtarget-") {
			t.Errorf("name %q does not start with relaybench-PID-rbtarget-", g.Name)
		}
		// What the sampler reads back.
		os.WriteFile(filepath.Join(cpu, "cpu.stat"), []byte("nr_periods 807\nnr_throttled 611\nthrottled_time 12500000000\nnr_bursts 0\n"), 0o644)
		st, err := g.Stat()
		if err != nil {
			t.Fatal(err)
		}
		want := Stat{QuotaCores: 0.25, Periods: 807, Throttled: 611, ThrottledTime: 12500 * time.Millisecond, MemoryLimitBytes: 512 << 20}
		if st != want {
			t.Errorf("Stat = %+v, want %+v", st, want)
		}
	})
	t.Run("v2", func(t *testing.T) {
		s, root := fakeSystem(t, "30 23 0:26 / {root}/cg rw - cgroup2 cgroup2 rw\n", "0::/\n", map[string]string{
			"cg/cgroup.controllers":     "cpu memory\n",
			"cg/cgroup.subtree_control": "memory\n",
		})
		g, err := s.newGroup("rbtarget", Limits{CPU: 0.05, MemoryBytes: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.dirs) != 1 || !g.dirs[0].v2 {
			t.Fatalf("got dirs %+v, want one v2 dir", g.dirs)
		}
		// The fake is a plain file, so the write replaces it; the kernel
		// would add cpu to the enabled set.
		checkFile(t, filepath.Join(root, "cg/cgroup.subtree_control"), "+cpu")
		dir := g.Paths()[0]
		checkFile(t, filepath.Join(dir, "cpu.max"), "5000 100000")
		checkFile(t, filepath.Join(dir, "cpu.weight"), "1000")
		checkFile(t, filepath.Join(dir, "memory.max"), "67108864")
		os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte("usage_usec 100\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2500\n"), 0o644)
		st, err := g.Stat()
		if err != nil {
			t.Fatal(err)
		}
		want := Stat{QuotaCores: 0.05, Periods: 10, Throttled: 4, ThrottledTime: 2500 * time.Microsecond, MemoryLimitBytes: 64 << 20}
		if st != want {
			t.Errorf("Stat = %+v, want %+v", st, want)
		}
	})
}

func TestNewErrorNamesThePath(t *testing.T) {
	// The v1 cpu "hierarchy" is a regular file: mkdir fails as it would
	// on a read-only cgroup file system.
	s, root := fakeSystem(t, "32 31 0:29 / {root}/cpu rw - cgroup cgroup rw,cpu\n", "1:cpu:/\n", map[string]string{"cpu": "not a dir"})
	_, err := s.newGroup("rbtarget", Limits{CPU: 0.25})
	if err == nil {
		t.Fatal("newGroup succeeded on a file")
	}
	if !strings.Contains(err.Error(), "create cgroup "+filepath.Join(root, "cpu", "relaybench-")) || !strings.HasPrefix(err.Error(), "confine rbtarget: ") {
		t.Errorf("error %q does not name the cgroup path", err)
	}
	for _, lim := range []Limits{{}, {CPU: -1}, {CPU: 0.005}, {MemoryBytes: -1}} {
		if _, err := s.newGroup("x", lim); err == nil {
			t.Errorf("limits %+v accepted", lim)
		}
	}
}

func TestRemoveStaleOnlyOfDeadHarnesses(t *testing.T) {
	s, root := fakeSystem(t, "", "", map[string]string{
		"proc/100/stat": "100 (relaybench) S 1 ...",
		"proc/200/stat": "200 (relaybench) Z 1 ...",
	})
	base := filepath.Join(root, "base")
	for _, d := range []string{"relaybench-100-rbtarget-1", "relaybench-200-rbtarget-1", "relaybench-300-rbtarget-2", "other-300", "relaybench-x-1"} {
		os.MkdirAll(filepath.Join(base, d), 0o755)
	}
	removed := s.removeStaleIn(base)
	slices.Sort(removed)
	want := []string{filepath.Join(base, "relaybench-200-rbtarget-1"), filepath.Join(base, "relaybench-300-rbtarget-2")}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v (pid 100 runs; 200 is a zombie, 300 gone)", removed, want)
	}
	left, _ := os.ReadDir(base)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"other-300", "relaybench-100-rbtarget-1", "relaybench-x-1"}) {
		t.Errorf("left %v", names)
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	if strings.TrimSpace(string(got)) != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}
