package chutney

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/relaybench/relaybench/chutney/cgroup"
)

// Role is what a node does in the network.
type Role string

// The roles of the embedded network's nodes.
const (
	RoleAuthority Role = "authority"
	RoleExit      Role = "exit"
	RoleMiddle    Role = "middle"
	// RoleTarget is the relay under test.
	RoleTarget Role = "target"
	// RoleClient is the network's own tor client, which proves readiness and
	// which a user can point curl at.
	RoleClient Role = "client"
)

// Node is one relay of a running network.
type Node struct {
	Role        Role
	Nickname    string
	Fingerprint string
	// V3Ident is the authority's v3 identity (authorities only).
	V3Ident     string
	ORPort      int
	DirPort     int
	MetricsPort int
	DataDir     string
	Torrc       []TorrcOption
	// TorBinary is the tor executable the node runs (a path or a name
	// looked up in PATH).
	TorBinary string
	// Cgroup confines the node's tor process (the target, when
	// WithTargetCPU or WithTargetMemory is given); nil otherwise. Its
	// Stat is the evidence that the quota held the relay back.
	Cgroup *cgroup.Group

	proc *TorProcess
}

// MetricsURL is the node's MetricsPort URL.
func (n *Node) MetricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", n.MetricsPort)
}

// Process is the node's tor process (nil before start).
func (n *Node) Process() *TorProcess { return n.proc }

// BridgeLine is the value of a client's Bridge option for this node.
func (n *Node) BridgeLine() string {
	return fmt.Sprintf("127.0.0.1:%d %s", n.ORPort, n.Fingerprint)
}

// Option configures Start.
type Option func(*config)

type config struct {
	torPath, gencertPath string
	exits, middles       int
	targetTorrc          []TorrcOption
	targetNofile         uint64
	targetLimits         cgroup.Limits
	targetTorPath        string
	readyTimeout         time.Duration
	readyBytes           int64
	progress             io.Writer
	// consensusParams override LiveConsensusParams (WithConsensusParams).
	consensusParams map[string]int
}

// WithTorBinary sets the tor and tor-gencert executables (default: from PATH).
func WithTorBinary(tor, torGencert string) Option {
	return func(c *config) { c.torPath, c.gencertPath = tor, torGencert }
}

// WithExits sets the number of exit relays (default 1, at least 1).
func WithExits(n int) Option { return func(c *config) { c.exits = n } }

// WithMiddles sets the number of middle relays besides the target (default 1,
// at least 1).
func WithMiddles(n int) Option { return func(c *config) { c.middles = n } }

// WithTargetTorrc adds torrc overrides for the relay under test, e.g.
// BandwidthRate, BandwidthBurst, MaxMemInQueues, NumCPUs, ConnLimit. Each
// replaces any default line of the same option.
func WithTargetTorrc(opts ...TorrcOption) Option {
	return func(c *config) { c.targetTorrc = append(c.targetTorrc, opts...) }
}

// WithTargetNofile sets the open-files limit of the target's tor process, as
// `ulimit -n` would for a relay operator's daemon.
func WithTargetNofile(n uint64) Option { return func(c *config) { c.targetNofile = n } }

// WithTargetCPU confines the target's tor process to a CPU quota of cores
// (0.25 = a quarter of one core) in a cgroup of its own, so that the relay
// under test, not the machine or the rest of the network, is the limit. It
// needs write access to the cgroup file system (root); Start fails with a
// message naming the path otherwise. 0 is no quota.
func WithTargetCPU(cores float64) Option { return func(c *config) { c.targetLimits.CPU = cores } }

// WithTargetMemory limits the memory of the target's tor process (in its
// cgroup, like WithTargetCPU). 0 is no limit.
func WithTargetMemory(bytes int64) Option {
	return func(c *config) { c.targetLimits.MemoryBytes = bytes }
}

// WithTargetTor runs the relay under test with another tor executable than
// the rest of the network (WithTorBinary), e.g. a build under test; "" is
// the network's tor.
func WithTargetTor(path string) Option { return func(c *config) { c.targetTorPath = path } }

// WithReadyTimeout bounds the wait for a proven-ready network (default 120 s).
func WithReadyTimeout(d time.Duration) Option { return func(c *config) { c.readyTimeout = d } }

