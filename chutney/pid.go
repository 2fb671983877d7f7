package chutney

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// This file reads /proc for what a PID names now. A PID outlives its
// process and is reused, so a node's tor counts as alive (and is signalled)
// only while its command line names the node's torrc, and the network's
// owner only while its start time and command line are those network.json
// recorded (Description.OwnerRunning).

// isOurTor reports whether pid runs tor with a torrc in dataDir.
func isOurTor(pid int, dataDir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if !Running(pid) {
		return false
	}
	return strings.Contains(string(cmdline), filepath.Join(dataDir, torrcFile))
}

// startTicks returns when process pid started: field 22 of /proc/PID/stat,
// in clock ticks since boot. With the PID it names one process for the
// machine's uptime: a later process given the same PID starts later.
func startTicks(pid int) (uint64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields follow the parenthesised command name, which may hold
	// spaces; after it come field 3 (state) onwards.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want 20 or more", pid, len(fields))
	}
	return strconv.ParseUint(fields[22-3], 10, 64)
}

// cmdline returns the arguments of process pid.
func cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

// Running reports whether pid is a live process: it exists and is not a
// zombie waiting to be reaped.
func Running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}
