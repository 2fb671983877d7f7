package envinfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/chutney/cgroup"
)

// readTrimmed reads a one-value file such as /proc/sys/kernel/osrelease.
func readTrimmed(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// readSysctl reads sysctl name (e.g. "net.core.somaxconn") from
// procRoot/sys, collapsing whitespace (tcp_rmem is tab-separated) to
// single spaces. A sysctl the kernel does not have yields an error that
// matches os.ErrNotExist.
func readSysctl(procRoot, name string) (string, error) {
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "..") {
		return "", fmt.Errorf("invalid sysctl name %q", name)
	}
	data, err := os.ReadFile(filepath.Join(procRoot, "sys", strings.ReplaceAll(name, ".", "/")))
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(string(data)), " "), nil
}

// cpuInfo is what /proc/cpuinfo says about the CPUs.
type cpuInfo struct {
	Model      string
	Processors int
}

// readCPUInfo reads the first CPU model name and counts the processor
// entries of a /proc/cpuinfo file. Architectures without "model name" (some
// ARM kernels) fall back to "Hardware" or "Processor".
func readCPUInfo(path string) (cpuInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return cpuInfo{}, err
	}
	var ci cpuInfo
	var fallback string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			// On ARM an older "Processor : ARMv7 ..." line names the model;
			// the numbered entries are lower case.
			if _, err := strconv.Atoi(val); err == nil {
				ci.Processors++
			}
		case "model name":
			if ci.Model == "" {
				ci.Model = val
			}
		case "Hardware", "Processor", "cpu model":
			if fallback == "" {
				fallback = val
			}
		}
	}
	if err := sc.Err(); err != nil {
		return cpuInfo{}, fmt.Errorf("read %s: %w", path, err)
	}
	if ci.Model == "" {
		ci.Model = fallback
	}
	if ci.Processors == 0 {
		return ci, fmt.Errorf("%s lists no processor", path)
	}
	return ci, nil
}

// readMemTotal returns MemTotal of a /proc/meminfo file in bytes, as tor
// reads it (src/lib/meminfo/meminfo.c: "MemTotal: %llu kB" times 1024).
func readMemTotal(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected MemTotal line %q", path, strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, fmt.Errorf("%s: bad MemTotal %q", path, f[0])
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s has no MemTotal line", path)
}

// readNoFile returns the soft and hard "Max open files" limits of a
// /proc/PID/limits file; -1 stands for "unlimited".
func readNoFile(path string) (soft, hard int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, fmt.Errorf("%s does not exist (has the process exited?): %w", path, err)
		}
		return 0, 0, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return 0, 0, fmt.Errorf("%s: unexpected line %q", path, strings.TrimSpace(line))
		}
		if soft, err = parseLimit(f[0]); err != nil {
			return 0, 0, fmt.Errorf("%s: soft limit: %w", path, err)
		}
		if hard, err = parseLimit(f[1]); err != nil {
			return 0, 0, fmt.Errorf("%s: hard limit: %w", path, err)
		}
		return soft, hard, nil
	}
	return 0, 0, fmt.Errorf("%s has no \"Max open files\" line", path)
}

func parseLimit(s string) (int64, error) {
	if s == "unlimited" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number or \"unlimited\": %q", s)
	}
	return n, nil
}

// cgroupMemoryLimit returns the memory limit of pid's cgroup in bytes, 0
// when there is none. It reads /proc/PID/cgroup and then memory.max
// (cgroup v2) or memory/memory.limit_in_bytes (v1) under cgroupRoot. Inside
// a container the cgroup namespace's root is mounted at cgroupRoot while
// /proc/PID/cgroup may still name the host path, so the root's files are
// the fallback.
func cgroupMemoryLimit(procRoot, cgroupRoot string, pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, fmt.Sprint(pid), "cgroup"))
	if err != nil {
		return 0, err
	}
	var candidates []string
	for line := range strings.Lines(string(data)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		cgPath := filepath.Clean("/" + parts[2])
		switch {
		case parts[0] == "0" && parts[1] == "": // v2 unified hierarchy
			candidates = append(candidates,
				filepath.Join(cgroupRoot, cgPath, "memory.max"),
				filepath.Join(cgroupRoot, "memory.max"))
		case hasController(parts[1], "memory"): // v1 memory controller
			candidates = append(candidates,
				filepath.Join(cgroupRoot, "memory", cgPath, "memory.limit_in_bytes"),
				filepath.Join(cgroupRoot, "memory", "memory.limit_in_bytes"))
		}
	}
	for _, path := range candidates {
		v, err := readTrimmed(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n, err := cgroup.ParseMemoryLimit(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		return n, nil
	}
	return 0, nil // no memory controller: no limit
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// parseInt parses a decimal control-port value; ok is false for "" and
// anything else that is not an integer.
func parseInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
