package chutney

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cretz/bine/control"
	"golang.org/x/net/proxy"

	"github.com/relaybench/relaybench/scenarios"
)

// ClientConfig describes a tor client the harness starts.
type ClientConfig struct {
	// Name is used for messages and as the default data dir name.
	Name string
	// DataDir is the client's DataDirectory; created with mode 0700.
	DataDir string
	// Mode says how the client puts the relay under test on its circuits:
	// bridge (UseBridges 1 and Bridge ADDR:PORT FP, the first hop of every
	// circuit), entry (EntryNodes FP, the entry guard: it needs the Guard
	// flag, which the embedded network's authorities give everyone) or
	// middle (MiddleNodes FP, the second hop, so CREATE cells reach it from
	// a relay and its onionskin counters move).
	Mode scenarios.Role
	// Fingerprint is the relay under test's identity (entry and middle modes).
	Fingerprint string
	// BridgeLine is "ADDR:PORT FINGERPRINT" (bridge mode).
	BridgeLine string
	// DirAuthorities, when set, make this a client of a test network
	// (TestingTorNetwork 1 with these DirAuthority lines) whose streams may
	// only go to loopback addresses. Empty means the real Tor network.
	DirAuthorities []string
	// SourceAddress is the loopback address a client of a test network
	// connects to relays from: empty means ClientAddress, so that relays
	// see their load clients apart from each other, as on the live
	// network. RelayAddress (127.0.0.1) connects directly, from the
	// relays' own address. Ignored without DirAuthorities.
	SourceAddress string
	// MetricsPort, when non-zero, opens the client's MetricsPort on
	// 127.0.0.1 so the harness can watch its own load generator.
	MetricsPort int
	// Torrc holds extra options; each replaces default lines of its option.
	Torrc []TorrcOption
	// TorPath is the tor binary (default "tor" from PATH).
	TorPath string
	// ExitNodes and MiddleNodes, when set, confine the exit and middle
	// hops of the client's circuits to these fingerprints (the scenario's
	// target.relay.exit_nodes and middle_nodes): ExitNodes and MiddleNodes
	// lines with StrictNodes 1. MiddleNodes is refused in middle mode,
	// where the relay under test is the middle.
	ExitNodes, MiddleNodes []string
}

// Client is a running tor client.
type Client struct {
	// Name is the client's name.
	Name string
	// Mode is how it uses the relay under test.
	Mode scenarios.Role
	// Process is its tor process.
	Process *TorProcess
	// SocksAddr is the SocksPort tor chose (IsolateSOCKSAuth is set: each
	// distinct username/password pair gets its own circuit).
	SocksAddr string
	// MetricsPort is its MetricsPort on 127.0.0.1, or 0.
	MetricsPort int
	// SourceAddress is the address its connections to relays come from
	// (a client of a test network), "" when the kernel picks it.
	SourceAddress string

	loopbackOnly bool
	egress       *egress
}

// sourceAddress returns the address cfg's connections to relays must come
// from, or "" when they go out directly.
func (cfg ClientConfig) sourceAddress() string {
	switch {
	case len(cfg.DirAuthorities) == 0, cfg.SourceAddress == RelayAddress:
		return ""
	case cfg.SourceAddress == "":
		return ClientAddress
	}
	return cfg.SourceAddress
}

// clientTorrc builds the torrc of a client; egress, when not empty, is the
// HTTP CONNECT proxy its connections to relays go through.
func clientTorrc(cfg ClientConfig, egress string) (*torrc, error) {
	t := &torrc{}
	commonOptions(t, cfg.DataDir)
	if len(cfg.DirAuthorities) > 0 {
		testNetworkOptions(t, cfg.DirAuthorities)
	}
	if egress != "" {
		t.add("HTTPSProxy", egress)
	}
	t.add("SocksPort", "127.0.0.1:auto IsolateSOCKSAuth")
	switch cfg.Mode {
	case scenarios.RoleBridge:
		if cfg.BridgeLine == "" {
			return nil, fmt.Errorf("client %s: bridge mode needs a bridge line (ADDR:PORT FINGERPRINT)", cfg.Name)
		}
		t.add("UseBridges", "1")
		t.add("Bridge", cfg.BridgeLine)
	case scenarios.RoleEntry:
		if cfg.Fingerprint == "" {
			return nil, fmt.Errorf("client %s: entry mode needs the relay's fingerprint", cfg.Name)
		}
		t.add("EntryNodes", cfg.Fingerprint)
	case scenarios.RoleMiddle:
		if cfg.Fingerprint == "" {
			return nil, fmt.Errorf("client %s: middle mode needs the relay's fingerprint", cfg.Name)
		}
		t.add("MiddleNodes", cfg.Fingerprint)
	default:
		return nil, fmt.Errorf("client %s: mode %q: use bridge, entry or middle", cfg.Name, cfg.Mode)
	}
	if err := pathNodeOptions(t, cfg); err != nil {
		return nil, err
	}
	if cfg.MetricsPort != 0 {
		metricsOptions(t, cfg.MetricsPort)
	}
	for _, o := range cfg.Torrc {
		t.set(o)
	}
	return t, nil
}

