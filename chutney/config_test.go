package chutney

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTargetOverridesTakesOnlyTheTarget(t *testing.T) {
	var s TargetOverrides
	for _, v := range []string{"target.BandwidthRate=2MBytes", "target.ConnLimit 1000"} {
		if err := s.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if got, want := s.String(), "target.BandwidthRate=2MBytes,target.ConnLimit=1000"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, v := range []string{"exit.BandwidthRate=1", "BandwidthRate=1", "target.=1"} {
		if err := s.Set(v); err == nil {
			t.Errorf("Set(%q) accepted an override of something else than the target", v)
		}
	}
}

// TestConfigArgsGiveTheSameConfig parses Args back with the flags of an
// owner process (RegisterFlags), so that the owner shapes the same network.
func TestConfigArgsGiveTheSameConfig(t *testing.T) {
	c := Config{Dir: "/tmp/n", Target: TargetOverrides{{"BandwidthRate", "2 MBytes"}}, Nofile: 4096, Exits: 2, Middles: 3,
		Timeout: 90 * time.Second, Lifetime: time.Hour, CPU: 0.25, Memory: 512 << 20, Tor: "/opt/tor"}
	var got Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	got.RegisterFlags(fs)
	if err := fs.Parse(c.Args()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Target, c.Target) || got.Dir != c.Dir || got.Nofile != c.Nofile || got.Exits != c.Exits ||
		got.Middles != c.Middles || got.Timeout != c.Timeout || got.Lifetime != c.Lifetime || got.CPU != c.CPU ||
		got.Memory != c.Memory || got.Tor != c.Tor {
		t.Errorf("Args() %q parse back to %+v, want %+v", c.Args(), got, c)
	}
	if n := len(c.Options(nil)); n < 6 {
		t.Errorf("Options() has %d options, want the size, timeout, progress, torrc, nofile and shape ones", n)
	}
}

func TestTargetExtras(t *testing.T) {
	d := &Description{TargetTorVersion: "Tor 0.4.9.1", Nodes: []NodeDescription{
		{Role: RoleExit, TorBinary: "tor"},
		{Role: RoleTarget, TorBinary: "tor"},
	}}
	target := &d.Nodes[1]
	if tor, confined := d.TargetExtras(target); tor != "" || confined != "" {
		t.Errorf("same tor, unconfined: got %q, %q, want nothing", tor, confined)
	}
	target.TorBinary, target.Cgroups, target.CPUQuotaCores, target.MemoryLimitBytes = "/opt/tor", []string{"/sys/fs/cgroup/rb"}, 0.5, 512<<20
	tor, confined := d.TargetExtras(target)
	if tor != "/opt/tor (Tor 0.4.9.1)" || confined != "0.5 cores and 512MiB in cgroup /sys/fs/cgroup/rb" {
		t.Errorf("got %q, %q", tor, confined)
	}
}

func TestProblem(t *testing.T) {
	d := &Description{Dir: "/tmp/n", State: StateReady, OwnerPID: 42, Nodes: make([]NodeDescription, 3)}
	all := []NodeStatus{{Running: true}, {Running: true}, {Running: true}}
	if err := d.Problem(StateReady, all); err != nil {
		t.Errorf("all running: %v", err)
	}
	all[1].Running = false
	if err := d.Problem(StateReady, all); err == nil || !strings.Contains(err.Error(), "1 of 3 tor processes are not running") {
		t.Errorf("one stopped: got %v", err)
	}
	if err := d.Problem(StateOrphaned, all); err == nil || !strings.Contains(err.Error(), "owner process 42 is gone") {
		t.Errorf("orphaned: got %v", err)
	}
	d.State = StateStopped
	if err := d.Problem(StateStopped, all); err != nil {
		t.Errorf("stopped network with stopped nodes: %v", err)
	}
}

// TestDownMarksStopped: downing a network whose owner and tors are gone
// ends nothing and leaves network.json saying stopped; a network still
// holding its dir is not marked.
func TestDownMarksStopped(t *testing.T) {
	dir := t.TempDir()
	d := &Description{Dir: dir, State: StateReady}
	td, err := d.Down(dir)
	if err != nil || td.Ran != 0 || td.Killed != 0 {
		t.Fatalf("Down: ran %d, killed %d, %v", td.Ran, td.Killed, err)
	}
	back, err := ReadDescription(dir)
	if err != nil || back.State != StateStopped {
		t.Fatalf("network.json after Down: %+v, %v", back, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	d.State = StateReady
	if _, err := d.Down(dir); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "could not say so") {
		t.Errorf("Down of a held dir: %v, want ErrInUse saying network.json could not say so", err)
	}
}

// TestStartOwnerRefusesADirWithRunningTor: tor processes of an earlier
// network whose owner is gone still run in the dir (a decoy whose command
// line names a node's torrc): StartOwner refuses at once, with an error
// wrapping ErrInUse that says how to stop them, and starts no owner.
func TestStartOwnerRefusesADirWithRunningTor(t *testing.T) {
	dir := t.TempDir()
	node := filepath.Join(dir, "target")
	// "; exit 0" keeps sh from exec-ing sleep (dash does for a lone
	// command), which would drop the command line the test depends on.
	decoy := exec.Command("sh", "-c", "sleep 60; exit 0", "tor", "-f", filepath.Join(node, torrcFile))
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		decoy.Process.Kill()
		decoy.Wait()
	})
	d := Description{Version: DescriptionVersion, State: StateStopped, Dir: dir, Nodes: []NodeDescription{{Role: RoleTarget, PID: decoy.Process.Pid, DataDir: node}}}
	data, _ := json.Marshal(d)
	if err := os.WriteFile(filepath.Join(dir, DescriptionFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{Dir: dir}
	_, err := c.StartOwner(context.Background(), []string{"testnet", "serve"}, io.Discard)
	want := "a network is already running in " + dir + ": use it, stop it with `relaybench testnet down --dir " + dir + "`, or pick another --dir"
	if !errors.Is(err, ErrInUse) || err.Error() != want {
		t.Errorf("StartOwner: %v; want ErrInUse saying %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, OwnerLogFile)); err == nil {
		t.Error("an owner process was started")
	}
}
