package chutney

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// ownerEnv makes the test binary act as a harness that owns a network in the
// given dir until it is killed: the kill -9 test needs a process to kill.
const ownerEnv = "RELAYBENCH_TEST_NETWORK_OWNER_DIR"

// testRoot holds every network the tests start, so the leak check at the end
// can find any tor process that still runs from it.
var testRoot string

func TestMain(m *testing.M) {
	if dir := os.Getenv(ownerEnv); dir != "" {
		os.Exit(runOwner(dir))
	}
	if _, err := exec.LookPath("tor"); err != nil {
		fmt.Fprintln(os.Stderr, "tor is not installed: run scripts/setup.sh (make test does)")
		os.Exit(1)
	}
	var err error
	if testRoot, err = os.MkdirTemp("", "relaybench-chutney-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if shared.net != nil {
		shared.net.Stop()
	}
	os.Exit(testkit.EndTorTests(testRoot, code))
}

// runOwner starts a network with a small open-files limit on the target and
// waits to be killed.
func runOwner(dir string) int {
	net, err := Start(context.Background(), dir, WithTargetNofile(2048), WithReadyTimeout(3*time.Minute))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer net.Stop()
	select {}
}

var shared struct {
	once sync.Once
	net  *Network
	err  error
}

// sharedNetwork starts one network for all tests that only use it, stopped in
// TestMain.
func sharedNetwork(t *testing.T) *Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	shared.once.Do(func() {
		shared.net, shared.err = Start(context.Background(), filepath.Join(testRoot, "shared"), WithProgress(testLog{}))
	})
	if shared.err != nil {
		t.Fatalf("start network: %v", shared.err)
	}
	return shared.net
}

type testLog struct{}

func (testLog) Write(p []byte) (int, error) {
	fmt.Fprint(os.Stderr, "chutney: "+string(p))
	return len(p), nil
}

func TestNetworkDescription(t *testing.T) {
	net := sharedNetwork(t)
	d, err := ReadDescription(net.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != StateReady || d.OwnerPID != os.Getpid() || d.Version != DescriptionVersion {
		t.Errorf("state %q owner %d version %d, want ready, %d, %d", d.State, d.OwnerPID, d.Version, os.Getpid(), DescriptionVersion)
	}
	roles := map[Role]int{}
	for _, n := range d.Nodes {
		roles[n.Role]++
		if n.PID == 0 || n.DataDir == "" || !strings.HasPrefix(n.ControlAddr, "127.0.0.1:") || n.CookiePath == "" {
			t.Errorf("%s: incomplete description %+v", n.Nickname, n)
		}
		if n.Role != RoleClient && (len(n.Fingerprint) != 40 || n.ORPort == 0 || n.DirPort == 0 ||
			!strings.HasPrefix(n.MetricsURL, "http://127.0.0.1:")) {
			t.Errorf("%s: relay without fingerprint or ports: %+v", n.Nickname, n)
		}
		st, err := os.Stat(n.DataDir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: data dir %s mode %v (err %v), want 0700", n.Nickname, n.DataDir, st.Mode().Perm(), err)
		}
		torrc, err := os.ReadFile(n.Torrc)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(torrc), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && slices.Contains([]string{"ORPort", "DirPort", "MetricsPort", "ControlPort", "SocksPort"}, f[0]) &&
				f[1] != "0" && !strings.HasPrefix(f[1], "127.0.0.1:") {
				t.Errorf("%s binds beyond loopback: %q", n.Nickname, line)
			}
		}
	}
	want := map[Role]int{RoleAuthority: 3, RoleExit: 1, RoleMiddle: 1, RoleTarget: 1, RoleClient: 1}
	for r, c := range want {
		if roles[r] != c {
			t.Errorf("%d nodes of role %s, want %d", roles[r], r, c)
		}
	}
	if len(d.DirAuthorities) != 3 {
		t.Errorf("%d DirAuthority lines, want 3", len(d.DirAuthorities))
	}
	// The target's MetricsPort answers with tor's families.
	sc := scrapeTarget(t, net)
	if sc.Family(metricsport.FamilyTrafficBytes) == nil {
		t.Errorf("target MetricsPort has no %s", metricsport.FamilyTrafficBytes)
	}
}

func scrapeTarget(t *testing.T, net *Network) metricsport.Scrape {
	t.Helper()
	resp, err := http.Get(net.Target().MetricsURL())
	if err != nil {
		t.Fatalf("scrape target: %v", err)
	}
	defer resp.Body.Close()
	sc, err := metricsport.ParseScrape(resp.Body)
	if err != nil {
		t.Fatalf("parse target scrape: %v", err)
	}
	return sc
}