// pathNodeOptions adds the ExitNodes and MiddleNodes of cfg. tor follows
// both for every normal circuit (its manual: StrictNodes applies to
// ExcludeNodes only); StrictNodes 1 goes with them all the same, so that
// no tor treats the lists as a mere preference and falls back to other
// volunteers' relays.
func pathNodeOptions(t *torrc, cfg ClientConfig) error {
	if len(cfg.MiddleNodes) > 0 && cfg.Mode == scenarios.RoleMiddle {
		return fmt.Errorf("client %s: middle mode already sets MiddleNodes to the relay under test; give no other middle nodes", cfg.Name)
	}
	if len(cfg.ExitNodes) > 0 {
		t.add("ExitNodes", strings.Join(cfg.ExitNodes, ","))
	}
	if len(cfg.MiddleNodes) > 0 {
		t.add("MiddleNodes", strings.Join(cfg.MiddleNodes, ","))
	}
	if len(cfg.ExitNodes)+len(cfg.MiddleNodes) > 0 {
		t.add("StrictNodes", "1")
	}
	return nil
}

// StartClient writes the client's torrc, starts tor and reads back the
// SocksPort tor chose. It does not wait for bootstrap: call WaitBootstrapped.
func StartClient(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("client %s: no data dir", cfg.Name)
	}
	// tor runs in its data dir: paths in its torrc must be absolute.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", cfg.Name, err)
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("client %s: %w", cfg.Name, err)
	}
	c := &Client{Name: cfg.Name, Mode: cfg.Mode, MetricsPort: cfg.MetricsPort, loopbackOnly: len(cfg.DirAuthorities) > 0}
	proxy := ""
	if c.SourceAddress = cfg.sourceAddress(); c.SourceAddress != "" {
		if c.egress, err = startEgress(c.SourceAddress); err != nil {
			return nil, fmt.Errorf("client %s: %w", cfg.Name, err)
		}
		proxy = c.egress.Addr()
	}
	defer func() {
		if c.Process == nil && c.egress != nil {
			c.egress.close()
		}
	}()
	t, err := clientTorrc(cfg, proxy)
	if err != nil {
		return nil, err
	}
	if err := t.write(filepath.Join(cfg.DataDir, torrcFile)); err != nil {
		return nil, err
	}
	proc, err := startTor(ctx, cfg.Name, cfg.DataDir, processOptions{torPath: cfg.TorPath})
	if err != nil {
		return nil, err
	}
	c.Process = proc
	listeners, err := proc.GetInfo("net/listeners/socks")
	if err == nil {
		fields := strings.Fields(listeners)
		if len(fields) == 0 {
			err = fmt.Errorf("%s opened no SocksPort", cfg.Name)
		} else {
			c.SocksAddr = strings.Trim(fields[0], `"`)
		}
	}
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("read back SocksPort: %w\n%s", err, proc.LogTail(10))
	}
	return c, nil
}

// NewClient starts a client of this network using the target in the given
// mode, with its data dir under the network's dir. The caller stops it (or
// the network's Stop does, for the network's own client).
func (n *Network) NewClient(ctx context.Context, name string, mode scenarios.Role, extra ...TorrcOption) (*Client, error) {
	metricsPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	return StartClient(ctx, n.ClientConfig(name, mode, metricsPort, extra...))
}

// ClientConfig returns the configuration of a client of this network.
func (n *Network) ClientConfig(name string, mode scenarios.Role, metricsPort int, extra ...TorrcOption) ClientConfig {
	target := n.Target()
	if mode == scenarios.RoleMiddle {
		// Tor picks the guard before it looks at MiddleNodes; were the
		// target the guard, no middle would be left. Any other relay of the
		// network may be the guard.
		var guards []string
		for _, node := range n.Nodes {
			if node.Role == RoleAuthority || node.Role == RoleMiddle {
				guards = append(guards, node.Fingerprint)
			}
		}
		extra = append([]TorrcOption{{Key: "EntryNodes", Value: strings.Join(guards, ",")}}, extra...)
	}
	return ClientConfig{
		Name:           name,
		DataDir:        filepath.Join(n.Dir, "clients", name),
		Mode:           mode,
		Fingerprint:    target.Fingerprint,
		BridgeLine:     target.BridgeLine(),
		DirAuthorities: n.DirAuthorities,
		MetricsPort:    metricsPort,
		Torrc:          extra,
		TorPath:        n.cfg.torPath,
	}
}

