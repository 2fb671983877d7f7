package envinfo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

// SchemaVersion is the version of the env.json format Capture writes.
const SchemaVersion = 1

// Env is the content of env.json: what a run ran on. The package
// documentation describes every field.
type Env struct {
	// Version is the schema version, SchemaVersion when written by Capture.
	Version int `json:"version"`
	// CapturedAt is when Capture ran (UTC).
	CapturedAt time.Time `json:"captured_at"`
	// Relaybench is the version of the harness binary.
	Relaybench string `json:"relaybench_version,omitempty"`
	// Machine describes the host.
	Machine Machine `json:"machine"`
	// Sysctls maps sysctl names to their /proc/sys values, whitespace
	// collapsed to single spaces.
	Sysctls map[string]string `json:"sysctls"`
	// SysctlsMissing lists the requested sysctls this kernel does not have.
	SysctlsMissing []string `json:"sysctls_missing,omitempty"`
	// Processes describes each process of the run, in Source order.
	Processes []Process `json:"processes"`
	// Target is the configuration of the relay under test; nil when no
	// source had rundir.RoleTarget.
	Target *TargetConfig `json:"target,omitempty"`
	// Notes lists what could not be read, and why, and facts worth a look
	// (a cgroup memory limit below RAM, tor versions that differ).
	Notes []string `json:"notes,omitempty"`
}

// Machine describes the host the run ran on.
type Machine struct {
	// KernelRelease is /proc/sys/kernel/osrelease (uname -r).
	KernelRelease string `json:"kernel_release,omitempty"`
	// KernelVersion is /proc/sys/kernel/version (uname -v).
	KernelVersion string `json:"kernel_version,omitempty"`
	// Arch is the GOARCH of the harness.
	Arch string `json:"arch"`
	// CPUModel is the first "model name" of /proc/cpuinfo.
	CPUModel string `json:"cpu_model,omitempty"`
	// Cores is runtime.NumCPU(): the CPUs the harness may run on.
	Cores int `json:"cores"`
	// CPUInfoProcessors counts the "processor" entries of /proc/cpuinfo.
	CPUInfoProcessors int `json:"cpuinfo_processors,omitempty"`
	// RAMBytes is MemTotal of /proc/meminfo, which tor sizes its default
	// memory budget from.
	RAMBytes int64 `json:"ram_bytes,omitempty"`
	// GoVersion is the Go release the harness was built with.
	GoVersion string `json:"go_version"`
}

// Process describes one process of the run.
type Process struct {
	// Name and Role are the Source's.
	Name string             `json:"name"`
	Role rundir.ProcessRole `json:"role"`
	// PID is the process id at capture time (0 when unknown).
	PID int `json:"pid,omitempty"`
	// Binary is Source.TorBinary, else the target of /proc/PID/exe.
	Binary string `json:"binary,omitempty"`
	// TorVersion is tor's version, e.g. "0.4.9.11"; empty for non-tor
	// processes.
	TorVersion string `json:"tor_version,omitempty"`
	// TorVersionSource says how TorVersion was learnt: "control-port"
	// (GETINFO version) or "binary" (tor --version).
	TorVersionSource string `json:"tor_version_source,omitempty"`
	// NoFileSoft and NoFileHard are the "Max open files" limits of
	// /proc/PID/limits; -1 means unlimited, absent means unknown. Tor raises
	// its soft limit to the hard one at start.
	NoFileSoft int64 `json:"nofile_soft,omitempty"`
	NoFileHard int64 `json:"nofile_hard,omitempty"`
	// TorDescriptorLimit is GETINFO process/descriptor-limit: the number of
	// sockets tor allows itself (the open-files limit minus 32).
	TorDescriptorLimit int64 `json:"tor_descriptor_limit,omitempty"`
	// CgroupMemoryLimitBytes is the memory limit of the process's cgroup
	// (memory.max or memory.limit_in_bytes); absent when unlimited or
	// unknown.
	CgroupMemoryLimitBytes int64 `json:"cgroup_memory_limit_bytes,omitempty"`
	// Err says what could not be read about the process, and why.
	Err string `json:"error,omitempty"`
}

