package envinfo

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// writeTree creates files (path relative to the returned root → content)
// in a temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const x86CPUInfo = `processor	: 0
vendor_id	: AuthenticAMD
model		: 2
model name	: AMD EPYC 7B13
flags		: fpu vme

processor	: 1
vendor_id	: AuthenticAMD
model		: 2
model name	: AMD EPYC 7B13
flags		: fpu vme

`

const armCPUInfo = `Processor	: ARMv7 Processor rev 4 (v7l)
processor	: 0
BogoMIPS	: 38.40

processor	: 1
BogoMIPS	: 38.40

processor	: 2
processor	: 3
Hardware	: BCM2835
`

const meminfo24G = `MemTotal:       24683620 kB
MemFree:         1234567 kB
MemAvailable:   20000000 kB
`

// fakeProc is a /proc tree with a 2-CPU, 24 GiB machine and process 4242.
func fakeProc(t *testing.T) string {
	t.Helper()
	limits, err := os.ReadFile("testdata/limits")
	if err != nil {
		t.Fatal(err)
	}
	return writeTree(t, map[string]string{
		"cpuinfo":                          x86CPUInfo,
		"meminfo":                          meminfo24G,
		"sys/kernel/osrelease":             "6.1.0-26-amd64\n",
		"sys/kernel/version":               "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)\n",
		"sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
		"sys/net/ipv4/tcp_rmem":            "4096\t131072\t6291456\n",
		"sys/net/core/somaxconn":           "4096\n",
		"sys/fs/file-max":                  "9223372036854775807\n",
		"4242/limits":                      string(limits),
		"4242/cgroup":                      "0::/system.slice/tor@relay.service\n",
		"4242/exe":                         "", // a regular file: Readlink fails
		"cg/system.slice/tor@relay.service/memory.max": "4294967296\n",
	})
}

func TestCaptureFakeProc(t *testing.T) {
	proc := fakeProc(t)
	at := time.Date(2025, 11, 23, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	env := Capture(context.Background(),
		[]Source{{Name: "rbtarget", Role: rundir.RoleTarget, PID: 4242, TorBinary: "/nonexistent/tor"}},
		WithProcRoot(proc), WithCgroupRoot(filepath.Join(proc, "cg")),
		WithSysctls("net.ipv4.ip_local_port_range", "net.ipv4.tcp_rmem", "net.core.somaxconn",
			"fs.file-max", "net.netfilter.nf_conntrack_max"),
		WithRelaybenchVersion("v9.9.9"), WithClock(func() time.Time { return at }))

	if env.Version != 1 || env.Relaybench != "v9.9.9" || !env.CapturedAt.Equal(at) || env.CapturedAt.Location() != time.UTC {
		t.Errorf("header: version %d, relaybench %q, captured %v", env.Version, env.Relaybench, env.CapturedAt)
	}
	m := env.Machine
	if m.KernelRelease != "6.1.0-26-amd64" || m.KernelVersion != "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)" {
		t.Errorf("kernel: %q %q", m.KernelRelease, m.KernelVersion)
	}
	if m.CPUModel != "AMD EPYC 7B13" || m.CPUInfoProcessors != 2 || m.Cores != runtime.NumCPU() {
		t.Errorf("cpu: %q, %d processors, %d cores", m.CPUModel, m.CPUInfoProcessors, m.Cores)
	}
	if m.RAMBytes != 24683620*1024 {
		t.Errorf("ram = %d, want %d", m.RAMBytes, 24683620*1024)
	}
	wantSysctls := map[string]string{
		"net.ipv4.ip_local_port_range": "32768 60999",
		"net.ipv4.tcp_rmem":            "4096 131072 6291456",
		"net.core.somaxconn":           "4096",
		"fs.file-max":                  "9223372036854775807",
	}
	if len(env.Sysctls) != len(wantSysctls) {
		t.Errorf("sysctls = %v, want %v", env.Sysctls, wantSysctls)
	}
	for k, v := range wantSysctls {
		if env.Sysctls[k] != v {
			t.Errorf("sysctl %s = %q, want %q", k, env.Sysctls[k], v)
		}
	}
	if !slices.Equal(env.SysctlsMissing, []string{"net.netfilter.nf_conntrack_max"}) {
		t.Errorf("missing sysctls = %v", env.SysctlsMissing)
	}
	for _, n := range env.Notes {
		if strings.Contains(n, "nf_conntrack") {
			t.Errorf("a missing sysctl is not a note: %q", n)
		}
	}

	if len(env.Processes) != 1 {
		t.Fatalf("processes = %+v", env.Processes)
	}
	p := env.Processes[0]
	if p.NoFileSoft != 20000 || p.NoFileHard != 20000 {
		t.Errorf("nofile = %d/%d, want 20000/20000", p.NoFileSoft, p.NoFileHard)
	}
	if p.CgroupMemoryLimitBytes != 4<<30 {
		t.Errorf("cgroup limit = %d", p.CgroupMemoryLimitBytes)
	}
	if p.Binary != "/nonexistent/tor" || p.TorVersion != "" {
		t.Errorf("binary %q version %q", p.Binary, p.TorVersion)
	}
	if !strings.Contains(p.Err, "tor version: run /nonexistent/tor --version") {
		t.Errorf("process error = %q", p.Err)
	}

	// No control port: the budget assumes MaxMemInQueues is unset.
	tc := env.Target
	if tc == nil || tc.Source != "none" || !strings.Contains(tc.Err, "no control port") {
		t.Fatalf("target = %+v", tc)
	}
	b := tc.MemoryBudget
	if b.Bytes != 8<<30 || b.Source != "computed" || !strings.HasPrefix(b.Rule, "assuming MaxMemInQueues is unset") ||
		!strings.Contains(b.Rule, "40% of 23.5 GiB RAM (RAM >= 8 GiB) = 9.4 GiB, capped at 8 GiB") {
		t.Errorf("budget = %+v", b)
	}
	// The 4 GiB cgroup is below both RAM and the 8 GiB budget.
	if !hasNote(env, "exceeds the cgroup memory limit 4 GiB of rbtarget") {
		t.Errorf("no cgroup-vs-budget note in %q", env.Notes)
	}
}

func hasNote(env *Env, sub string) bool {
	return slices.ContainsFunc(env.Notes, func(n string) bool { return strings.Contains(n, sub) })
}

func TestCaptureUnreadableMachine(t *testing.T) {
	empty := t.TempDir()
	env := Capture(context.Background(), []Source{{Name: "gone", Role: rundir.RoleClient, PID: 99999}},
		WithProcRoot(empty), WithSysctls("net.core.somaxconn"))
	if env.Machine.RAMBytes != 0 || env.Machine.CPUModel != "" || env.Machine.Cores != runtime.NumCPU() {
		t.Errorf("machine = %+v", env.Machine)
	}
	for _, want := range []string{"kernel release:", "cpu:", "ram:", `target: no source with role "target"`} {
		if !hasNote(env, want) {
			t.Errorf("no note %q in %q", want, env.Notes)
		}
	}
	if !slices.Equal(env.SysctlsMissing, []string{"net.core.somaxconn"}) {
		t.Errorf("missing = %v", env.SysctlsMissing)
	}
	if p := env.Processes[0]; !strings.Contains(p.Err, "has the process exited?") || p.NoFileSoft != 0 {
		t.Errorf("process = %+v", p)
	}
	if env.Target != nil {
		t.Errorf("target = %+v", env.Target)
	}
}

func TestReadNoFile(t *testing.T) {
	soft, hard, err := readNoFile("testdata/limits")
	if err != nil || soft != 20000 || hard != 20000 {
		t.Errorf("testdata/limits: %d %d %v", soft, hard, err)
	}
	for _, tc := range []struct {
		line       string
		soft, hard int64
		err        string
	}{
		{"Max open files            1024                 524288               files     \n", 1024, 524288, ""},
		{"Max open files            unlimited            unlimited            files\n", -1, -1, ""},
		{"Max open files            lots                 524288               files\n", 0, 0, "soft limit"},
		{"Max open files\n", 0, 0, "unexpected line"},
		{"Max processes             96365                96365                processes\n", 0, 0, `no "Max open files" line`},
	} {
		dir := writeTree(t, map[string]string{"limits": "Limit                     Soft Limit           Hard Limit           Units     \n" + tc.line})
		soft, hard, err := readNoFile(filepath.Join(dir, "limits"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || soft != tc.soft || hard != tc.hard {
			t.Errorf("%q: %d %d %v, want %d %d", tc.line, soft, hard, err, tc.soft, tc.hard)
		}
	}
}

func TestReadMemTotal(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    int64
		err     string
	}{
		{meminfo24G, 24683620 * 1024, ""},
		{"MemFree: 1 kB\nMemTotal:        4194304 kB\n", 4 << 30, ""},
		{"MemFree: 1 kB\n", 0, "no MemTotal"},
		{"MemTotal: 12 MB\n", 0, "unexpected MemTotal"},
		{"MemTotal: -5 kB\n", 0, "bad MemTotal"},
	} {
		dir := writeTree(t, map[string]string{"meminfo": tc.content})
		got, err := readMemTotal(filepath.Join(dir, "meminfo"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.content, err, tc.err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.content, got, err, tc.want)
		}
	}
}

func TestReadCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    cpuInfo
		err     string
	}{
		{x86CPUInfo, cpuInfo{"AMD EPYC 7B13", 2}, ""},
		{armCPUInfo, cpuInfo{"ARMv7 Processor rev 4 (v7l)", 4}, ""},
		{"vendor_id : x\n", cpuInfo{}, "no processor"},
	} {
		dir := writeTree(t, map[string]string{"cpuinfo": tc.content})
		got, err := readCPUInfo(filepath.Join(dir, "cpuinfo"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("got %+v %v, want %+v", got, err, tc.want)
		}
	}
}

func TestReadSysctlRejectsPaths(t *testing.T) {
	for _, name := range []string{"", "../../etc/passwd", "net/core/somaxconn"} {
		if _, err := readSysctl(t.TempDir(), name); err == nil || !strings.Contains(err.Error(), "invalid sysctl name") {
			t.Errorf("%q: err = %v", name, err)
		}
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2 limit", map[string]string{"proc/1/cgroup": "0::/a/b\n", "cg/a/b/memory.max": "1073741824\n"}, 1 << 30},
		{"v2 max", map[string]string{"proc/1/cgroup": "0::/a\n", "cg/a/memory.max": "max\n"}, 0},
		{"v2 namespaced root", map[string]string{"proc/1/cgroup": "0::/host/path\n", "cg/memory.max": "536870912\n"}, 512 << 20},
		{"v1 limit", map[string]string{
			"proc/1/cgroup": "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n",
			"cg/memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
		}, 2 << 30},
		{"v1 unlimited", map[string]string{
			"proc/1/cgroup":                   "4:memory:/process_api/661a\n0::/\n",
			"cg/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0},
		{"no memory controller", map[string]string{"proc/1/cgroup": "1:cpu:/\n"}, 0},
	} {
		root := writeTree(t, tc.files)
		got, err := cgroupMemoryLimit(filepath.Join(root, "proc"), filepath.Join(root, "cg"), 1)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, got, err, tc.want)
		}
	}
}

// TestCaptureHarnessRealProc reads the real /proc for the test process
// itself and checks the open-files limit against getrlimit(2).
func TestCaptureHarnessRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/limits"); err != nil {
		t.Skip("no /proc")
	}
	env := Capture(context.Background(), []Source{Harness()})
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	p := env.Processes[0]
	if p.PID != os.Getpid() || p.NoFileSoft != int64(rl.Cur) || p.NoFileHard != int64(rl.Max) {
		t.Errorf("harness = %+v, getrlimit = %+v", p, rl)
	}
	if p.TorVersion != "" {
		t.Errorf("the harness has no tor version, got %q", p.TorVersion)
	}
	if exe, _ := os.Executable(); p.Binary != exe {
		t.Errorf("binary = %q, want %q", p.Binary, exe)
	}
	if env.Machine.RAMBytes <= 0 || env.Machine.KernelRelease == "" || env.Machine.CPUInfoProcessors <= 0 {
		t.Errorf("machine = %+v", env.Machine)
	}
	if _, ok := env.Sysctls["net.ipv4.ip_local_port_range"]; !ok {
		t.Errorf("sysctls = %v, notes %q", env.Sysctls, env.Notes)
	}
}