// WithProgress makes Start report its stages ("keys", "started", "ready") to w.
func WithProgress(w io.Writer) Option { return func(c *config) { c.progress = w } }

// Network is a running embedded test network.
type Network struct {
	// Dir holds network.json and one data directory per node under nodes/.
	Dir string
	// Nodes are the relays in start order: authorities, exits, middles, target.
	Nodes []*Node
	// DirAuthorities are the DirAuthority torrc values a client needs.
	DirAuthorities []string
	// Client is the network's own tor client, using the target as its bridge.
	Client *Client
	// ReadyIn is how long Start took from its call to proven readiness.
	ReadyIn time.Duration
	// TorVersion is what `tor --version` printed first.
	TorVersion string
	// TargetTorVersion is the same for the target's tor (WithTargetTor).
	TargetTorVersion string
	// ConsensusParams are the consensus parameters the authorities vote:
	// LiveConsensusParams with WithConsensusParams' overrides.
	ConsensusParams map[string]int

	cfg       config
	startedAt time.Time
	stopOnce  sync.Once
	// lock is the flock on the dir's LockFile, held until Stop.
	lock *os.File
}

// Target is the relay under test.
func (n *Network) Target() *Node { return n.byRole(RoleTarget)[0] }

// Exits are the exit relays.
func (n *Network) Exits() []*Node { return n.byRole(RoleExit) }

func (n *Network) byRole(r Role) []*Node {
	var out []*Node
	for _, node := range n.Nodes {
		if node.Role == r {
			out = append(out, node)
		}
	}
	return out
}

// Start creates and starts a network in dir and returns once it is proven
// ready: the network's client built a circuit through the target and an exit
// and fetched bytes over it. On any failure every process already started is
// stopped before Start returns. The caller must call Stop.
func Start(ctx context.Context, dir string, opts ...Option) (_ *Network, err error) {
	cfg := config{exits: 1, middles: 1, readyTimeout: 120 * time.Second, readyBytes: 256 << 10, progress: io.Discard}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.exits < 1 || cfg.middles < 1 {
		return nil, fmt.Errorf("the network needs at least 1 exit and 1 middle relay (got %d exits, %d middles)", cfg.exits, cfg.middles)
	}
	if cfg.torPath == "" {
		cfg.torPath = "tor"
	}
	if cfg.gencertPath == "" {
		cfg.gencertPath = "tor-gencert"
	}
	if cfg.targetTorPath == "" {
		cfg.targetTorPath = cfg.torPath
	}
	params, err := consensusParams(cfg.consensusParams)
	if err != nil {
		return nil, err
	}
	// tor runs in its data dir and reads paths from its torrc: a relative
	// dir would be resolved twice.
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("network dir: %w", err)
	}
	net := &Network{Dir: dir, cfg: cfg, startedAt: time.Now(), ConsensusParams: params}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create network dir: %w", err)
	}
	if net.lock, err = lockDir(dir); err != nil {
		return nil, err
	}
	if err := net.prepareDir(); err != nil {
		net.lock.Close()
		return nil, err
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			// Interrupted (Ctrl-C, a signal): not a failure to diagnose.
			err = fmt.Errorf("the test network in %s was stopped while it started: %w", dir, context.Cause(ctx))
		}
		if err != nil {
			net.Stop()
			net.writeDescription(StateFailed, err)
		}
	}()
	if net.TorVersion, err = torVersion(ctx, cfg.torPath); err != nil {
		return nil, err
	}
	net.TargetTorVersion = net.TorVersion
	if cfg.targetTorPath != cfg.torPath {
		if net.TargetTorVersion, err = torVersion(ctx, cfg.targetTorPath); err != nil {
			return nil, fmt.Errorf("the target's tor: %w", err)
		}
	}
	ports := newPortReservation()
	defer ports.releaseAll()
	if err := net.plan(ports); err != nil {
		return nil, err
	}
	// Groups left by a harness that was SIGKILLed go first, confined or not.
	cgroup.RemoveStale()
	if err := net.confineTarget(); err != nil {
		return nil, err
	}
	if err := net.makeKeys(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.progress, "keys made for %d relays in %s\n", len(net.Nodes), time.Since(net.startedAt).Round(time.Millisecond))
	net.writeDescription(StateStarting, nil)
	if err := net.startRelays(ctx, ports); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.progress, "%d tor relays started in %s\n", len(net.Nodes), time.Since(net.startedAt).Round(time.Millisecond))
	readyCtx, cancel := context.WithTimeout(ctx, cfg.readyTimeout)
	defer cancel()
	if err := net.proveReady(readyCtx); err != nil {
		return nil, err
	}
	net.ReadyIn = time.Since(net.startedAt)
	fmt.Fprintf(cfg.progress, "network ready in %s\n", net.ReadyIn.Round(time.Millisecond))
	net.relaxVoting()
	if err := net.writeDescription(StateReady, nil); err != nil {
		return nil, err
	}
	return net, nil
}

