package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// shortScenario is the built-in scenario cut down for tests: three 5 s
// steps with a 1 s warm-up and 2 MiB objects, the target unconfined (the
// demo's CPU quota needs root; a test that confines sets its own).
func shortScenario(t *testing.T, name string, steps ...int) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Target.Testnet != nil {
		sc.Target.Testnet.CPU = 0
	}
	sc.Ramp.Steps = steps
	sc.Ramp.StepDuration = scenarios.Duration(5 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(time.Second)
	// The timeouts the scenario derived from its own ramp do not fit the
	// 4 s window; these do, and leave a busy machine's circuit builds time.
	sc.Workload.Timeout = scenarios.Duration(3500 * time.Millisecond)
	sc.Workload.StallTimeout = scenarios.Duration(3 * time.Second)
	sc.Repetitions = 1
	if sc.Workload.Kind == scenarios.WorkloadBulk {
		sc.Payload.Size = 2 << 20
	}
	return sc
}

func testOptions(t *testing.T) Options {
	return Options{OutDir: t.TempDir(), Progress: testWriter{t}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkRamp asserts what every run must show: each step carried verified
// bytes, the records on disk match the summary, and with per-stream
// isolation the circuits used grow with the streams.
func checkRamp(t *testing.T, res *Result, wantCircuitsGrow bool) {
	t.Helper()
	if len(res.Reps) != 1 {
		t.Fatalf("%d repetitions, want 1", len(res.Reps))
	}
	sum := res.Reps[0]
	t.Logf("\n%s", sum.Table())
	for _, st := range sum.Steps {
		if st.OK == 0 || st.Bytes == 0 {
			t.Errorf("step %d (load %d): %d ok requests, %d bytes; want some", st.Step+1, st.Load, st.OK, st.Bytes)
		}
	}
	lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	recs := lines.Records
	if int64(len(recs)) != sum.Requests {
		t.Errorf("requests.jsonl has %d records, summary counts %d", len(recs), sum.Requests)
	}
	if a := res.Analysis; a == nil || len(a.Steps) != len(sum.Steps) {
		t.Errorf("analysis %+v: want one result per step", a)
	} else {
		for i, st := range a.Steps {
			// The runner's window bytes and the analysis' must agree.
			if want := float64(sum.Steps[i].Bytes); st.Bytes != want || st.Goodput.N == 0 {
				t.Errorf("step %d: analysis counts %.0f bytes in %d seconds, runner %0.f", i+1, st.Bytes, st.Goodput.N, want)
			}
		}
	}
	if circ := res.Circuits[0]; wantCircuitsGrow {
		t.Logf("circuits used per step: %v", circ)
		if circ[len(circ)-1] <= circ[0] {
			t.Errorf("circuits used per step %v: want more circuits at the last step than at the first", circ)
		}
	}
	for _, name := range []string{"scenario.yaml", "run.json", "steps.jsonl", "metrics.jsonl", "processes.jsonl", "summary.json"} {
		if st, err := os.Stat(filepath.Join(res.Dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty in the run dir (%v)", name, err)
		}
	}
}

// TestRunTestnetBridgeRamp is `relaybench run` on the built-in local
// scenario, shortened: it starts its own network and loads the target as a
// bridge through a pool of two clients.
func TestRunTestnetBridgeRamp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	sc := shortScenario(t, "local", 1, 2, 4)
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkRamp(t, res, true)
	metrics, err := rundir.ReadFile[rundir.ScrapeRecord](res.Dir, rundir.MetricsFile)
	scrapes := metrics.Records
	if err != nil || len(scrapes) == 0 {
		t.Fatalf("metrics.jsonl: %d scrapes, %v", len(scrapes), err)
	}
	// The network and its clients are gone once the run returned.
	if d, err := chutney.ReadDescription(filepath.Join(res.Dir, "testnet")); err != nil || len(d.AlivePIDs()) > 0 {
		t.Errorf("tor processes still run after the run: %v (%v)", d.AlivePIDs(), err)
	}
}

// TestRunOnExistingNetwork covers the other target kinds with one network
// started here: `relay` (our own tor clients, with the test network
// standing in for the real one), `socks` (a SocksPort we did not start),
// the churn workload, and a pool client killed mid-run.
func TestRunOnExistingNetwork(t *testing.T) {
	net := sharedNetwork(t)
	target := net.Target()
	relayScenario := func(role scenarios.Role, steps ...int) *scenarios.Scenario {
		sc := shortScenario(t, "local", steps...)
		relay := &scenarios.RelayTarget{MetricsURL: target.MetricsURL()}
		if role == scenarios.RoleBridge {
			relay.BridgeLine = target.BridgeLine()
		} else {
			relay.Fingerprint = target.Fingerprint
		}
		// Without payload.url, which a relay target requires: the harness
		// serves the payload. The run directory must still be analysed
		// (checkRamp wants the analysis), as recorded.
		sc.Target = scenarios.Target{Kind: scenarios.TargetRelay, Role: role, Relay: relay}
		return sc
	}

	t.Run("relay as entry", func(t *testing.T) {
		cfg := testOptions(t)
		cfg.DirAuthorities = net.DirAuthorities
		sc := relayScenario(scenarios.RoleEntry, 1, 2, 4)
		// The rest of the path confined to the network's exit, as an
		// operator confines it to their own: tor takes the options.
		sc.Target.Relay.ExitNodes = []string{net.Exits()[0].Fingerprint}
		res, err := Run(context.Background(), sc, cfg)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkRamp(t, res, true)
		// The target's MetricsPort was the proof of operating it.
		info, err := rundir.ReadRunInfo(res.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if p := info.RelayProof; p == nil || p.Kind != rundir.ProofMetricsPort || !strings.Contains(p.Detail, target.MetricsURL()) {
			t.Errorf("run.json relay_proof %+v; want the target's MetricsPort", p)
		}
		if l := res.Analysis.LiveRelay; l == nil || l.Proof == nil || l.Proof.Kind != rundir.ProofMetricsPort {
			t.Errorf("summary live_relay %+v; want the MetricsPort proof", l)
		} else if l.Succeeded == 0 || l.Verified != l.Succeeded {
			// The harness served the payload: every body was checked.
			t.Errorf("summary live_relay: %d of %d successful downloads verified; want all", l.Verified, l.Succeeded)
		}
	})

	t.Run("relay without proof refused", func(t *testing.T) {
		cfg := testOptions(t)
		cfg.DirAuthorities = net.DirAuthorities
		cfg.OnClients = func([]*chutney.Client) { t.Error("tor clients started without proof of operating the relay") }
		sc := relayScenario(scenarios.RoleBridge, 1)
		sc.Target.Relay.MetricsURL = ""
		_, err := Run(context.Background(), sc, cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "--skip-relay-proof") {
			t.Fatalf("err = %v; want a ConfigError naming --skip-relay-proof", err)
		}
	})

	// The ControlPort proof against real tor: the target's cookie, copied
	// as an operator copies it from the relay's machine, passes tor's
	// SAFECOOKIE handshake and GETINFO fingerprint names the target; a
	// cookie of another tor does not authenticate.
	t.Run("relay proof by ControlPort", func(t *testing.T) {
		p := target.Process()
		cookie := filepath.Join(t.TempDir(), "control_auth_cookie")
		data, err := os.ReadFile(p.CookiePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cookie, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sc := relayScenario(scenarios.RoleEntry, 1)
		sc.Target.Relay.MetricsURL = ""
		sc.Target.Relay.ControlPort, sc.Target.Relay.ControlCookie = p.ControlAddr, cookie
		proof, err := proveRelay(context.Background(), sc, false)
		if err != nil {
			t.Fatal(err)
		}
		if proof.Kind != rundir.ProofControlPort || !strings.Contains(proof.Detail, target.Fingerprint) {
			t.Errorf("proof %+v; want the ControlPort naming %s", proof, target.Fingerprint)
		}
		data[0] ^= 0xff
		if err := os.WriteFile(cookie, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := proveRelay(context.Background(), sc, false); err == nil || !strings.Contains(err.Error(), "does not know the cookie") {
			t.Errorf("with another cookie: err = %v; want the ControlPort refused", err)
		}
	})

	t.Run("relay with the payload from relaybench serve", func(t *testing.T) {
		testRelayPayloadFromServe(t, net, relayScenario)
	})

	t.Run("socks churn", func(t *testing.T) {
		sc := shortScenario(t, "local-churn", 2, 4)
		sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{
			Addresses: []string{net.Client.SocksAddr}, MetricsURLs: []string{target.MetricsURL()},
		}}
		sc.Clients = 0
		res, err := Run(context.Background(), sc, testOptions(t))
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkRamp(t, res, false)
		steps := res.Reps[0].Steps
		if steps[1].Requests <= steps[0].Requests {
			t.Errorf("churn at %d req/s made %d requests, at %d req/s %d: the open loop did not follow the rate",
				steps[0].Load, steps[0].Requests, steps[1].Load, steps[1].Requests)
		}
	})

	t.Run("pool client killed mid-run", func(t *testing.T) {
		cfg := testOptions(t)
		cfg.DirAuthorities = net.DirAuthorities
		var (
			mu       sync.Mutex
			killedAt time.Time
		)
		cfg.OnClients = func(clients []*chutney.Client) {
			victim := clients[0].Process
			time.AfterFunc(3*time.Second, func() {
				mu.Lock()
				killedAt = time.Now()
				mu.Unlock()
				syscall.Kill(victim.PID(), syscall.SIGKILL)
			})
		}
		res, err := Run(context.Background(), relayScenario(scenarios.RoleBridge, 2, 4), cfg)
		if err != nil {
			t.Fatalf("run with a dead client: %v (want the run to go on with the rest of the pool)", err)
		}
		checkRamp(t, res, false)
		lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
		if err != nil {
			t.Fatal(err)
		}
		recs := lines.Records
		mu.Lock()
		defer mu.Unlock()
		before, lateOnDead := 0, 0
		for _, r := range recs {
			switch {
			case r.Endpoint == 0 && r.Start.Before(killedAt):
				before++
			case r.Endpoint == 0 && r.Start.After(killedAt.Add(time.Second)):
				lateOnDead++
			}
		}
		if before == 0 {
			t.Errorf("no record through the killed client before it died: records were lost")
		}
		if lateOnDead > 0 {
			t.Errorf("%d requests were sent to the dead client more than 1 s after it died", lateOnDead)
		}
		// The death is a warning of the run, in run.json and summary.json.
		info, err := rundir.ReadRunInfo(res.Dir)
		if err != nil {
			t.Fatal(err)
		}
		died := func(ws []string) bool {
			return slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, "tor client load0 of the pool died") })
		}
		if !died(info.Warnings) || res.Analysis == nil || !died(res.Analysis.Warnings) {
			t.Errorf("run.json warnings %q, summary warnings %q: want the client's death in both", info.Warnings, res.Analysis.Warnings)
		}
	})
}

// TestRunSocksPortNotListening: a SocksPort nobody listens on is reported
// at once, by address.
func TestRunSocksPortNotListening(t *testing.T) {
	port, err := chutney.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	sc := shortScenario(t, "local", 1)
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: []string{addr}}}
	sc.Clients = 0
	start := time.Now()
	_, err = Run(context.Background(), sc, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "not listening") {
		t.Fatalf("err = %v, want one naming %s as not listening", err, addr)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to report an unreachable SocksPort, want under 5 s", took)
	}
}

