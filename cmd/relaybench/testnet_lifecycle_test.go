package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
)

// TestTestnetLifecycleWithoutTor: what `testnet status`, `down` and `up`
// do with a network.json that is not true any more, tor-free. A stale
// owner_pid now belongs to an unrelated process whose command line says
// "testnet": down must not signal it, and must leave network.json saying
// stopped; status must not say ready. A dir another network holds is
// refused by up at once.
func TestTestnetLifecycleWithoutTor(t *testing.T) {
	dir := t.TempDir()
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
	time.Sleep(100 * time.Millisecond)
	// network.json of a network whose owner was killed and whose PID the
	// decoy got: the start time recorded is not the decoy's.
	stale := chutney.Description{Version: chutney.DescriptionVersion, State: chutney.StateReady, Dir: dir,
		OwnerPID: decoy.Process.Pid, OwnerStartTicks: 1, OwnerCmdline: []string{"relaybench", "testnet", "serve", "--dir", dir}}
	b, _ := json.Marshal(stale)
	if err := os.WriteFile(filepath.Join(dir, chutney.DescriptionFile), b, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		exit int
		want string // in stdout or the error
	}{
		{[]string{"testnet", "status", "--dir", dir}, exitRunFailure, "state orphaned"},
		{[]string{"testnet", "status", "--dir", dir}, exitRunFailure, "owner process " + strconv.Itoa(decoy.Process.Pid) + " is gone"},
		{[]string{"testnet", "down", "--dir", dir}, exitOK, "stopped (0 tor processes ended)"},
		{[]string{"testnet", "status", "--dir", dir}, exitOK, "state stopped"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(tc.args, &stdout, &stderr)
		all := stdout.String()
		if err != nil {
			all += err.Error()
		}
		if exitCode(err) != tc.exit || !strings.Contains(all, tc.want) {
			t.Errorf("%q: exit %d, output %q; want exit %d saying %q", tc.args, exitCode(err), all, tc.exit, tc.want)
		}
		if strings.Contains(stdout.String(), "state ready") {
			t.Errorf("%q says ready:\n%s", tc.args, stdout.String())
		}
	}
	if err := decoy.Process.Signal(syscall.Signal(0)); err != nil || !chutney.Running(decoy.Process.Pid) {
		t.Fatalf("testnet down signalled the unrelated process %d whose command line says testnet", decoy.Process.Pid)
	}
	if d, err := chutney.ReadDescription(dir); err != nil || d.State != chutney.StateStopped {
		t.Errorf("network.json after down: %+v, %v; want state stopped", d, err)
	}

	// A dir whose lock another process holds: up says so at once (exit 2).
	f, err := os.OpenFile(filepath.Join(dir, chutney.LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err = run([]string{"testnet", "up", "--dir", dir}, &stdout, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "testnet down --dir "+dir) {
		t.Errorf("up in a held dir: exit %d, %v; want exit 2 saying it is in use", exitCode(err), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("up in a held dir took %v to refuse", d)
	}
	if d, err := chutney.ReadDescription(dir); err != nil || d.OwnerPID != decoy.Process.Pid {
		t.Errorf("up in a held dir touched its network.json: %+v, %v", d, err)
	}
}