// prepareDir creates dir (0700) and clears node directories left by an
// earlier network, refusing if that network still runs.
func (n *Network) prepareDir() error {
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return fmt.Errorf("create network dir: %w", err)
	}
	if err := os.Chmod(n.Dir, 0o700); err != nil {
		return fmt.Errorf("network dir: %w", err)
	}
	if d, err := ReadDescription(n.Dir); err == nil {
		if alive := d.AlivePIDs(); len(alive) > 0 {
			return fmt.Errorf("a network is still running in %s (tor pids %v): stop it with `relaybench testnet down --dir %s` or choose another --dir", n.Dir, alive, n.Dir)
		}
	}
	if err := os.RemoveAll(filepath.Join(n.Dir, "nodes")); err != nil {
		return fmt.Errorf("clear old node dirs: %w", err)
	}
	return nil
}

// plan names the nodes and picks their ports.
func (n *Network) plan(ports *portReservation) error {
	add := func(role Role, nick string) error {
		node := &Node{Role: role, Nickname: nick, DataDir: filepath.Join(n.Dir, "nodes", nick), TorBinary: n.cfg.torPath}
		if role == RoleTarget {
			node.TorBinary = n.cfg.targetTorPath
		}
		var err error
		if node.ORPort, err = ports.pick(); err != nil {
			return err
		}
		if node.DirPort, err = ports.pick(); err != nil {
			return err
		}
		if node.MetricsPort, err = ports.pick(); err != nil {
			return err
		}
		if err := os.MkdirAll(node.DataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir of %s: %w", nick, err)
		}
		n.Nodes = append(n.Nodes, node)
		return nil
	}
	for i := range 3 {
		if err := add(RoleAuthority, fmt.Sprintf("rbauth%d", i)); err != nil {
			return err
		}
	}
	for i := range n.cfg.exits {
		if err := add(RoleExit, fmt.Sprintf("rbexit%d", i)); err != nil {
			return err
		}
	}
	for i := range n.cfg.middles {
		if err := add(RoleMiddle, fmt.Sprintf("rbmiddle%d", i)); err != nil {
			return err
		}
	}
	return add(RoleTarget, "rbtarget")
}

