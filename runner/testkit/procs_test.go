package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTorProcessesUnder: a child whose command is tor under root (a copy
// of sleep named tor) is found while it runs, not once it ended, and not
// under another root.
func TestTorProcessesUnder(t *testing.T) {
	root := t.TempDir()
	cmd := startFakeTor(t, filepath.Join(root, "net"))
	pid := cmd.Process.Pid
	if got := TorProcessesUnder(root); !slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(%s) = %v while tor %d runs", root, got, pid)
	}
	if got := TorProcessesUnder(t.TempDir()); slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(another root) = %v; it holds tor %d", got, pid)
	}
	// Killed and not yet reaped, it is a zombie: not running.
	cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
	}
	if got := TorProcessesUnder(root); slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(%s) = %v after tor %d ended (a zombie)", root, got, pid)
	}
	cmd.Wait()
}

// TestEndTorTests: a tor left under root fails passing tests, is killed
// and keeps root for a look; with none left, passing tests remove root
// and failing ones keep it.
func TestEndTorTests(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	cmd := startFakeTor(t, root)
	ended := make(chan struct{})
	go func() { cmd.Wait(); close(ended) }()
	if code := EndTorTests(root, 0); code != 1 {
		t.Errorf("EndTorTests with tor %d left = %d, want 1", cmd.Process.Pid, code)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("tor %d still runs after EndTorTests", cmd.Process.Pid)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed after a leak: %v", err)
	}
	if code := EndTorTests(root, 2); code != 2 {
		t.Errorf("EndTorTests of failed tests = %d, want their 2", code)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed after failed tests: %v", err)
	}
	if code := EndTorTests(root, 0); code != 0 {
		t.Errorf("EndTorTests of passing tests, nothing left = %d, want 0", code)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root kept after passing tests: %v", err)
	}
}

// startFakeTor starts a copy of sleep named tor in dir, for 60 s; the
// caller ends it.
func startFakeTor(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep to stand in for tor")
	}
	fake := filepath.Join(dir, "tor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