// TargetConfig is the effective configuration of the relay under test.
type TargetConfig struct {
	// Name is the target Source's name.
	Name string `json:"name"`
	// Source says where Options came from: "control-port", or "none" when
	// they could not be read.
	Source string `json:"source"`
	// Err says why Options could not be read (entirely or partly).
	Err string `json:"error,omitempty"`
	// Options maps the torrc options of TargetOptions to the values tor
	// reports with GETCONF ("" for unset options without default).
	Options map[string]string `json:"options,omitempty"`
	// MemoryBudget is tor's effective MaxMemInQueues and why.
	MemoryBudget *MemoryBudget `json:"memory_budget,omitempty"`
	// ConsensusParams are the parameters of the consensus the target
	// holds, name -> value (the "params" line of GETINFO
	// ConsensusDocKey): the DoS defences it enforces where Options say
	// "auto". Absent when not readable.
	ConsensusParams map[string]string `json:"consensus_params,omitempty"`
}

// ConsensusDocKey is the GETINFO key of the consensus a relay holds.
const ConsensusDocKey = "dir/status-vote/current/consensus"

// QueryFunc asks a tor process's control port for keys (GETCONF or
// GETINFO) and returns the values by key. GetConfFunc and GetInfoFunc make
// one from a bine control connection.
type QueryFunc func(ctx context.Context, keys []string) (map[string]string, error)

// Source is one process of the run to describe.
type Source struct {
	// Name identifies the process, e.g. "rbtarget", "load0", "harness".
	// Diff matches processes of two runs by Name.
	Name string
	// Role is rundir.RoleTarget, rundir.RoleRelay, rundir.RoleClient or rundir.RoleHarness.
	Role rundir.ProcessRole
	// PID is the process id; 0 if unknown (GETINFO process/pid fills it in
	// when GetInfo is set).
	PID int
	// TorBinary is the tor executable the process runs. It is used for
	// `tor --version` when GetInfo is nil, and recorded.
	TorBinary string
	// GetConf reads torrc options over the control port (target only).
	GetConf QueryFunc
	// GetInfo reads GETINFO keys over the control port.
	GetInfo QueryFunc
}

// Harness returns the Source describing the calling process.
func Harness() Source {
	return Source{Name: "harness", Role: rundir.RoleHarness, PID: os.Getpid()}
}

// TargetOptions are the torrc options read from the target with GETCONF:
// the ones that bound a relay's throughput, memory, sockets and CPU use.
var TargetOptions = []string{
	"BandwidthRate", "BandwidthBurst",
	"RelayBandwidthRate", "RelayBandwidthBurst",
	"MaxAdvertisedBandwidth", "PerConnBWRate", "PerConnBWBurst",
	"CountPrivateBandwidth", "AccountingMax",
	"MaxMemInQueues", "NumCPUs", "ConnLimit", "DisableOOSCheck",
	"MaxOnionQueueDelay", "Schedulers", "KISTSchedRunInterval",
	"DoSCircuitCreationEnabled", "DoSConnectionEnabled",
	"DoSConnectionMaxConcurrentCount", "DoSStreamCreationEnabled",
	"ORPort", "ExitRelay", "BridgeRelay", "DirCache",
	"HardwareAccel", "Sandbox", "AvoidDiskWrites", "TestingTorNetwork",
}

// DefaultSysctls are the sysctls read from /proc/sys: the ones tor's relay
// tuning pages mention, and the TCP queues and buffers that bound a busy
// relay.
var DefaultSysctls = []string{
	"fs.file-max",
	"fs.nr_open",
	"net.core.netdev_max_backlog",
	"net.core.rmem_max",
	"net.core.somaxconn",
	"net.core.wmem_max",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_congestion_control",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_mem",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_wmem",
	"net.netfilter.nf_conntrack_max",
}