// shared is the embedded network of the tests that only load an existing
// network (sharedNetwork), started by the first of them and stopped by
// TestMain: one start-up (15 to 20 s) instead of one per test.
var shared struct {
	once sync.Once
	net  *chutney.Network
	err  error
}

// sharedNetwork returns the package's shared embedded network, starting it
// on first use; skipped with -short. Its target stands in for a bridge
// (chutney.RoleTorrc): most of these tests use it as one, and their loads
// of a circuit per request from three clients would otherwise trip the DoS
// defences a real bridge does not run, and mark the client address for
// the tests after them.
func sharedNetwork(t *testing.T) *chutney.Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	shared.once.Do(func() {
		var dir string
		if dir, shared.err = os.MkdirTemp("", "shared-"); shared.err == nil {
			shared.net, shared.err = chutney.Start(context.Background(), filepath.Join(dir, "net"),
				chutney.WithTargetTorrc(chutney.RoleTorrc(scenarios.RoleBridge)...))
		}
	})
	if shared.err != nil {
		t.Fatalf("start the shared network: %v", shared.err)
	}
	return shared.net
}

// TestMain puts every directory of the tests under one root (TMPDIR, which
// t.TempDir and os.MkdirTemp use), stops the shared network whatever the
// tests' outcome, and fails the package if a tor process under the root
// outlived the tests.
func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "relaybench-session-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", root)
	code := m.Run()
	if shared.net != nil {
		shared.net.Stop()
	}
	os.Exit(testkit.EndTorTests(root, code))
}
