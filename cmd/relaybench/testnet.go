package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/chutney/cgroup"
	"github.com/relaybench/relaybench/scenarios"
)

// defaultTestnetDir is where `testnet up` puts a network without --dir.
func defaultTestnetDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-testnet-%d", os.Getuid()))
}

const testnetUsage = `usage: relaybench testnet up|status|down|smoke [flags]

  up      start the embedded test network and leave it running
  status  show a running network's nodes
  down    stop a network and every tor process it started
  smoke   start a network, prove bridge and entry downloads, stop it
`

func runTestnet(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, testnetUsage)
		return usagef("testnet: no subcommand given")
	}
	switch args[0] {
	case "up":
		return testnetUp(args[1:], stdout, stderr)
	case "serve":
		return testnetServe(args[1:], stdout, stderr)
	case "status":
		return testnetStatus(args[1:], stdout, stderr)
	case "down":
		return testnetDown(args[1:], stdout, stderr)
	case "smoke":
		return testnetSmoke(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, testnetUsage)
		return nil
	default:
		fmt.Fprint(stderr, testnetUsage)
		return usagef("testnet: unknown subcommand %q", args[0])
	}
}

// setFlag collects repeated --set node.Option=Value flags.
type setFlag []chutney.TorrcOption

func (s *setFlag) String() string {
	var parts []string
	for _, o := range *s {
		parts = append(parts, "target."+o.Key+"="+o.Value)
	}
	return strings.Join(parts, ",")
}

func (s *setFlag) Set(v string) error {
	node, opt, ok := strings.Cut(v, ".")
	if !ok || node != "target" {
		return fmt.Errorf("want target.Option=Value (only the relay under test takes overrides), e.g. target.BandwidthRate=2MBytes")
	}
	o, err := chutney.ParseTorrcOption(opt)
	if err != nil {
		return err
	}
	*s = append(*s, o)
	return nil
}

// networkFlags are the flags that shape a network, shared by up, serve and smoke.
type networkFlags struct {
	dir      string
	set      setFlag
	nofile   uint64
	exits    int
	middles  int
	timeout  time.Duration
	lifetime time.Duration

	// The target's confinement and tor build (see chutney.ShapeOptions).
	cpu    float64
	memory memoryFlag
	tor    string
}

// memoryFlag is a byte size flag, e.g. --memory "512 MiB".
type memoryFlag scenarios.ByteSize

func (m *memoryFlag) String() string { return scenarios.ByteSize(*m).String() }

func (m *memoryFlag) Set(v string) error {
	b, err := scenarios.ParseByteSize(v)
	if err != nil {
		return err
	}
	*m = memoryFlag(b)
	return nil
}

func (nf *networkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&nf.dir, "dir", defaultTestnetDir(), "network directory (network.json, node data dirs)")
	fs.Var(&nf.set, "set", "torrc override for the relay under test, as target.Option=Value (repeatable), e.g. target.BandwidthRate=2MBytes")
	fs.Uint64Var(&nf.nofile, "nofile", 0, "open-files limit (ulimit -n) of the relay under test (0: inherit)")
	fs.IntVar(&nf.exits, "exits", 1, "number of exit relays")
	fs.IntVar(&nf.middles, "middles", 1, "number of middle relays besides the target")
	fs.DurationVar(&nf.timeout, "timeout", 120*time.Second, "how long to wait for the network to be proven ready")
	fs.DurationVar(&nf.lifetime, "max-lifetime", 8*time.Hour, "stop the network after this long even if nobody runs `testnet down`")
	fs.Float64Var(&nf.cpu, "cpu", 0, "confine the relay under test to this many cores with a cgroup CPU quota, e.g. 0.25 (needs root; 0: unconfined)")
	fs.Var(&nf.memory, "memory", "memory limit of the relay under test (cgroup), e.g. \"512 MiB\" (needs root; 0: none)")
	fs.StringVar(&nf.tor, "tor", "", "tor executable of the relay under test, e.g. a build to test (default: tor from PATH, like the rest of the network)")
}

