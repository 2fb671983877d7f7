package chutney

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/scenarios"
)

// Config is what shapes a network started from the command line
// (`relaybench testnet up|serve|smoke`): its size, its readiness timeout
// and lifetime, and the relay under test's torrc overrides, open-files
// limit, confinement and tor build. Its flags are defined here
// (RegisterFlags), next to Args, which must give them back.
type Config struct {
	Dir      string
	Target   TargetOverrides
	Nofile   uint64
	Exits    int
	Middles  int
	Timeout  time.Duration
	Lifetime time.Duration
	// CPU, Memory and Tor are the target's confinement and tor build
	// (see ShapeOptions).
	CPU    float64
	Memory scenarios.ByteSize
	Tor    string
}

// Options are the Start options of c; progress receives Start's progress.
func (c *Config) Options(progress io.Writer) []Option {
	opts := []Option{
		WithExits(c.Exits), WithMiddles(c.Middles),
		WithReadyTimeout(c.Timeout), WithProgress(progress),
		WithTargetTorrc(c.Target...),
	}
	if c.Nofile > 0 {
		opts = append(opts, WithTargetNofile(c.Nofile))
	}
	return append(opts, ShapeOptions(&scenarios.TestnetTarget{CPU: c.CPU, Memory: c.Memory, Tor: c.Tor})...)
}

// RegisterFlags defines the command-line flags that set c on fs, with
// their defaults; Args writes them back.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Dir, "dir", DefaultDir(), "network directory (network.json, node data dirs)")
	fs.Var(&c.Target, "set", "torrc override for the relay under test, as target.Option=Value (repeatable), e.g. target.BandwidthRate=2MBytes")
	fs.Uint64Var(&c.Nofile, "nofile", 0, "open-files limit (ulimit -n) of the relay under test (0: inherit)")
	fs.IntVar(&c.Exits, "exits", 1, "number of exit relays")
	fs.IntVar(&c.Middles, "middles", 1, "number of middle relays besides the target")
	fs.DurationVar(&c.Timeout, "timeout", 120*time.Second, "how long to wait for the network to be proven ready")
	fs.DurationVar(&c.Lifetime, "max-lifetime", 8*time.Hour, "stop the network after this long even if nobody runs `testnet down`")
	fs.Float64Var(&c.CPU, "cpu", 0, "confine the relay under test to this many cores with a cgroup CPU quota, e.g. 0.25 (needs root; 0: unconfined)")
	fs.TextVar(&c.Memory, "memory", scenarios.ByteSize(0), "memory limit of the relay under test (cgroup), e.g. \"512 MiB\" (needs root; 0: none)")
	fs.StringVar(&c.Tor, "tor", "", "tor executable of the relay under test, e.g. a build to test (default: tor from PATH, like the rest of the network)")
}

// Args are the command-line flags (RegisterFlags) that give an owner
// process (StartOwner) the same c.
func (c *Config) Args() []string {
	a := []string{"--dir", c.Dir, "--nofile", fmt.Sprint(c.Nofile), "--exits", fmt.Sprint(c.Exits),
		"--middles", fmt.Sprint(c.Middles), "--timeout", c.Timeout.String(), "--max-lifetime", c.Lifetime.String()}
	for _, o := range c.Target {
		a = append(a, "--set", "target."+o.Key+"="+o.Value)
	}
	return append(a, "--cpu", fmt.Sprint(c.CPU), "--memory", fmt.Sprint(int64(c.Memory)), "--tor", c.Tor)
}

// StartOwner starts the network c describes owned by a detached process
// that runs this program with command and c's flags (Args), as StartOwner
// does. A dir in which tor processes of an earlier network still run (its
// owner was killed, say) is refused with an error wrapping ErrInUse.
func (c *Config) StartOwner(ctx context.Context, command []string, progress io.Writer) (*Description, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	if d, err := ReadDescription(c.Dir); err == nil && len(d.AlivePIDs()) > 0 {
		return nil, stillRunningError{c.Dir}
	}
	return StartOwner(ctx, c.Dir, append(slices.Clone(command), c.Args()...), progress)
}

