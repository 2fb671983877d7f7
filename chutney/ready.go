package chutney

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cretz/bine/control"
	"github.com/relaybench/relaybench/scenarios"
)

// ReadyVotingInterval is the authorities' voting interval once the network
// is ready. Bootstrap needs the short interval of the torrc (a relay that
// missed one consensus waits for the next); a ready network does not, and
// every consensus is voted, signed and then fetched by every relay and
// client. Measured here (0.4.9.11, idle ready network, 60 s of
// /proc/PID/stat): 0.007-0.011 cores per authority and about 0.045 for the
// whole network at 10 s; 0.0017 per authority and about 0.011 in total at
// 60 s. Set in the torrc from the start instead, 60 s made bootstrap slow
// and erratic (every relay in the consensus 5-43 s after start, against
// 4-7 s at 10 s, five starts each).
const ReadyVotingInterval = 60 * time.Second

// relaxVoting sets the authorities' V3AuthVotingInterval to
// ReadyVotingInterval over their control ports: tor reschedules its votes
// (options_act_dirauth), and the consensus after the current one is valid
// for the longer interval. A failure only costs CPU, so it is reported and
// the network kept.
func (n *Network) relaxVoting() {
	for _, node := range n.byRole(RoleAuthority) {
		ctrl := node.proc.Control()
		if ctrl == nil {
			continue
		}
		v := strconv.Itoa(int(ReadyVotingInterval.Seconds()))
		if err := ctrl.SetConf(control.NewKeyVal("V3AuthVotingInterval", v)); err != nil {
			fmt.Fprintf(n.cfg.progress, "warning: %s keeps voting every 10 s (SETCONF V3AuthVotingInterval=%s: %v)\n", node.Nickname, v, err)
		}
	}
}

// proveReady starts the network's own client with the target as its bridge
// and succeeds once a download through the target and an exit worked. A
// consensus that briefly lost its exit (seen with tor 0.4.9.11 and 10 s
// voting intervals on a loaded 2-core machine) only delays success, so
// failed fetches are retried until the context ends; the error then names the
// stage that did not finish and quotes the log of the node behind it.
func (n *Network) proveReady(ctx context.Context) error {
	// The client starts only once the authorities publish a consensus that
	// lists every relay: a client started earlier meets 404s, backs off for
	// seconds, and may settle for an early consensus without the exit.
	if err := n.waitConsensus(ctx); err != nil {
		return n.diagnose(err)
	}
	fmt.Fprintf(n.cfg.progress, "consensus lists every relay after %s\n", time.Since(n.startedAt).Round(time.Millisecond))
	if err := n.refreshTargetDirInfo(ctx); err != nil {
		return n.diagnose(err)
	}
	fmt.Fprintf(n.cfg.progress, "target has the consensus after %s\n", time.Since(n.startedAt).Round(time.Millisecond))
	metricsPort, err := FreePort()
	if err != nil {
		return err
	}
	// Bridge mode: the target is the client's only possible first hop and
	// its directory source, so a working download proves both.
	cfg := n.ClientConfig("rbclient", scenarios.RoleBridge, metricsPort)
	cfg.DataDir = filepath.Join(n.Dir, "nodes", "rbclient")
	cfg.SourceAddress = ownClientAddress
	client, err := StartClient(ctx, cfg)
	if err != nil {
		return err
	}
	n.Client = client
	n.writeDescription(StateStarting, nil)

	if err := client.WaitBootstrapped(ctx); err != nil {
		return n.diagnose(err)
	}
	fmt.Fprintf(n.cfg.progress, "client bootstrapped in %s\n", time.Since(n.startedAt).Round(time.Millisecond))

	url, closeServer, err := serveZeros(n.cfg.readyBytes)
	if err != nil {
		return err
	}
	defer closeServer()
	var lastErr error
	for attempt := 1; ; attempt++ {
		if lastErr = n.fetchThroughTarget(ctx, client, url); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return n.diagnose(fmt.Errorf("no download through the target and an exit succeeded in %d attempts; last: %w", attempt, lastErr))
		case <-client.Process.Exited():
			return fmt.Errorf("client exited: %w\n%s", client.Process.ExitError(), client.Process.LogTail(15))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// fetchThroughTarget downloads url on a fresh circuit and checks that the
// circuit that carried it runs through the target and ends at an exit.
func (n *Network) fetchThroughTarget(ctx context.Context, client *Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got, auth, err := client.Get(ctx, url, io.Discard)
	if err != nil {
		return err
	}
	if got != n.cfg.readyBytes {
		return fmt.Errorf("GET %s: %d of %d bytes", url, got, n.cfg.readyBytes)
	}
	circ, err := client.CircuitFor(auth.User)
	if err != nil {
		return err
	}
	if err := n.checkPath(circ.Path, client.Mode); err != nil {
		return fmt.Errorf("downloaded %d bytes, but %w", got, err)
	}
	return nil
}

// checkPath checks a 3-hop path has the target where mode puts it and an
// exit of the network last.
func (n *Network) checkPath(path []string, mode scenarios.Role) error {
	hop := 0
	if mode == scenarios.RoleMiddle {
		hop = 1
	}
	target := n.Target().Fingerprint
	if len(path) != 3 || path[hop] != target {
		return fmt.Errorf("circuit %v does not have the target %s at hop %d", path, target, hop+1)
	}
	for _, exit := range n.Exits() {
		if path[2] == exit.Fingerprint {
			return nil
		}
	}
	return fmt.Errorf("circuit %v does not end at an exit of the network", path)
}

// serveZeros serves size zero bytes at the returned URL on PayloadAddress,
// the smallest proof that bytes crossed the network (the runner's payload
// server checks content; readiness only needs bytes to arrive).
func serveZeros(size int64) (string, func(), error) {
	l, err := net.Listen("tcp", PayloadAddress+":0")
	if err != nil {
		return "", nil, fmt.Errorf("readiness probe server: %w", err)
	}
	zeros := make([]byte, 32<<10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for left := size; left > 0; {
			chunk := min(left, int64(len(zeros)))
			if _, err := w.Write(zeros[:chunk]); err != nil {
				return
			}
			left -= chunk
		}
	})}
	go srv.Serve(l)
	return "http://" + l.Addr().String() + "/ready", func() { srv.Close() }, nil
}