// Bootstrap returns tor's bootstrap progress (0-100) and its summary.
func (c *Client) Bootstrap() (int, string, error) {
	phase, err := c.Process.GetInfo("status/bootstrap-phase")
	if err != nil {
		return 0, "", err
	}
	progress := 0
	summary := phase
	for f := range strings.FieldsSeq(phase) {
		if v, ok := strings.CutPrefix(f, "PROGRESS="); ok {
			fmt.Sscan(v, &progress)
		}
	}
	if _, s, ok := strings.Cut(phase, "SUMMARY="); ok {
		summary = strings.Trim(strings.SplitN(s, `" `, 2)[0], `"`)
	}
	return progress, summary, nil
}

// WaitBootstrapped polls tor until it reports 100 % bootstrapped. On timeout
// or exit the error quotes the client's progress and the tail of its log.
func (c *Client) WaitBootstrapped(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		progress, summary, err := c.Bootstrap()
		if err == nil {
			if progress >= 100 {
				return nil
			}
			last = fmt.Sprintf("%d%% (%s)", progress, summary)
		}
		select {
		case <-c.Process.Exited():
			return fmt.Errorf("client %s exited while bootstrapping at %s: %w\n%s", c.Name, last, c.Process.ExitError(), c.Process.LogTail(15))
		case <-ctx.Done():
			// The cause says why the wait ended (a pool's straggler timeout,
			// a deadline, Ctrl-C), not just "context canceled".
			return fmt.Errorf("client %s not bootstrapped (%s): %w\n%s", c.Name, last, context.Cause(ctx), c.Process.LogTail(15))
		case <-tick.C:
		}
	}
}

// Stop ends the client's tor process, then its egress proxy.
func (c *Client) Stop() {
	c.Process.Stop()
	if c.egress != nil {
		c.egress.close()
	}
}

// RandomAuth returns SOCKS credentials no other stream uses, so that with
// IsolateSOCKSAuth the stream gets a circuit of its own.
func RandomAuth() *proxy.Auth {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return &proxy.Auth{User: hex.EncodeToString(b[:]), Password: "x"}
}