func targetWritten(t *testing.T, net *Network) float64 {
	return metricsport.NewRelaySnapshot(scrapeTarget(t, net), time.Now()).Counters.TrafficWrittenBytes
}

// TestDownloadThroughTarget downloads 5 MiB through a client that uses the
// target as bridge, then entry guard, then middle hop, and checks the bytes
// arrived, the circuit put the target where the mode says, and the target's
// own traffic counter grew by at least the payload.
func TestDownloadThroughTarget(t *testing.T) {
	net := sharedNetwork(t)
	const size = 5 << 20
	srv, err := payload.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := srv.BytesURL(size)

	modes := []scenarios.Role{scenarios.RoleBridge, scenarios.RoleEntry, scenarios.RoleMiddle}
	clients := make([]*Client, len(modes))
	errs := make([]error, len(modes))
	var wg sync.WaitGroup
	for i, mode := range modes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			c, err := net.NewClient(ctx, "test-"+string(mode), mode)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			errs[i] = c.WaitBootstrapped(ctx)
		})
	}
	wg.Wait()
	for _, c := range clients {
		if c != nil {
			defer c.Stop()
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s client: %v", modes[i], err)
		}
	}
	// Every circuit the clients build is reported. (Not always with the SOCKS
	// username: tor may build a circuit before a stream claims it.)
	var mu sync.Mutex
	built := map[*Client][][]string{}
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	for _, c := range clients {
		if err := c.WatchCircuits(watchCtx, func(circ Circuit, _ time.Time) {
			mu.Lock()
			built[c] = append(built[c], circ.Path)
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			c := clients[i]
			// Close the circuits built before the watch began, so the
			// stream's circuit is one the watch must have seen being built.
			circs, err := c.Circuits()
			if err != nil {
				t.Fatal(err)
			}
			for _, circ := range circs {
				c.Process.Control().CloseCircuit(circ.ID, nil)
			}
			mu.Lock()
			seenBefore := len(built[c])
			mu.Unlock()
			before := targetWritten(t, net)
			got, path := downloadWithRetry(t, c, url, size)
			if got != size {
				t.Fatalf("downloaded %d bytes, want %d", got, size)
			}
			if err := net.checkPath(path.hops, mode); err != nil {
				t.Error(err)
			}
			// The closed circuits were replaced by new ones, which the watch
			// must report with the target where the mode puts it. Events
			// arrive asynchronously: give them a moment.
			watched := false
			for range 40 {
				mu.Lock()
				for _, hops := range built[c][seenBefore:] {
					watched = watched || net.checkPath(hops, mode) == nil
				}
				mu.Unlock()
				if watched {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !watched {
				t.Errorf("WatchCircuits reported no new circuit through the target after the old ones were closed")
			}
			// The MetricsPort is refreshed as tor serves it; allow a moment
			// for the last cells to be counted.
			var grew float64
			for range 20 {
				if grew = targetWritten(t, net) - before; grew >= size {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if grew < size {
				t.Errorf("target's tor_relay_traffic_bytes{direction=\"written\"} grew by %.0f, want at least %d", grew, size)
			}
		})
	}
}

// downloadWithRetry fetches url on a new circuit, retrying while the young
// network settles, verifies every byte against the payload's content, and
// returns the byte count and the path of the circuit that carried the stream.
func downloadWithRetry(t *testing.T, c *Client, url string, size int64) (int64, streamCircuit) {
	t.Helper()
	var lastErr error
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		v := payload.NewVerifier(payload.DefaultSeed)
		_, auth, err := c.Get(ctx, url, v)
		cancel()
		if err == nil {
			err = v.Finish(size)
		}
		if err != nil {
			lastErr = err
			time.Sleep(time.Second)
			continue
		}
		circ, err := c.CircuitFor(auth.User)
		if err != nil {
			t.Fatal(err)
		}
		return v.Count(), streamCircuit{hops: circ.Path}
	}
	t.Fatalf("download through %s client failed 5 times; last: %v", c.Mode, lastErr)
	return 0, streamCircuit{}
}

// streamCircuit is the circuit that carried one isolated stream.
type streamCircuit struct {
	hops []string
}

// TestSecondNetworkAndKill9 starts a second network in another process while
// the shared one runs (no port or directory clash), then SIGKILLs that
// process: every tor it started must be gone.
func TestSecondNetworkAndKill9(t *testing.T) {
	first := sharedNetwork(t)
	dir := filepath.Join(testRoot, "owned")
	owner := exec.Command(os.Args[0], "-test.run=^$")
	owner.Env = append(os.Environ(), ownerEnv+"="+dir)
	owner.Stderr = os.Stderr
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = owner.Wait(); close(exited) }()
	defer func() {
		owner.Process.Kill()
		<-exited
	}()

	var d *Description
	deadline := time.After(3 * time.Minute)
	for d == nil {
		select {
		case <-exited:
			t.Fatalf("network owner exited: %v", waitErr)
		case <-deadline:
			t.Fatal("second network not ready within 3 minutes")
		case <-time.After(200 * time.Millisecond):
		}
		if got, err := ReadDescription(dir); err == nil && got.State == StateReady && got.OwnerPID == owner.Process.Pid {
			d = got
		}
	}

	t.Run("no clash", func(t *testing.T) {
		ports := map[int]string{}
		for _, n := range first.Nodes {
			for _, p := range []int{n.ORPort, n.DirPort, n.MetricsPort} {
				ports[p] = n.Nickname
			}
		}
		for _, n := range d.Nodes {
			for _, p := range []int{n.ORPort, n.DirPort} {
				if other, ok := ports[p]; ok && p != 0 {
					t.Errorf("port %d used by %s in both networks", p, other)
				}
			}
		}
		for _, p := range first.Processes() {
			if !p.Alive() {
				t.Errorf("first network's %s died while the second started", p.Name)
			}
		}
	})

	t.Run("nofile limit reaches the target", func(t *testing.T) {
		limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", d.Node(RoleTarget).PID))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(limits), "Max open files            2048                 2048") {
			t.Errorf("target's limits do not show nofile 2048:\n%s", limits)
		}
	})

	pids := d.AlivePIDs()
	if len(pids) != len(d.Nodes) {
		t.Fatalf("%d of %d tor processes alive before the kill", len(pids), len(d.Nodes))
	}
	owner.Process.Signal(syscall.SIGKILL)
	<-exited
	gone := time.After(10 * time.Second)
	for len(d.AlivePIDs()) > 0 {
		select {
		case <-gone:
			t.Fatalf("tor processes %v still run 10 s after their owner was SIGKILLed", d.AlivePIDs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestFailedStartCleansUp gives the target an option tor rejects: Start must
// fail, name the node and quote its log, and leave no tor running.
func TestFailedStartCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tor; skipped with -short")
	}
	dir := filepath.Join(testRoot, "broken")
	_, err := Start(context.Background(), dir, WithTargetTorrc(TorrcOption{"NoSuchTorOption", "1"}))
	if err == nil {
		t.Fatal("Start succeeded with an invalid torrc option")
	}
	if !strings.Contains(err.Error(), "rbtarget") || !strings.Contains(err.Error(), "NoSuchTorOption") {
		t.Errorf("error does not name the node and quote its log: %v", err)
	}
	d, rerr := ReadDescription(dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if d.State != StateFailed || len(d.AlivePIDs()) != 0 {
		t.Errorf("after a failed start: state %s, alive %v; want failed, none", d.State, d.AlivePIDs())
	}
	if left := testkit.TorProcessesUnder(dir); len(left) > 0 {
		t.Errorf("tor processes left after a failed start: %v", left)
	}
}

// TestReadyTimeoutNamesStage starts a network with too short a timeout: the
// error says what was not ready and quotes a log, and nothing is left running.
func TestReadyTimeoutNamesStage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tor; skipped with -short")
	}
	// A relative dir, as `relaybench run` passes (runs/...): tor runs in its
	// data dir, so every path it is given must have been made absolute.
	t.Chdir(testRoot)
	dir := filepath.Join(testRoot, "impatient")
	_, err := Start(context.Background(), "impatient", WithReadyTimeout(time.Second))
	if err == nil {
		t.Fatal("network proven ready within 1 s: the readiness check cannot be real")
	}
	msg := err.Error()
	if !strings.Contains(msg, "not ready") || !strings.Contains(msg, "last lines of") {
		t.Errorf("timeout error does not say what is not ready or quote a log:\n%s", msg)
	}
	if left := testkit.TorProcessesUnder(dir); len(left) > 0 {
		t.Errorf("tor processes left after a timeout: %v", left)
	}
}

func TestDescriptionJSONRoundTrip(t *testing.T) {
	d := Description{Version: 1, State: StateReady, Nodes: []NodeDescription{{Role: RoleTarget, Nickname: "x", PID: 1}}}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"role":"target"`, `"owner_pid"`, `"dir_authorities"`, `"state":"ready"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("network.json lacks %s: %s", key, data)
		}
	}
}
