package chutney

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// DescriptionFile is the name of the file in a network's dir that describes
// every node; `relaybench testnet status` and other tools read it.
const DescriptionFile = "network.json"

// DescriptionVersion is the schema version of network.json. It changes when a
// field changes meaning or is removed; added fields keep it.
const DescriptionVersion = 1

// State is where a network is in its life.
type State string

// The states recorded in network.json.
const (
	StateStarting State = "starting"
	StateReady    State = "ready"
	StateStopped  State = "stopped"
	StateFailed   State = "failed"
	// StateOrphaned is never written: CurrentState says it of a network
	// whose network.json says starting or ready while its owner process
	// is gone (killed), so that it is never called ready.
	StateOrphaned State = "orphaned"
)

// CurrentState is the network's state as it is now: d.State, except that
// a network said to be starting or ready whose owner process no longer
// runs is StateOrphaned.
func (d *Description) CurrentState() State {
	if (d.State == StateStarting || d.State == StateReady) && !d.OwnerRunning() {
		return StateOrphaned
	}
	return d.State
}

// MarkStopped rewrites dir's network.json with state stopped, once no
// process holds the dir (Shutdown ended its owner): after `testnet down`
// the file must not say ready. It does nothing when the file already says
// stopped or failed, and returns an error wrapping ErrInUse when a
// network still holds the dir.
func (d *Description) MarkStopped(dir string) error {
	if d.State == StateStopped || d.State == StateFailed {
		return nil
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	stopped := *d
	stopped.State = StateStopped
	data, err := json.MarshalIndent(stopped, "", "  ")
	if err != nil {
		return err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(dir, DescriptionFile), append(data, '\n'), 0o600); err != nil {
		return err
	}
	d.State = StateStopped
	return nil
}

// Description is the content of network.json.
type Description struct {
	Version int   `json:"version"`
	State   State `json:"state"`
	// Error says why the network failed (state "failed").
	Error string `json:"error,omitempty"`
	Dir   string `json:"dir"`
	// OwnerPID is the process that started the tor processes and holds their
	// control connections; they exit when it exits.
	OwnerPID int `json:"owner_pid"`
	// OwnerStartTicks is when the owner process started (field 22 of
	// /proc/PID/stat, in clock ticks since boot) and OwnerCmdline its
	// command line: a process is the owner only if both match, so a PID
	// reused by another process is never signalled (OwnerRunning).
	OwnerStartTicks uint64   `json:"owner_start_ticks,omitempty"`
	OwnerCmdline    []string `json:"owner_cmdline,omitempty"`

	TorVersion   string    `json:"tor_version"`
	StartedAt    time.Time `json:"started_at"`
	ReadySeconds float64   `json:"ready_seconds,omitempty"`
	// DirAuthorities are the values of the DirAuthority lines a client of this
	// network needs (together with TestingTorNetwork 1).
	DirAuthorities []string          `json:"dir_authorities"`
	Nodes          []NodeDescription `json:"nodes"`

	// TargetTorVersion is the version of the target's tor, which may be
	// another build than the rest of the network's (WithTargetTor).
	TargetTorVersion string `json:"target_tor_version,omitempty"`
	// ConsensusParams are the consensus parameters the authorities vote
	// (LiveConsensusParams and a scenario's overrides): the DoS defences
	// every relay of the network enforces, the target included unless its
	// torrc overrides them.
	ConsensusParams map[string]int `json:"consensus_params,omitempty"`
}

// NodeDescription describes one tor process of the network.
type NodeDescription struct {
	Role        Role   `json:"role"`
	Nickname    string `json:"nickname"`
	Fingerprint string `json:"fingerprint,omitempty"`
	V3Ident     string `json:"v3ident,omitempty"`
	ORPort      int    `json:"or_port,omitempty"`
	DirPort     int    `json:"dir_port,omitempty"`
	// SocksAddr is set for clients.
	SocksAddr   string `json:"socks_addr,omitempty"`
	ControlAddr string `json:"control_addr,omitempty"`
	CookiePath  string `json:"cookie_path,omitempty"`
	MetricsURL  string `json:"metrics_url,omitempty"`
	// BridgeLine is the value of a client's Bridge option to use this relay.
	BridgeLine string `json:"bridge_line,omitempty"`
	PID        int    `json:"pid,omitempty"`
	DataDir    string `json:"data_dir"`
	Torrc      string `json:"torrc"`
	Log        string `json:"log"`

	// TorBinary is the tor executable the node runs.
	TorBinary string `json:"tor_binary,omitempty"`
	// Cgroups are the directories of the cgroup confining the node (the
	// target, when confined), one per hierarchy; CPUQuotaCores and
	// MemoryLimitBytes are its limits.
	Cgroups          []string `json:"cgroups,omitempty"`
	CPUQuotaCores    float64  `json:"cpu_quota_cores,omitempty"`
	MemoryLimitBytes int64    `json:"memory_limit_bytes,omitempty"`
}

// Describe returns the network's current description.
func (n *Network) Describe(state State, cause error) Description {
	d := Description{
		Version:        DescriptionVersion,
		State:          state,
		Dir:            n.Dir,
		OwnerPID:       os.Getpid(),
		OwnerCmdline:   os.Args,
		TorVersion:     n.TorVersion,
		StartedAt:      n.startedAt.UTC(),
		ReadySeconds:   n.ReadyIn.Seconds(),
		DirAuthorities: n.DirAuthorities,
	}
	d.OwnerStartTicks, _ = startTicks(d.OwnerPID)
	if cause != nil {
		d.Error = cause.Error()
	}
	d.TargetTorVersion = n.TargetTorVersion
	d.ConsensusParams = n.ConsensusParams
	for _, node := range n.Nodes {
		nd := NodeDescription{
			Role: node.Role, Nickname: node.Nickname, Fingerprint: node.Fingerprint, V3Ident: node.V3Ident,
			ORPort: node.ORPort, DirPort: node.DirPort, MetricsURL: node.MetricsURL(), BridgeLine: node.BridgeLine(),
			DataDir: node.DataDir, Torrc: filepath.Join(node.DataDir, torrcFile), Log: filepath.Join(node.DataDir, noticeLogFile),
			TorBinary: node.TorBinary,
		}
		if g := node.Cgroup; g != nil {
			nd.Cgroups, nd.CPUQuotaCores, nd.MemoryLimitBytes = g.Paths(), g.Limits().CPU, g.Limits().MemoryBytes
		}
		if p := node.proc; p != nil {
			nd.PID, nd.ControlAddr, nd.CookiePath = p.PID(), p.ControlAddr, p.CookiePath
		}
		d.Nodes = append(d.Nodes, nd)
	}
	if c := n.Client; c != nil {
		nd := NodeDescription{
			Role: RoleClient, Nickname: c.Name, SocksAddr: c.SocksAddr, DataDir: c.Process.DataDir,
			Torrc: filepath.Join(c.Process.DataDir, torrcFile), Log: filepath.Join(c.Process.DataDir, noticeLogFile),
			PID: c.Process.PID(), ControlAddr: c.Process.ControlAddr, CookiePath: c.Process.CookiePath,
		}
		if c.MetricsPort != 0 {
			nd.MetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort)
		}
		d.Nodes = append(d.Nodes, nd)
	}
	return d
}