// makeKeys creates authority keys with tor-gencert and every relay's identity
// with `tor --list-fingerprint`, all in parallel (RSA key generation is the
// slow part and the machine has more than one core).
func (n *Network) makeKeys(ctx context.Context) error {
	errs := make([]error, len(n.Nodes))
	var wg sync.WaitGroup
	for i, node := range n.Nodes {
		wg.Go(func() { errs[i] = n.makeNodeKeys(ctx, node) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, node := range n.Nodes {
		if node.Role == RoleAuthority {
			n.DirAuthorities = append(n.DirAuthorities, fmt.Sprintf("%s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
				node.Nickname, node.ORPort, node.V3Ident, node.DirPort, node.Fingerprint))
		}
	}
	return nil
}

func (n *Network) makeNodeKeys(ctx context.Context, node *Node) error {
	if node.Role == RoleAuthority {
		keys := filepath.Join(node.DataDir, "keys")
		if err := os.MkdirAll(keys, 0o700); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, n.cfg.gencertPath, "--create-identity-key", "-m", "12",
			"-a", fmt.Sprintf("127.0.0.1:%d", node.DirPort), "--passphrase-fd", "0")
		cmd.Dir = keys
		cmd.Stdin = strings.NewReader("\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("tor-gencert for %s: %w: %s (is tor installed? run scripts/setup.sh)", node.Nickname, err, bytes.TrimSpace(out))
		}
		cert, err := os.ReadFile(filepath.Join(keys, "authority_certificate"))
		if err != nil {
			return fmt.Errorf("tor-gencert for %s wrote no certificate: %w", node.Nickname, err)
		}
		for line := range strings.SplitSeq(string(cert), "\n") {
			if fp, ok := strings.CutPrefix(line, "fingerprint "); ok {
				node.V3Ident = strings.TrimSpace(fp)
			}
		}
		if node.V3Ident == "" {
			return fmt.Errorf("no fingerprint line in %s's authority certificate", node.Nickname)
		}
	}
	args := append([]string{"--list-fingerprint", "--ignore-missing-torrc"}, torConfigArgs(node.DataDir)...)
	cmd := exec.CommandContext(ctx, node.TorBinary, append(args, "--DataDirectory", node.DataDir, "--ORPort", fmt.Sprint(node.ORPort), "--Nickname", node.Nickname)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tor --list-fingerprint for %s: %w: %s", node.Nickname, err, lastLine(out))
	}
	fp, err := os.ReadFile(filepath.Join(node.DataDir, "fingerprint"))
	if err != nil {
		return fmt.Errorf("tor --list-fingerprint for %s wrote no fingerprint: %w", node.Nickname, err)
	}
	fields := strings.Fields(string(fp))
	if len(fields) != 2 || len(fields[1]) != 40 {
		return fmt.Errorf("unexpected fingerprint file for %s: %q", node.Nickname, fp)
	}
	node.Fingerprint = fields[1]
	return nil
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// authorityFlagGuarantees make the authorities give the target every flag
// an EntryNodes client needs of its guard (node_is_possible_guard: Guard,
// Stable, Fast, V2Dir; Guard comes from TestingDirAuthVoteGuard *), however
// little it was used. The chutney network's authority template carries the
// same lines.
var authorityFlagGuarantees = []TorrcOption{
	// Stable goes to relays above the network's median uptime, so in a
	// network that started together a relay that restarted (the target,
	// when it refreshes its consensus) or published late on a busy machine
	// may never get it. Uptime >= 0 guarantees it.
	{Key: "AuthDirVoteStableGuaranteeMinUptime", Value: "0"},
	// Fast goes to relays at or above the 25th percentile of the
	// network's bandwidths while they are all below 37 KB/s (tor's
	// dirserv_compute_performance_thresholds), so in an idle network of
	// six the least used relay loses it, often the target between runs,
	// for as long as it stays the least used. A client whose EntryNodes is
	// the target then has no guard it may use and builds no circuit
	// ("Failed to find node for hop #1": CI, tor 0.4.9.11, target at
	// Bandwidth=2 against 6 to 12), and MiddleNodes finds no middle. A
	// guarantee under 1000 bytes a second makes the threshold 0: every
	// relay is Fast.
	{Key: "AuthDirFastGuarantee", Value: "1 byte"},
}

// relayTorrc builds a relay's torrc.
func (n *Network) relayTorrc(node *Node) *torrc {
	t := &torrc{}
	commonOptions(t, node.DataDir)
	testNetworkOptions(t, n.DirAuthorities)
	t.add("Nickname", node.Nickname)
	t.add("Address", "127.0.0.1")
	t.addf("ORPort", "127.0.0.1:%d", node.ORPort)
	t.addf("DirPort", "127.0.0.1:%d", node.DirPort)
	t.add("ContactInfo", "relaybench embedded test network")
	// Publish at once: every address here is loopback and reachable.
	t.add("AssumeReachable", "1")
	// Relays carry no local clients: without this each would try 9050.
	t.add("SocksPort", "0")
	metricsOptions(t, node.MetricsPort)
	switch node.Role {
	case RoleAuthority:
		t.add("AuthoritativeDirectory", "1")
		t.add("V3AuthoritativeDirectory", "1")
		t.lines = append(t.lines, authorityFlagGuarantees...)
		t.add("ConsensusParams", consensusParamsLine(n.ConsensusParams))
		t.add("ExitRelay", "0")
		t.add("ExitPolicy", "reject *:*")
	case RoleExit:
		// A policy accepting only 127.0.0.0/8 is invisible to
		// microdescriptor clients (tor 0.4.9.11: the microdescriptor policy
		// summary ignores private addresses), so the exit accepts *:* and the harness's
		// clients refuse non-loopback destinations themselves.
		t.add("ExitRelay", "1")
		t.add("ExitPolicyRejectPrivate", "0")
		t.add("ExitPolicy", "accept 127.0.0.0/8:*")
		t.add("ExitPolicy", "accept *:*")
		// Defence in depth: exit connections leave from 127.0.0.1, which the
		// kernel cannot route anywhere but loopback.
		t.add("OutboundBindAddressExit", "127.0.0.1")
		// No resolver: the exit never sends a DNS query off the machine.
		t.add("ServerDNSResolvConfFile", os.DevNull)
		t.add("ServerDNSDetectHijacking", "0")
		t.add("ServerDNSTestAddresses", "")
	default:
		t.add("ExitRelay", "0")
		t.add("ExitPolicy", "reject *:*")
	}
	if node.Role == RoleTarget {
		for _, o := range n.cfg.targetTorrc {
			t.set(o)
		}
	}
	return t
}

// startRelays writes every torrc and starts the relays, authorities first.
func (n *Network) startRelays(ctx context.Context, ports *portReservation) error {
	errs := make([]error, len(n.Nodes))
	var wg sync.WaitGroup
	for i, node := range n.Nodes {
		t := n.relayTorrc(node)
		node.Torrc = t.lines
		if err := t.write(filepath.Join(node.DataDir, torrcFile)); err != nil {
			return err
		}
		ports.release(node.ORPort, node.DirPort, node.MetricsPort)
		wg.Go(func() {
			node.proc, errs[i] = startTor(ctx, node.Nickname, node.DataDir, n.processOptions(node))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// processOptions are how node's tor process is started.
func (n *Network) processOptions(node *Node) processOptions {
	opts := processOptions{torPath: node.TorBinary, cgroup: node.Cgroup}
	if node.Role == RoleTarget {
		opts.nofile = n.cfg.targetNofile
	}
	return opts
}

// confineTarget creates the target's cgroup when a limit is asked for,
// before any key is made, so that a machine where it cannot be done fails
// in a second, not after bootstrap.
func (n *Network) confineTarget() error {
	if n.cfg.targetLimits == (cgroup.Limits{}) {
		return nil
	}
	target := n.Target()
	g, err := cgroup.New(target.Nickname, n.cfg.targetLimits)
	if err != nil {
		return err
	}
	target.Cgroup = g
	fmt.Fprintf(n.cfg.progress, "target confined in cgroup %s\n", strings.Join(g.Paths(), " and "))
	return nil
}

// Processes returns every running tor process of the network, client included.
func (n *Network) Processes() []*TorProcess {
	var out []*TorProcess
	for _, node := range n.Nodes {
		if node.proc != nil {
			out = append(out, node.proc)
		}
	}
	if n.Client != nil {
		out = append(out, n.Client.Process)
	}
	return out
}

// Stop ends every process of the network (clients first, then relays in
// parallel) and marks network.json stopped. Safe to call more than once.
func (n *Network) Stop() {
	n.stopOnce.Do(func() {
		if n.Client != nil {
			n.Client.Stop()
		}
		var wg sync.WaitGroup
		for _, node := range n.Nodes {
			if node.proc != nil {
				wg.Go(node.proc.Stop)
			}
		}
		wg.Wait()
		// Every process has exited and been reaped: the groups are empty.
		for _, node := range n.Nodes {
			if node.Cgroup != nil {
				if err := node.Cgroup.Remove(); err != nil {
					fmt.Fprintf(n.cfg.progress, "warning: %v\n", err)
				}
			}
		}
		n.writeDescription(StateStopped, nil)
		if n.lock != nil {
			n.lock.Close() // the dir is free for the next network
		}
	})
}

// Died returns a channel that receives the first node whose tor process
// exits while the network should be running.
func (n *Network) Died() <-chan *TorProcess {
	ch := make(chan *TorProcess, 1)
	for _, p := range n.Processes() {
		go func() {
			<-p.Exited()
			select {
			case ch <- p:
			default:
			}
		}()
	}
	return ch
}

func torVersion(ctx context.Context, torPath string) (string, error) {
	out, err := exec.CommandContext(ctx, torPath, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w (install tor: run scripts/setup.sh, or apt-get install tor)", torPath, err)
	}
	return strings.TrimSuffix(firstLine(out), "."), nil
}

func firstLine(out []byte) string {
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(first)
}