func (nf *networkFlags) args() []string {
	a := []string{"--dir", nf.dir, "--nofile", fmt.Sprint(nf.nofile), "--exits", fmt.Sprint(nf.exits),
		"--middles", fmt.Sprint(nf.middles), "--timeout", nf.timeout.String(), "--max-lifetime", nf.lifetime.String()}
	for _, o := range nf.set {
		a = append(a, "--set", "target."+o.Key+"="+o.Value)
	}
	a = append(a, "--cpu", fmt.Sprint(nf.cpu), "--memory", fmt.Sprint(int64(nf.memory)), "--tor", nf.tor)
	return a
}

func (nf *networkFlags) options(progress io.Writer) []chutney.Option {
	opts := []chutney.Option{
		chutney.WithExits(nf.exits), chutney.WithMiddles(nf.middles),
		chutney.WithReadyTimeout(nf.timeout), chutney.WithProgress(progress),
		chutney.WithTargetTorrc(nf.set...),
	}
	if nf.nofile > 0 {
		opts = append(opts, chutney.WithTargetNofile(nf.nofile))
	}
	return append(opts, chutney.ShapeOptions(&scenarios.TestnetTarget{CPU: nf.cpu, Memory: scenarios.ByteSize(nf.memory), Tor: nf.tor})...)
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // usage printed; the caller stops, main exits 0
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// testnetUp starts the network owned by a detached `testnet serve` process
// (or, with --foreground, by this process until Ctrl-C) and prints how to
// use and stop it.
func testnetUp(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet up", stderr)
	var nf networkFlags
	nf.register(fs)
	foreground := fs.Bool("foreground", false, "keep the network in this process until Ctrl-C instead of detaching")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *foreground {
		return serveNetwork(&nf, stdout, stdout, true)
	}
	if err := os.MkdirAll(nf.dir, 0o700); err != nil {
		return err
	}
	if d, err := chutney.ReadDescription(nf.dir); err == nil && len(d.AlivePIDs()) > 0 {
		return usagef("a network is already running in %s: use it, stop it with `relaybench testnet down --dir %s`, or pick another --dir", nf.dir, nf.dir)
	}
	// Ctrl-C while waiting stops the owner, which stops every tor.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("interrupted by %v", s))
		case <-ctx.Done():
		}
	}()
	d, err := chutney.StartOwner(ctx, nf.dir, append([]string{"testnet", "serve"}, nf.args()...), stderr)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: network stopped", err)
		}
		return err
	}
	printNetwork(stdout, d)
	return nil
}

// testnetServe is the detached owner that `testnet up` starts.
func testnetServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet serve", stderr)
	var nf networkFlags
	nf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return serveNetwork(&nf, stdout, stdout, false)
}

// serveNetwork starts a network and keeps it until a signal or the maximum
// lifetime; the network is stopped on every way out, panics included.
func serveNetwork(nf *networkFlags, stdout, progress io.Writer, printInfo bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	net, err := chutney.Start(ctx, nf.dir, nf.options(progress)...)
	if err != nil {
		return err
	}
	defer net.Stop()
	if printInfo {
		d := net.Describe(chutney.StateReady, nil)
		printNetwork(stdout, &d)
		fmt.Fprintln(stdout, "Press Ctrl-C to stop it.")
	}
	return net.Serve(ctx, nf.lifetime, progress)
}

