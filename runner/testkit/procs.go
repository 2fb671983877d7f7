package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// TorProcessesUnder lists the PIDs of live tor processes (zombies left
// out) whose command line mentions a path under root: what a test
// package's TestMain checks after its tests, with root the directory all
// its networks and run directories live in, so that no tor outlives the
// tests whatever their outcome.
func TorProcessesUnder(root string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		// A zombie's cmdline is empty: it is left out with the rest.
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) == "tor" && strings.Contains(string(cmdline), root) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// EndTorTests ends the tests of a package whose networks and run
// directories all live under root: any tor process still running there
// is reported on stderr and killed, and fails the tests; root is removed
// when they passed (kept for a look otherwise). It returns the exit code
// for os.Exit, given m.Run's.
func EndTorTests(root string, code int) int {
	if left := TorProcessesUnder(root); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tor processes left running after the tests: %v\n", left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		code = 1
	}
	if code == 0 {
		os.RemoveAll(root)
	}
	return code
}