// writeDescription writes network.json atomically.
func (n *Network) writeDescription(state State, cause error) error {
	data, err := json.MarshalIndent(n.Describe(state, cause), "", "  ")
	if err != nil {
		return err
	}
	return rundir.WriteFileAtomic(filepath.Join(n.Dir, DescriptionFile), append(data, '\n'), 0o600)
}

// ReadDescription reads dir/network.json.
func ReadDescription(dir string) (*Description, error) {
	data, err := os.ReadFile(filepath.Join(dir, DescriptionFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no test network in %s (no %s): start one with `relaybench testnet up --dir %s`: %w", dir, DescriptionFile, dir, err)
		}
		return nil, err
	}
	var d Description
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, DescriptionFile), err)
	}
	return &d, nil
}

// Node returns the first node with the given role, or nil.
func (d *Description) Node(role Role) *NodeDescription {
	for i := range d.Nodes {
		if d.Nodes[i].Role == role {
			return &d.Nodes[i]
		}
	}
	return nil
}

// AlivePIDs returns the PIDs of the network's tor processes that still run.
// A PID counts only if its command line names the node's data dir, so a PID
// reused by an unrelated process is never reported (or signalled).
func (d *Description) AlivePIDs() []int {
	var out []int
	for _, nd := range d.Nodes {
		if nd.PID > 0 && isOurTor(nd.PID, nd.DataDir) {
			out = append(out, nd.PID)
		}
	}
	return out
}

// KillRemaining sends SIGKILL to every tor process of the network that still
// runs, for `testnet down` when the owner did not stop them itself.
func (d *Description) KillRemaining() []int {
	alive := d.AlivePIDs()
	for _, pid := range alive {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return alive
}