// diagnose adds to err which node is behind a failed start: relays missing
// from the authorities' consensus, or else the client.
func (n *Network) diagnose(err error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "test network in %s not ready: %v", n.Dir, err)
	for _, node := range n.Nodes {
		if node.proc != nil && !node.proc.Alive() {
			fmt.Fprintf(&b, "\n%s (%s) exited: %v\n%s", node.Nickname, node.Role, node.proc.ExitError(), node.proc.LogTail(15))
			return fmt.Errorf("%s", b.String())
		}
	}
	cons, cerr := n.fetchConsensus()
	flags := cons.flags
	switch {
	case cerr != nil:
		auth := n.byRole(RoleAuthority)[0]
		fmt.Fprintf(&b, "\nno consensus yet at authority %s (%v)\n%s", auth.Nickname, cerr, auth.proc.LogTail(15))
	default:
		missing := false
		for _, node := range n.Nodes {
			if _, listed := flags[node.Nickname]; !listed {
				missing = true
				fmt.Fprintf(&b, "\n%s (%s) is not in the consensus\n%s", node.Nickname, node.Role, node.proc.LogTail(10))
			}
		}
		switch {
		case missing:
		case n.consensusComplete(cons) != nil:
			fmt.Fprintf(&b, "\n%v", n.consensusComplete(cons))
		case n.Client != nil:
			fmt.Fprintf(&b, "\nevery relay is in the consensus; client %s:\n%s", n.Client.Name, n.Client.Process.LogTail(15))
		}
	}
	fmt.Fprintf(&b, "\nIf the machine is busy, allow the network more than the %s it had to become ready.", n.cfg.readyTimeout)
	return fmt.Errorf("%s", b.String())
}

// refreshTargetDirInfo makes sure the target itself holds the complete
// consensus: bridge and entry clients fetch their directory information from
// it. A relay that met 404s before the first consensus backs off for
// seconds, and one holding an early, incomplete consensus keeps it until it
// goes stale (up to 20 s with the test network's intervals). SIGNAL RELOAD
// resets the download failures and retries at once; if the target still
// holds an incomplete consensus after that, it is restarted without its
// cached consensus (same keys and ports, so the consensus still lists it),
// which costs about a second.
func (n *Network) refreshTargetDirInfo(ctx context.Context) error {
	target := n.Target()
	if n.targetComplete() {
		return nil
	}
	target.proc.Control().Signal("RELOAD")
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if n.targetComplete() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(n.cfg.progress, "target holds an incomplete consensus: restarting it\n")
	target.proc.Stop()
	for _, f := range []string{"cached-consensus", "cached-microdesc-consensus", "unverified-consensus", "unverified-microdesc-consensus"} {
		os.Remove(filepath.Join(target.DataDir, f))
	}
	proc, err := startTor(ctx, target.Nickname, target.DataDir, n.processOptions(target))
	if err != nil {
		return fmt.Errorf("restart the target: %w", err)
	}
	target.proc = proc
	n.writeDescription(StateStarting, nil)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !n.targetComplete() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the target has no complete consensus: %w", ctx.Err())
		case <-proc.Exited():
			return proc.ExitError()
		case <-tick.C:
		}
	}
	return nil
}