// Option changes how Capture reads the environment.
type Option func(*config)

type config struct {
	procRoot     string
	cgroupRoot   string
	sysctls      []string
	relaybench   string
	queryTimeout time.Duration
	now          func() time.Time
}

// WithProcRoot reads /proc (and /proc/sys) from dir instead, for tests.
func WithProcRoot(dir string) Option { return func(c *config) { c.procRoot = dir } }

// WithCgroupRoot reads /sys/fs/cgroup from dir instead, for tests.
func WithCgroupRoot(dir string) Option { return func(c *config) { c.cgroupRoot = dir } }

// WithSysctls replaces DefaultSysctls.
func WithSysctls(names ...string) Option {
	return func(c *config) { c.sysctls = slices.Clone(names) }
}

// WithRelaybenchVersion records v as the harness version instead of the
// one from the binary's build information.
func WithRelaybenchVersion(v string) Option { return func(c *config) { c.relaybench = v } }

// WithQueryTimeout bounds each control-port query (default 5 s; `tor
// --version` gets at least 10 s). Non-positive values keep the default.
func WithQueryTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.queryTimeout = d
		}
	}
}

// WithClock sets the clock that stamps CapturedAt, for tests.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Capture describes the machine and the processes of sources. It never
// fails as a whole: whatever cannot be read is recorded in Env.Notes or in
// the process's Err, and the rest is kept. ctx bounds the whole capture.
func Capture(ctx context.Context, sources []Source, opts ...Option) *Env {
	cfg := config{
		procRoot:     "/proc",
		cgroupRoot:   "/sys/fs/cgroup",
		sysctls:      DefaultSysctls,
		queryTimeout: 5 * time.Second,
		now:          time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.relaybench == "" {
		cfg.relaybench = buildVersion()
	}
	c := &capturer{cfg: cfg, versions: map[string]versionResult{}}
	env := &Env{
		Version:    SchemaVersion,
		CapturedAt: cfg.now().UTC().Round(0),
		Relaybench: cfg.relaybench,
		Sysctls:    map[string]string{},
		Processes:  []Process{},
	}
	c.env = env
	c.machine()
	c.sysctls()
	for _, s := range sources {
		p := c.process(ctx, s)
		env.Processes = append(env.Processes, p)
		if s.Role == rundir.RoleTarget {
			if env.Target != nil {
				c.notef("source %q: a second %s source; only %q's options are read", s.Name, rundir.RoleTarget, env.Target.Name)
				continue
			}
			env.Target = c.target(ctx, s, p)
		}
	}
	if env.Target == nil {
		c.notef("target: no source with role %q, so no relay options or memory budget", rundir.RoleTarget)
	}
	c.crossChecks(env)
	return env
}

// capturer holds the state of one Capture call.
type capturer struct {
	cfg      config
	env      *Env
	versions map[string]versionResult // tor --version by binary path
}

func (c *capturer) notef(format string, args ...any) {
	c.env.Notes = append(c.env.Notes, fmt.Sprintf(format, args...))
}

func (c *capturer) machine() {
	m := &c.env.Machine
	m.Arch = runtime.GOARCH
	m.Cores = runtime.NumCPU()
	m.GoVersion = runtime.Version()
	var err error
	if m.KernelRelease, err = readTrimmed(filepath.Join(c.cfg.procRoot, "sys/kernel/osrelease")); err != nil {
		c.notef("kernel release: %v", err)
	}
	if m.KernelVersion, err = readTrimmed(filepath.Join(c.cfg.procRoot, "sys/kernel/version")); err != nil {
		c.notef("kernel version: %v", err)
	}
	if ci, err := readCPUInfo(filepath.Join(c.cfg.procRoot, "cpuinfo")); err != nil {
		c.notef("cpu: %v", err)
	} else {
		m.CPUModel, m.CPUInfoProcessors = ci.Model, ci.Processors
	}
	if m.RAMBytes, err = readMemTotal(filepath.Join(c.cfg.procRoot, "meminfo")); err != nil {
		c.notef("ram: %v", err)
	}
}

func (c *capturer) sysctls() {
	env := c.env
	for _, name := range c.cfg.sysctls {
		v, err := readSysctl(c.cfg.procRoot, name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			env.SysctlsMissing = append(env.SysctlsMissing, name)
		case err != nil:
			c.notef("sysctl %s: %v", name, err)
		default:
			env.Sysctls[name] = v
		}
	}
	slices.Sort(env.SysctlsMissing)
}

func (c *capturer) process(ctx context.Context, s Source) Process {
	p := Process{Name: s.Name, Role: s.Role, PID: s.PID, Binary: s.TorBinary}
	var errs []string
	fail := func(what string, err error) { errs = append(errs, what+": "+err.Error()) }

	if s.GetInfo != nil {
		info, err := c.getInfo(ctx, s.GetInfo, "version", "process/pid", "process/descriptor-limit")
		if err != nil {
			fail("GETINFO", err)
		}
		if v := info["version"]; v != "" {
			p.TorVersion, p.TorVersionSource = v, "control-port"
		}
		if pid, ok := parseInt(info["process/pid"]); ok {
			if p.PID == 0 {
				p.PID = int(pid)
			} else if int(pid) != p.PID {
				fail("pid", fmt.Errorf("the control port belongs to pid %d, not %d", pid, p.PID))
			}
		}
		if n, ok := parseInt(info["process/descriptor-limit"]); ok {
			p.TorDescriptorLimit = n
		}
	}
	if p.TorVersion == "" && s.TorBinary != "" {
		if v, err := c.binaryVersion(ctx, s.TorBinary); err != nil {
			fail("tor version", err)
		} else {
			p.TorVersion, p.TorVersionSource = v, "binary"
		}
	}
	if p.PID > 0 {
		dir := filepath.Join(c.cfg.procRoot, fmt.Sprint(p.PID))
		if soft, hard, err := readNoFile(filepath.Join(dir, "limits")); err != nil {
			fail("open-files limit", err)
		} else {
			p.NoFileSoft, p.NoFileHard = soft, hard
		}
		if p.Binary == "" {
			if exe, err := os.Readlink(filepath.Join(dir, "exe")); err != nil {
				fail("binary", err)
			} else {
				p.Binary = exe
			}
		}
		if lim, err := cgroupMemoryLimit(c.cfg.procRoot, c.cfg.cgroupRoot, p.PID); err != nil {
			fail("cgroup memory limit", err)
		} else {
			p.CgroupMemoryLimitBytes = lim
		}
	} else {
		errs = append(errs, "no pid: limits not read")
	}
	p.Err = strings.Join(errs, "; ")
	return p
}

func (c *capturer) target(ctx context.Context, s Source, p Process) *TargetConfig {
	t := &TargetConfig{Name: s.Name, Source: "none"}
	var errs []string
	configured, configuredKnown := int64(0), false
	server := true // the target is a relay unless it says otherwise
	if s.GetConf == nil {
		errs = append(errs, "no control port: options not read")
	} else {
		opts, failed, err := c.ask(ctx, s.GetConf, TargetOptions)
		if err != nil {
			errs = append(errs, "GETCONF: "+err.Error())
		}
		for _, f := range failed {
			errs = append(errs, "GETCONF "+f)
		}
		if len(opts) > 0 {
			t.Source = "control-port"
			t.Options = opts
		}
		if v, ok := opts["MaxMemInQueues"]; ok {
			if n, err := ParseMemUnit(v); err != nil {
				errs = append(errs, "MaxMemInQueues: "+err.Error())
			} else {
				configured, configuredKnown = n, true
			}
		}
		if v, ok := opts["ORPort"]; ok {
			server = v != "" && v != "0"
		}
	}

	b := ComputeMemoryBudget(configured, c.env.Machine.RAMBytes, server)
	if !configuredKnown {
		b.Rule = "assuming MaxMemInQueues is unset (not readable): " + b.Rule
	}
	if s.GetInfo != nil {
		info, err := c.getInfo(ctx, s.GetInfo, "limits/max-mem-in-queues")
		if n, ok := parseInt(info["limits/max-mem-in-queues"]); ok {
			if n != b.Bytes {
				c.notef("target memory budget: tor reports %d bytes, the rule %q gives %d; using tor's", n, b.Rule, b.Bytes)
			}
			b.setBytes(n)
			b.Source = "tor"
		} else if err != nil {
			errs = append(errs, "GETINFO limits/max-mem-in-queues: "+err.Error())
		}
	}
	t.MemoryBudget = &b
	// Only a relay caches the consensus document (a client holds the
	// microdescriptor flavour, and tor answers 551).
	if s.GetInfo != nil && server {
		info, err := c.getInfo(ctx, s.GetInfo, ConsensusDocKey)
		if doc, ok := info[ConsensusDocKey]; ok {
			t.ConsensusParams = paramsLine(doc)
		} else if err != nil {
			errs = append(errs, "GETINFO "+ConsensusDocKey+": "+err.Error())
		}
	}
	if lim := p.CgroupMemoryLimitBytes; lim > 0 && lim < b.Bytes {
		c.notef("target memory budget %s exceeds the cgroup memory limit %s of %s: the kernel may kill tor before its OOM handler runs",
			units.Bytes(b.Bytes), units.Bytes(lim), p.Name)
	}
	t.Err = strings.Join(errs, "; ")
	return t
}

// paramsLine returns the name=value pairs of a consensus document's
// "params" line, which comes before the first relay ("r ") line; nil
// when there is none.
func paramsLine(doc string) map[string]string {
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(line, "r ") {
			break
		}
		rest, ok := strings.CutPrefix(line, "params ")
		if !ok {
			continue
		}
		params := map[string]string{}
		for kv := range strings.FieldsSeq(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				params[k] = v
			}
		}
		return params
	}
	return nil
}

