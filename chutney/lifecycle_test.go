package chutney

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/testkit"
)

// startDecoy starts a process that is not a network's owner but whose
// command line says "testnet" as an owner's would, and stops it when the
// test ends.
func startDecoy(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	// "; exit 0" keeps sh from exec-ing sleep (dash does for a lone
	// command), which would drop the command line the test depends on.
	decoy := exec.Command("sh", "-c", "sleep 60; exit 0", "relaybench", "testnet", "serve", "--dir", dir)
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		decoy.Process.Kill()
		decoy.Wait()
	})
	// sh has exec'd nothing yet or is waiting on sleep: either way its
	// command line is the one above once /proc shows it.
	for range 100 {
		if args, err := cmdline(decoy.Process.Pid); err == nil && len(args) > 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return decoy
}

// TestOwnerRunningChecksStartTimeAndCommandLine: a network's owner is the
// process with its PID, its start time and its command line; a process
// that merely has the PID, or "testnet" in its command line, is not, and
// Shutdown never signals it.
func TestOwnerRunningChecksStartTimeAndCommandLine(t *testing.T) {
	dir := t.TempDir()
	decoy := startDecoy(t, dir)
	pid := decoy.Process.Pid
	ticks, err := startTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	args, err := cmdline(pid)
	if err != nil {
		t.Fatal(err)
	}
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		d    Description
		want bool
	}{
		{"network.json of an older relaybench (no start time)", Description{OwnerPID: pid}, false},
		{"another command line", Description{OwnerPID: pid, OwnerStartTicks: ticks, OwnerCmdline: []string{"relaybench", "testnet", "serve", "--dir", dir}}, false},
		{"a PID reused since (another start time)", Description{OwnerPID: pid, OwnerStartTicks: ticks - 1, OwnerCmdline: args}, false},
		{"a process that exited", Description{OwnerPID: exited.Process.Pid, OwnerStartTicks: ticks, OwnerCmdline: args}, false},
		{"no owner", Description{}, false},
		{"the owner", Description{OwnerPID: pid, OwnerStartTicks: ticks, OwnerCmdline: args}, true},
	} {
		if got := tc.d.OwnerRunning(); got != tc.want {
			t.Errorf("%s: OwnerRunning = %v, want %v", tc.name, got, tc.want)
		}
	}

	// What `testnet down` does with a stale network.json that points at
	// the decoy: nothing to the decoy.
	stale := Description{State: StateReady, Dir: dir, OwnerPID: pid, OwnerStartTicks: ticks + 1, OwnerCmdline: args}
	if _, _, err := stale.Shutdown(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if !Running(pid) {
		t.Fatal("Shutdown of a stale network.json signalled an unrelated process whose command line says testnet")
	}

	// This process, described as the owner, is one.
	self := (&Network{Dir: dir}).Describe(StateReady, nil)
	if !self.OwnerRunning() {
		t.Errorf("the describing process is not its network's owner: pid %d ticks %d cmdline %q", self.OwnerPID, self.OwnerStartTicks, self.OwnerCmdline)
	}
}

// TestDirLock: one network per dir. A second lock on a held dir, by
// CheckDirFree or by Start, is refused at once with ErrInUse naming the
// holder; once released, the dir is free again.
func TestDirLock(t *testing.T) {
	dir := t.TempDir()
	held, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, DescriptionFile), []byte(`{"version":1,"state":"starting","owner_pid":4242}`), 0o600)
	for name, try := range map[string]func() error{
		"CheckDirFree": func() error { return CheckDirFree(dir) },
		"Start": func() error {
			n, err := Start(context.Background(), dir)
			if n != nil {
				n.Stop()
			}
			return err
		},
	} {
		err := try()
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "process 4242 (state starting)") || !strings.Contains(err.Error(), "testnet down --dir "+dir) {
			t.Errorf("%s on a held dir: %v; want ErrInUse naming the holder and what to do", name, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, DescriptionFile)); !strings.Contains(string(b), `"owner_pid":4242`) {
		t.Errorf("a refused Start touched the holder's network.json: %s", b)
	}
	held.Close()
	if err := CheckDirFree(dir); err != nil {
		t.Errorf("released dir: %v", err)
	}
}

// TestStateIsKeptTrue: a network said ready whose owner is gone is
// orphaned, never ready; MarkStopped makes network.json say stopped, but
// not while a network holds the dir.
func TestStateIsKeptTrue(t *testing.T) {
	dir := t.TempDir()
	d := &Description{Version: DescriptionVersion, State: StateReady, Dir: dir, OwnerPID: 1 << 22, OwnerStartTicks: 1, OwnerCmdline: []string{"gone"}}
	if got := d.CurrentState(); got != StateOrphaned {
		t.Errorf("ready network without its owner: state %s, want %s", got, StateOrphaned)
	}
	for _, s := range []State{StateStopped, StateFailed} {
		if got := (&Description{State: s}).CurrentState(); got != s {
			t.Errorf("%s network: state %s", s, got)
		}
	}

	held, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MarkStopped(dir); !errors.Is(err, ErrInUse) {
		t.Errorf("MarkStopped on a held dir: %v, want ErrInUse", err)
	}
	held.Close()
	if err := d.MarkStopped(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDescription(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != StateStopped || back.OwnerPID != d.OwnerPID || d.State != StateStopped {
		t.Errorf("after MarkStopped network.json says %s (owner %d), the description %s; want stopped", back.State, back.OwnerPID, d.State)
	}
}

// TestInterruptedStartSaysSo: a start stopped by its context (Ctrl-C) is
// reported as stopped, not diagnosed as a network that was too slow, and
// leaves nothing running.
func TestInterruptedStartSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tor; skipped with -short")
	}
	dir := filepath.Join(testRoot, "interrupted")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	n, err := Start(ctx, dir)
	if n != nil {
		n.Stop()
	}
	if err == nil || !strings.Contains(err.Error(), "stopped while it started") || !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted start: %v; want it to say it was stopped", err)
	}
	if err != nil && (strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "busy")) {
		t.Errorf("interrupted start is diagnosed as a slow one: %v", err)
	}
	if left := testkit.TorProcessesUnder(dir); len(left) > 0 {
		t.Errorf("tor processes left after an interrupted start: %v", left)
	}
	if d, err := ReadDescription(dir); err == nil && d.CurrentState() == StateReady {
		t.Errorf("network.json says ready after an interrupted start")
	}
}
