package session

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

const (
	proofFingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"
	otherFingerprint = "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
)

// relayProofScenario is a relay target as entry with the given relay
// section; its fingerprint is proofFingerprint.
func relayProofScenario(t *testing.T, relay scenarios.RelayTarget) *scenarios.Scenario {
	t.Helper()
	sc := shortScenario(t, "local", 1)
	relay.Fingerprint = proofFingerprint
	sc.Target = scenarios.Target{Kind: scenarios.TargetRelay, Role: scenarios.RoleEntry, Relay: &relay}
	sc.Payload.URL = "https://example.org/10MiB.bin"
	return sc
}

// TestRelayProofByMetricsPort: a MetricsPort serving tor's relay families
// (the fake serves a real relay's scrape) is proof; one that serves other
// metrics is not, and the error says so.
func TestRelayProofByMetricsPort(t *testing.T) {
	mp := testkit.StartMetricsPort(t)
	proof, err := proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{MetricsURL: mp.URL()}), false)
	if err != nil {
		t.Fatal(err)
	}
	if proof.Kind != rundir.ProofMetricsPort || !strings.Contains(proof.Detail, mp.URL()) || !strings.Contains(proof.Detail, "tor_relay_*") {
		t.Errorf("proof = %+v, want the MetricsPort %s", proof, mp.URL())
	}

	notTor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE node_load1 gauge\nnode_load1 0.5")
	}))
	defer notTor.Close()
	_, err = proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{MetricsURL: notTor.URL + "/metrics"}), false)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "none of them tor_relay_*") || !strings.Contains(err.Error(), "target.relay.metrics_url") {
		t.Errorf("err = %v, want a ConfigError saying the URL serves no tor_relay_* family", err)
	}
}

// TestRelayProofRefusesWithoutProof: a relay target with neither a
// MetricsPort nor a ControlPort is a ConfigError naming the fields and the
// flag, before the run directory exists or any tor starts (tor is not on
// PATH here: starting a client would fail otherwise); the flag runs it and
// says there was no proof.
func TestRelayProofRefusesWithoutProof(t *testing.T) {
	sc := relayProofScenario(t, scenarios.RelayTarget{})
	t.Setenv("PATH", t.TempDir())
	opts := testOptions(t)
	res, err := Run(context.Background(), sc, opts)
	var ce *ConfigError
	if !errors.As(err, &ce) || res != nil {
		t.Fatalf("Run = %v, %v; want a ConfigError and no run", res, err)
	}
	for _, want := range []string{proofFingerprint, "target.relay.metrics_url", "target.relay.control_port", "target.relay.control_cookie", ControlPasswordEnv, "--skip-relay-proof", "no tor client was started"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(opts.OutDir); len(entries) != 0 {
		t.Errorf("the refused run left %d entries in the output directory", len(entries))
	}

	proof, err := proveRelay(context.Background(), sc, true)
	if err != nil || proof.Kind != rundir.ProofSkipped {
		t.Errorf("with --skip-relay-proof: %+v, %v; want the skipped proof", proof, err)
	}
	// Other targets need none.
	if proof, err := proveRelay(context.Background(), shortScenario(t, "local", 1), false); proof != nil || err != nil {
		t.Errorf("testnet target: %+v, %v; want no proof and no error", proof, err)
	}
}

// TestRelayProofByControlPort covers the ControlPort proof against a fake
// ControlPort with password authentication (the cookie's SAFECOOKIE
// handshake is tested on real tor, in TestRunOnExistingNetwork): the right
// password and fingerprint prove it; another relay's fingerprint is an
// error that no MetricsPort can override; a wrong password falls back to
// the MetricsPort.
func TestRelayProofByControlPort(t *testing.T) {
	ctl := startFakeControlPort(t, "s3cret", proofFingerprint)
	t.Setenv(ControlPasswordEnv, "s3cret")
	proof, err := proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{ControlPort: ctl.addr}), false)
	if err != nil {
		t.Fatal(err)
	}
	if proof.Kind != rundir.ProofControlPort || !strings.Contains(proof.Detail, proofFingerprint) {
		t.Errorf("proof = %+v, want the ControlPort naming %s", proof, proofFingerprint)
	}

	other := startFakeControlPort(t, "s3cret", otherFingerprint)
	mp := testkit.StartMetricsPort(t)
	_, err = proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{ControlPort: other.addr, MetricsURL: mp.URL()}), false)
	if err == nil || !strings.Contains(err.Error(), otherFingerprint) || !strings.Contains(err.Error(), "not to the relay under test") {
		t.Errorf("err = %v, want one saying the ControlPort belongs to %s", err, otherFingerprint)
	}

	t.Setenv(ControlPasswordEnv, "wrong")
	proof, err = proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{ControlPort: ctl.addr, MetricsURL: mp.URL()}), false)
	if err != nil || proof.Kind != rundir.ProofMetricsPort || !strings.Contains(proof.Detail, "authenticate") {
		t.Errorf("wrong password with a MetricsPort: %+v, %v; want the MetricsPort proof noting the failed ControlPort", proof, err)
	}
	_, err = proveRelay(context.Background(), relayProofScenario(t, scenarios.RelayTarget{ControlPort: ctl.addr}), false)
	if err == nil || !strings.Contains(err.Error(), "Password did not match") || !strings.Contains(err.Error(), "--skip-relay-proof") {
		t.Errorf("wrong password alone: err = %v, want tor's refusal and what to do", err)
	}
}

// fakeControlPort answers the part of tor's control protocol the proof
// uses: PROTOCOLINFO (password authentication only), AUTHENTICATE with
// the hex password, GETINFO fingerprint once authenticated, QUIT.
type fakeControlPort struct{ addr string }

func startFakeControlPort(t *testing.T, password, fingerprint string) fakeControlPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				authed := false
				r := bufio.NewScanner(conn)
				reply := func(lines ...string) { fmt.Fprint(conn, strings.Join(lines, "\r\n")+"\r\n") }
				for r.Scan() {
					cmd, arg, _ := strings.Cut(r.Text(), " ")
					switch {
					case cmd == "PROTOCOLINFO":
						reply("250-PROTOCOLINFO 1", "250-AUTH METHODS=HASHEDPASSWORD", `250-VERSION Tor="0.4.8.0"`, "250 OK")
					case cmd == "AUTHENTICATE" && arg == hex.EncodeToString([]byte(password)):
						authed = true
						reply("250 OK")
					case cmd == "AUTHENTICATE":
						reply("515 Authentication failed: Password did not match HashedControlPassword value from configuration")
					case !authed:
						reply("514 Authentication required.")
						return
					case cmd == "GETINFO" && arg == "fingerprint":
						reply("250-fingerprint="+fingerprint, "250 OK")
					case cmd == "QUIT":
						reply("250 closing connection")
						return
					default:
						reply("510 Unrecognized command")
					}
				}
			}()
		}
	}()
	return fakeControlPort{addr: ln.Addr().String()}
}