// crossChecks adds notes about facts that make a run unusual.
func (c *capturer) crossChecks(env *Env) {
	versions := map[string][]string{}
	for _, p := range env.Processes {
		if p.TorVersion != "" {
			versions[p.TorVersion] = append(versions[p.TorVersion], p.Name)
		}
	}
	if len(versions) > 1 {
		var parts []string
		for v, names := range versions {
			parts = append(parts, fmt.Sprintf("%s (%s)", v, strings.Join(names, ", ")))
		}
		slices.Sort(parts)
		c.notef("tor versions differ between processes: %s", strings.Join(parts, "; "))
	}
	ram := env.Machine.RAMBytes
	for _, p := range env.Processes {
		if lim := p.CgroupMemoryLimitBytes; lim > 0 && ram > 0 && lim < ram && p.TorVersion != "" {
			c.notef("%s: cgroup memory limit %s is below RAM %s; tor sizes an unset MaxMemInQueues from RAM, not from the cgroup",
				p.Name, units.Bytes(lim), units.Bytes(ram))
		}
	}
}

// WriteFile writes e to path as indented JSON ending in a newline. It
// writes a temporary file next to path and renames it, so a reader never
// sees half a file.
func (e *Env) WriteFile(path string) error {
	return rundir.WriteJSON(path, e)
}

// ReadFile reads an env.json written by WriteFile. It refuses files of a
// newer schema version than SchemaVersion.
func ReadFile(path string) (*Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	var e Env
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	switch {
	case e.Version == 0:
		return nil, fmt.Errorf("parse %s: no \"version\": not an env.json", path)
	case e.Version > SchemaVersion:
		return nil, fmt.Errorf("parse %s: schema version %d is newer than this relaybench reads (%d); upgrade relaybench",
			path, e.Version, SchemaVersion)
	}
	return &e, nil
}

// buildVersion is the harness version from its build information.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev + dirty
}