// stillRunningError is the error of a dir in which a network's tor
// processes still run: the dir is in use.
type stillRunningError struct{ dir string }

func (e stillRunningError) Error() string {
	return fmt.Sprintf("a network is already running in %s: use it, stop it with `relaybench testnet down --dir %s`, or pick another --dir", e.dir, e.dir)
}

func (e stillRunningError) Unwrap() error { return ErrInUse }

// Serve starts the network c describes and keeps it until ctx ends or
// c.Lifetime passes (Network.Serve), stopping it on every way out, panics
// included; its progress goes to w. In the foreground (`testnet up
// --foreground`) it first writes to w how to use the ready network
// (WriteReady) and that Ctrl-C stops it; the detached owner that `testnet
// up` starts (`testnet serve`) has no one to tell.
func (c *Config) Serve(ctx context.Context, w io.Writer, foreground bool) error {
	net, err := Start(ctx, c.Dir, c.Options(w)...)
	if err != nil {
		return err
	}
	defer net.Stop()
	if foreground {
		d := net.Describe(StateReady, nil)
		if err := d.WriteReady(w); err != nil {
			return err
		}
		fmt.Fprintln(w, "Press Ctrl-C to stop it.")
	}
	return net.Serve(ctx, c.Lifetime, w)
}

// TargetOverrides are torrc overrides of the relay under test, given as
// target.Option=Value (a flag.Value: each Set adds one).
type TargetOverrides []TorrcOption

func (s *TargetOverrides) String() string {
	var parts []string
	for _, o := range *s {
		parts = append(parts, "target."+o.Key+"="+o.Value)
	}
	return strings.Join(parts, ",")
}

// Set adds one override, target.Option=Value; only the relay under test
// takes overrides.
func (s *TargetOverrides) Set(v string) error {
	node, opt, ok := strings.Cut(v, ".")
	if !ok || node != "target" {
		return fmt.Errorf("want target.Option=Value (only the relay under test takes overrides), e.g. target.BandwidthRate=2MBytes")
	}
	o, err := ParseTorrcOption(opt)
	if err != nil {
		return err
	}
	*s = append(*s, o)
	return nil
}

// TargetExtras describes the target's own tor build and its cgroup
// limits; each is "" when the target has none (it runs the network's tor,
// unconfined).
func (d *Description) TargetExtras(target *NodeDescription) (tor, confined string) {
	if exit := d.Node(RoleExit); exit != nil && target.TorBinary != exit.TorBinary {
		tor = fmt.Sprintf("%s (%s)", target.TorBinary, d.TargetTorVersion)
	}
	if len(target.Cgroups) == 0 {
		return tor, ""
	}
	var limits []string
	if target.CPUQuotaCores > 0 {
		limits = append(limits, fmt.Sprintf("%g cores", target.CPUQuotaCores))
	}
	if target.MemoryLimitBytes > 0 {
		limits = append(limits, scenarios.ByteSize(target.MemoryLimitBytes).String())
	}
	return tor, fmt.Sprintf("%s in cgroup %s", strings.Join(limits, " and "), strings.Join(target.Cgroups, " and "))
}

// Problem says what is wrong with the described network given its
// current state (CurrentState) and its nodes' status (Status): its owner
// is gone, or some of a ready network's tor processes are not running;
// nil when nothing is.
func (d *Description) Problem(state State, status []NodeStatus) error {
	if state == StateOrphaned {
		return fmt.Errorf("the network's owner process %d is gone (network.json said %s): its tor processes exit without it; stop what is left with `relaybench testnet down --dir %s`", d.OwnerPID, d.State, d.Dir)
	}
	running := 0
	for _, n := range status {
		if n.Running {
			running++
		}
	}
	if d.State == StateReady && running != len(d.Nodes) {
		return fmt.Errorf("%d of %d tor processes are not running: stop the rest with `relaybench testnet down --dir %s`", len(d.Nodes)-running, len(d.Nodes), d.Dir)
	}
	return nil
}