// Dialer returns a SOCKS5 dialer through the client with the given
// credentials (nil: none). A client of a test network refuses any
// destination that is not a loopback address.
func (c *Client) Dialer(auth *proxy.Auth) (proxy.ContextDialer, error) {
	d, err := proxy.SOCKS5("tcp", c.SocksAddr, auth, &net.Dialer{Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	cd := d.(proxy.ContextDialer)
	if c.loopbackOnly {
		return LoopbackOnly(cd), nil
	}
	return cd, nil
}

// LoopbackOnly wraps a dialer so that it refuses every address but
// 127.0.0.0/8, ::1 and "localhost" (dialled as 127.0.0.1, since the test
// network's exit has no resolver).
func LoopbackOnly(d proxy.ContextDialer) proxy.ContextDialer {
	return loopbackDialer{d}
}

type loopbackDialer struct{ next proxy.ContextDialer }

func (l loopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if err := CheckLoopback(host); err != nil {
		return nil, err
	}
	if strings.EqualFold(host, "localhost") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return l.next.DialContext(ctx, network, addr)
}

// CheckLoopback returns an error unless host is a loopback IP or "localhost".
func CheckLoopback(host string) error {
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing %q: the embedded test network only carries traffic to loopback addresses (127.0.0.0/8, ::1, localhost)", host)
}

// Circuit is one circuit from GETINFO circuit-status.
type Circuit struct {
	ID      string
	Status  string
	Purpose string
	// Path holds the hops' fingerprints, first hop first.
	Path []string
	// SocksUsername is the SOCKS username the circuit is isolated by.
	SocksUsername string
	// Reason is why a FAILED or CLOSED circuit ended (REASON=, e.g.
	// TIMEOUT, DESTROYED); empty otherwise.
	Reason string
}

// Circuits returns the client's current circuits.
func (c *Client) Circuits() ([]Circuit, error) {
	status, err := c.Process.GetInfo("circuit-status")
	if err != nil {
		return nil, err
	}
	return parseCircuitStatus(status), nil
}

// CircuitFor returns the circuit isolated by the SOCKS username user.
func (c *Client) CircuitFor(user string) (Circuit, error) {
	circuits, err := c.Circuits()
	if err != nil {
		return Circuit{}, err
	}
	for _, circ := range circuits {
		if circ.SocksUsername == user {
			return circ, nil
		}
	}
	return Circuit{}, fmt.Errorf("%s has no circuit for SOCKS username %s", c.Name, user)
}

// Get downloads url through the client on a circuit of its own (fresh
// random SOCKS credentials) and copies the body to w, which may verify it.
// It returns the bytes copied and the credentials, so the circuit that
// carried the stream can be found with CircuitFor.
func (c *Client) Get(ctx context.Context, url string, w io.Writer) (int64, *proxy.Auth, error) {
	auth := RandomAuth()
	dialer, err := c.Dialer(auth)
	if err != nil {
		return 0, auth, err
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, auth, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, auth, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, auth, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("GET %s: %d of %d bytes", url, n, resp.ContentLength)
	}
	return n, auth, err
}

// WatchCircuits calls fn, on a goroutine of its own, for every circuit the
// client reports BUILT (CIRC events on its control port) until ctx ends.
// Together with WatchStreams it shows how many circuits a load used.
func (c *Client) WatchCircuits(ctx context.Context, fn func(circ Circuit, at time.Time)) error {
	return c.WatchCircuitEvents(ctx, func(circ Circuit, at time.Time) {
		if circ.Status == "BUILT" {
			fn(circ, at)
		}
	})
}

// WatchCircuitEvents is WatchCircuits for every CIRC event, whatever the
// status (LAUNCHED, EXTENDED, BUILT, FAILED, CLOSED): what a circuit success
// rate needs. tor sends FAILED for a circuit that ended before it was
// built and CLOSED for one that ended after.
func (c *Client) WatchCircuitEvents(ctx context.Context, fn func(circ Circuit, at time.Time)) error {
	return c.watch(ctx, control.EventCodeCircuit, func(raw string, at time.Time) {
		// The event has circuit-status's format; bine's own parse of the
		// path drops it (it looks for an '=' in the hop list).
		if circs := parseCircuitStatus(raw); len(circs) == 1 {
			fn(circs[0], at)
		}
	})
}

// WatchStreams calls fn with the circuit ID of every stream that tor
// attached and opened (STREAM ... SUCCEEDED), until ctx ends: the circuits
// streams really used, which per-stream isolation makes grow with the
// streams.
func (c *Client) WatchStreams(ctx context.Context, fn func(circuitID string, at time.Time)) error {
	return c.watch(ctx, control.EventCodeStream, func(raw string, at time.Time) {
		// "STREAMID STATUS CIRCID TARGET ... CLIENT_PROTOCOL=SOCKS5 ...":
		// only streams that came in on the SocksPort count, not the
		// directory streams tor opens for itself. (PURPOSE is only on NEW.)
		f := strings.Fields(raw)
		if len(f) >= 3 && f[1] == "SUCCEEDED" && slices.ContainsFunc(f, isSocksProtocol) {
			fn(f[2], at)
		}
	})
}

func isSocksProtocol(field string) bool {
	return strings.HasPrefix(field, "CLIENT_PROTOCOL=SOCKS")
}

// watch subscribes to one event type and hands each raw event to fn.
func (c *Client) watch(ctx context.Context, code control.EventCode, fn func(raw string, at time.Time)) error {
	conn := c.Process.Control()
	events := make(chan control.Event, 256)
	if err := conn.AddEventListener(events, code); err != nil {
		return fmt.Errorf("%s: subscribe to %s events: %w", c.Name, code, err)
	}
	go conn.HandleEvents(ctx)
	go func() {
		<-ctx.Done()
		conn.RemoveEventListener(events, code)
	}()
	// bine sends events on the channel while it holds the connection's read
	// lock, so the channel is drained until tor exits, even after ctx ends:
	// an undrained channel would block every later request, SIGNAL HALT
	// included.
	go func() {
		for {
			select {
			case <-c.Process.Exited():
				return
			case ev := <-events:
				if ctx.Err() != nil {
					continue
				}
				switch e := ev.(type) {
				case *control.CircuitEvent:
					fn(e.Raw, time.Now())
				case *control.StreamEvent:
					fn(e.Raw, time.Now())
				}
			}
		}
	}()
	return nil
}

func parseCircuitStatus(s string) []Circuit {
	var out []Circuit
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		circ := Circuit{ID: f[0], Status: f[1]}
		for _, field := range f[2:] {
			switch {
			case strings.HasPrefix(field, "$"):
				for hop := range strings.SplitSeq(field, ",") {
					fp, _, _ := strings.Cut(strings.TrimPrefix(hop, "$"), "~")
					fp, _, _ = strings.Cut(fp, "=")
					circ.Path = append(circ.Path, fp)
				}
			case strings.HasPrefix(field, "PURPOSE="):
				circ.Purpose = strings.TrimPrefix(field, "PURPOSE=")
			case strings.HasPrefix(field, "SOCKS_USERNAME="):
				circ.SocksUsername = strings.Trim(strings.TrimPrefix(field, "SOCKS_USERNAME="), `"`)
			case strings.HasPrefix(field, "REASON="):
				circ.Reason = strings.TrimPrefix(field, "REASON=")
			}
		}
		out = append(out, circ)
	}
	return out
}