// targetComplete reports whether the target's own usable consensus lists
// every relay of the network and it has enough directory information to
// build circuits.
func (n *Network) targetComplete() bool {
	p := n.Target().proc
	if enough, err := p.GetInfo("status/enough-dir-info"); err != nil || enough != "1" {
		return false
	}
	all, err := p.GetInfo("ns/all")
	if err != nil {
		return false
	}
	listed := 0
	for line := range strings.SplitSeq(all, "\n") {
		if strings.HasPrefix(line, "r ") {
			listed++
		}
	}
	return listed >= len(n.Nodes)
}

// waitConsensus polls the first authority until its consensus lists every
// relay as Running, the exits with the Exit flag and the target with every
// flag an entry guard needs, and carries the parameters the authorities
// vote.
func (n *Network) waitConsensus(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		cons, err := n.fetchConsensus()
		if err == nil {
			if err = n.consensusComplete(cons); err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a complete consensus: %w (last: %v)", ctx.Err(), last)
		case p := <-n.Died():
			return fmt.Errorf("waiting for a complete consensus: %w", p.ExitError())
		case <-tick.C:
		}
	}
}

func (n *Network) consensusComplete(cons authorityConsensus) error {
	flags := cons.flags
	for _, node := range n.Nodes {
		want := []string{"Running", "Valid"}
		switch node.Role {
		case RoleExit:
			want = append(want, "Exit")
		case RoleTarget:
			// What tor requires of an entry guard (node_is_possible_guard):
			// without Stable or V2Dir an EntryNodes client never samples the
			// target and cannot build a circuit at all.
			want = append(want, "Guard", "Stable", "Fast", "V2Dir")
		}
		got, listed := flags[node.Nickname]
		if !listed {
			return fmt.Errorf("%s is not in the consensus yet", node.Nickname)
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				return fmt.Errorf("%s has no %s flag in the consensus yet (flags: %v)", node.Nickname, f, got)
			}
		}
	}
	// Every authority votes the same parameters, so the first consensus
	// carries them all; one that does not would measure another network.
	// (Authorities of a testing network add AuthDirMaxServersPerAddr=0
	// of their own.)
	return missingParams(cons.params, n.ConsensusParams)
}

// missingParams says which of the voted parameters a consensus's params
// lack or carry with another value, or nil.
func missingParams(got, voted map[string]int) error {
	var wrong []string
	for _, name := range slices.Sorted(maps.Keys(voted)) {
		if v, ok := got[name]; !ok || v != voted[name] {
			wrong = append(wrong, fmt.Sprintf("%s=%d", name, voted[name]))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("the consensus params %q lack the voted %s", consensusParamsLine(got), strings.Join(wrong, " "))
	}
	return nil
}

// authorityConsensus is what readiness needs of a consensus: every relay's
// flags by nickname, and the parameters.
type authorityConsensus struct {
	flags  map[string][]string
	params map[string]int
}

// dirDocument asks the directory server on 127.0.0.1:dirPort for path
// (such as /tor/status-vote/current/consensus) as plain text. The caller
// closes the body.
func dirDocument(dirPort int, path string) (io.ReadCloser, error) {
	hc := &http.Client{Timeout: 3 * time.Second}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", dirPort, path), nil)
	if err != nil {
		return nil, err
	}
	// Go asks for gzip by default and tor then answers with deflate, which
	// Go does not undo: ask for plain text.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: status %s", req.URL, resp.Status)
	}
	return resp.Body, nil
}

// fetchConsensus fetches the current consensus from the first authority
// and returns the flags of every relay it lists and its parameters.
func (n *Network) fetchConsensus() (authorityConsensus, error) {
	cons := authorityConsensus{flags: map[string][]string{}, params: map[string]int{}}
	body, err := dirDocument(n.byRole(RoleAuthority)[0].DirPort, "/tor/status-vote/current/consensus")
	if err != nil {
		return cons, err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	nick := ""
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && f[0] == "params" && nick == "":
			if cons.params, err = parseParamsLine(strings.Join(f[1:], " ")); err != nil {
				return cons, err
			}
		case len(f) > 1 && f[0] == "r":
			nick = f[1]
			cons.flags[nick] = []string{}
		case len(f) > 0 && f[0] == "s" && nick != "":
			cons.flags[nick] = f[1:]
		}
	}
	return cons, sc.Err()
}