// targetBuildAndConfinement describes the target's own tor build and its
// cgroup limits; each is "" when the target has none.
func targetBuildAndConfinement(d *chutney.Description, target *chutney.NodeDescription) (tor, confined string) {
	if exit := d.Node(chutney.RoleExit); exit != nil && target.TorBinary != exit.TorBinary {
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

// printTargetExtras writes the target's tor build and confinement lines.
func printTargetExtras(w io.Writer, d *chutney.Description, target *chutney.NodeDescription) {
	tor, confined := targetBuildAndConfinement(d, target)
	if tor != "" {
		fmt.Fprintf(w, "  tor\t%s\n", tor)
	}
	if confined != "" {
		fmt.Fprintf(w, "  confined to\t%s\n", confined)
	}
}

func printNetwork(w io.Writer, d *chutney.Description) {
	target := d.Node(chutney.RoleTarget)
	client := d.Node(chutney.RoleClient)
	fmt.Fprintf(w, "test network ready in %.1f s (%s, dir %s)\n\n", d.ReadySeconds, d.TorVersion, d.Dir)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "relay under test\t%s\n", target.Nickname)
	fmt.Fprintf(tw, "  fingerprint\t%s\n", target.Fingerprint)
	fmt.Fprintf(tw, "  MetricsPort\t%s\n", target.MetricsURL)
	fmt.Fprintf(tw, "  bridge line\tBridge %s\n", target.BridgeLine)
	fmt.Fprintf(tw, "  control port\t%s (cookie %s)\n", target.ControlAddr, target.CookiePath)
	printTargetExtras(tw, d, target)
	if client != nil {
		fmt.Fprintf(tw, "client (target as bridge)\tSocksPort %s\n", client.SocksAddr)
		fmt.Fprintf(tw, "  try\tcurl --proxy socks5h://$RANDOM:x@%s http://127.0.0.1:PORT/ (loopback destinations only)\n", client.SocksAddr)
	}
	fmt.Fprintf(tw, "network.json\t%s\n", filepath.Join(d.Dir, chutney.DescriptionFile))
	tw.Flush()
	fmt.Fprintf(w, "\nstop it with: relaybench testnet down --dir %s\n", d.Dir)
}

// readNetworkDir parses a subcommand's --dir flag and reads that
// network's description.
func readNetworkDir(name string, args []string, stderr io.Writer) (*chutney.Description, error) {
	fs := newFlagSet(name, stderr)
	dir := fs.String("dir", defaultTestnetDir(), "network directory")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	d, err := chutney.ReadDescription(*dir)
	if err != nil {
		return nil, usageError{err}
	}
	return d, nil
}

func testnetStatus(args []string, stdout, stderr io.Writer) error {
	d, err := readNetworkDir("testnet status", args, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "network in %s: state %s, owner pid %d, %s\n", d.Dir, d.State, d.OwnerPID, d.TorVersion)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tNICKNAME\tPID\tRUNNING\tORPORT\tSOCKS\tMETRICSPORT\tFINGERPRINT")
	running := 0
	for _, n := range d.Status() {
		if n.Running {
			running++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\t%s\t%s\t%s\n", n.Role, n.Nickname, n.PID, n.Running,
			orDash(n.ORPort), strDash(n.SocksAddr), strDash(n.Metrics), strDash(n.Fingerprint))
	}
	tw.Flush()
	if target := d.Node(chutney.RoleTarget); target != nil {
		if tor, confined := targetBuildAndConfinement(d, target); tor != "" || confined != "" {
			tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "relay under test %s\n", target.Nickname)
			printTargetExtras(tw, d, target)
			tw.Flush()
		}
	}
	if d.State == chutney.StateReady && running != len(d.Nodes) {
		return fmt.Errorf("%d of %d tor processes are not running: stop the rest with `relaybench testnet down --dir %s`", len(d.Nodes)-running, len(d.Nodes), d.Dir)
	}
	return nil
}

func orDash(p int) string {
	if p == 0 {
		return "-"
	}
	return fmt.Sprint(p)
}

func strDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// testnetDown asks the owner process to stop the network, waits, and kills
// whatever tor process of the network is left.
func testnetDown(args []string, stdout, stderr io.Writer) error {
	d, err := readNetworkDir("testnet down", args, stderr)
	if err != nil {
		return err
	}
	ran, killed, err := d.Shutdown()
	if err != nil {
		return err
	}
	// An owner that was SIGKILLed could not remove the target's cgroup.
	for _, g := range cgroup.RemoveStale() {
		fmt.Fprintf(stdout, "removed cgroup %s left by a stopped network\n", g)
	}
	fmt.Fprintf(stdout, "test network in %s stopped (%d tor processes ended", d.Dir, ran)
	if killed > 0 {
		fmt.Fprintf(stdout, ", %d of them killed", killed)
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

func runVersion(stdout io.Writer) error {
	fmt.Fprintln(stdout, "relaybench (development build)")
	out, err := exec.Command("tor", "--version").Output()
	if err != nil {
		fmt.Fprintln(stdout, "tor: not found (install it: scripts/setup.sh)")
		return nil
	}
	first, _, _ := strings.Cut(string(out), "\n")
	fmt.Fprintln(stdout, "tor:", strings.TrimSpace(first))
	return nil
}
