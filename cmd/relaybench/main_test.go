package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
)

// TestMain lets the test binary stand in for the relaybench binary when
// `testnet up` re-executes itself as the network's owner.
func TestMain(m *testing.M) {
	if os.Getenv(payloadServerEnv) != "" {
		servePayloadProcess()
	}
	if len(os.Args) > 2 && os.Args[1] == "testnet" && os.Args[2] == "serve" {
		if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString("relaybench: " + err.Error() + "\n")
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error or on stderr
	}{
		{nil, "no command given"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"testnet"}, "no subcommand"},
		{[]string{"testnet", "sideways"}, `unknown subcommand "sideways"`},
		{[]string{"testnet", "up", "--nofile", "lots"}, "-nofile"},
		{[]string{"testnet", "up", "--set", "exit.BandwidthRate=1"}, "-set"},
		{[]string{"testnet", "up", "--set", "target.BandwidthRate"}, "Option=Value"},
		{[]string{"testnet", "up", "--timeout", "soon"}, "-timeout"},
		{[]string{"testnet", "up", "--frobnicate"}, "-frobnicate"},
		{[]string{"testnet", "status", "extra"}, `unexpected argument "extra"`},
		{[]string{"testnet", "smoke", "--size", "huge"}, "-size"},
		{[]string{"testnet", "status", "--dir", "/nonexistent/relaybench"}, "testnet up --dir /nonexistent/relaybench"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(tc.args, &stdout, &stderr)
		if err == nil {
			t.Errorf("run(%q) succeeded", tc.args)
			continue
		}
		if got := exitCode(err); got != exitUsage {
			t.Errorf("run(%q): exit code %d, want %d (err %v)", tc.args, got, exitUsage, err)
		}
		if all := err.Error() + stderr.String(); !strings.Contains(all, tc.want) {
			t.Errorf("run(%q): message %q does not mention %q", tc.args, all, tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"help"}, &out, &out); err != nil || !strings.Contains(out.String(), "testnet up") {
		t.Errorf("help: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"version"}, &out, &out); err != nil || !strings.Contains(out.String(), "tor: Tor version") {
		t.Errorf("version: %v\n%s", err, out.String())
	}
}

// TestTestnetUpStatusDown runs the CLI as a user would: up detaches an owner
// process and prints what the user needs, status shows every node running,
// down stops them all.
func TestTestnetUpStatusDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "net")
	var stdout, stderr bytes.Buffer
	t.Cleanup(func() {
		// Whatever failed, leave nothing running.
		if d, err := chutney.ReadDescription(dir); err == nil {
			if d.OwnerRunning() {
				syscall.Kill(d.OwnerPID, syscall.SIGKILL)
			}
			d.KillRemaining()
		}
	})
	err := run([]string{"testnet", "up", "--dir", dir, "--set", "target.BandwidthRate=4 MBytes", "--set", "target.BandwidthBurst=4 MBytes"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("testnet up: %v\nstderr: %s", err, stderr.String())
	}
	d, err := chutney.ReadDescription(dir)
	if err != nil {
		t.Fatal(err)
	}
	target := d.Node(chutney.RoleTarget)
	for _, want := range []string{target.MetricsURL, "Bridge " + target.BridgeLine, target.Fingerprint, "relaybench testnet down --dir " + dir} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("testnet up output lacks %q:\n%s", want, stdout.String())
		}
	}
	torrc, err := os.ReadFile(target.Torrc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(torrc), "\nBandwidthRate 4 MBytes\n") || !strings.Contains(string(torrc), "\nBandwidthBurst 4 MBytes\n") {
		t.Errorf("--set overrides missing from the target's torrc:\n%s", torrc)
	}
	if d.OwnerPID == os.Getpid() || !d.OwnerRunning() {
		t.Errorf("owner pid %d is not a detached relaybench process", d.OwnerPID)
	}
	if len(d.AlivePIDs()) != len(d.Nodes) {
		t.Fatalf("%d of %d tor processes run after up", len(d.AlivePIDs()), len(d.Nodes))
	}

	stdout.Reset()
	if err := run([]string{"testnet", "status", "--dir", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("testnet status: %v\n%s", err, stdout.String())
	}
	if got := strings.Count(stdout.String(), " true "); got != len(d.Nodes) {
		t.Errorf("status shows %d running nodes, want %d:\n%s", got, len(d.Nodes), stdout.String())
	}
	if !strings.Contains(stdout.String(), "(200 OK)") {
		t.Errorf("status does not show the MetricsPorts answering:\n%s", stdout.String())
	}

	// A second up in the same dir is refused while the first runs.
	if err := run([]string{"testnet", "up", "--dir", dir}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second up in a busy dir: %v", err)
	}

	stdout.Reset()
	if err := run([]string{"testnet", "down", "--dir", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("testnet down: %v", err)
	}
	if !strings.Contains(stdout.String(), "stopped") {
		t.Errorf("down output: %s", stdout.String())
	}
	if alive := d.AlivePIDs(); len(alive) > 0 {
		t.Errorf("tor processes %v still run after down", alive)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.OwnerRunning() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if d.OwnerRunning() {
		t.Errorf("owner process %d still runs after down", d.OwnerPID)
	}
	if d, _ := chutney.ReadDescription(dir); d == nil || d.State != chutney.StateStopped {
		t.Errorf("network.json after down: %+v", d)
	}
}
