package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestTorProcessesUnder: a child whose command is tor under root (a copy
// of sleep named tor) is found while it runs, not once it ended, and not
// under another root.
func TestTorProcessesUnder(t *testing.T) {
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep to stand in for tor")
	}
	root := t.TempDir()
	fake := filepath.Join(root, "net", "tor")
	if err := os.MkdirAll(filepath.Dir(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if got := TorProcessesUnder(root); !slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(%s) = %v while tor %d runs", root, got, pid)
	}
	if got := TorProcessesUnder(t.TempDir()); slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(another root) = %v; it holds tor %d", got, pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got := TorProcessesUnder(root); slices.Contains(got, pid) {
		t.Errorf("TorProcessesUnder(%s) = %v after tor %d ended", root, got, pid)
	}
}
