package envinfo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

func sampleEnv() *Env {
	return &Env{
		Version:    SchemaVersion,
		CapturedAt: time.Date(2025, 11, 23, 11, 0, 0, 123456789, time.UTC),
		Relaybench: "v0.3.0",
		Machine: Machine{
			KernelRelease: "6.1.0-26-amd64", KernelVersion: "#1 SMP", Arch: "amd64",
			CPUModel: "AMD EPYC", Cores: 2, CPUInfoProcessors: 2, RAMBytes: 24 << 30, GoVersion: "go1.26.8",
		},
		Sysctls: map[string]string{
			"net.core.somaxconn":           "4096",
			"net.ipv4.ip_local_port_range": "32768 60999",
		},
		SysctlsMissing: []string{"net.netfilter.nf_conntrack_max"},
		Processes: []Process{
			{Name: "rbtarget", Role: rundir.RoleTarget, PID: 100, Binary: "/usr/sbin/tor", TorVersion: "0.4.9.11",
				TorVersionSource: "control-port", NoFileSoft: 20000, NoFileHard: 20000, TorDescriptorLimit: 19968},
			{Name: "load0", Role: rundir.RoleClient, PID: 101, Binary: "/usr/sbin/tor", TorVersion: "0.4.9.11",
				TorVersionSource: "binary", NoFileSoft: 1024, NoFileHard: 524288},
		},
		Target: &TargetConfig{
			Name: "rbtarget", Source: "control-port",
			Options: map[string]string{"BandwidthRate": "1073741824", "MaxMemInQueues": "0", "ORPort": "5000"},
			MemoryBudget: &MemoryBudget{Bytes: 8 << 30, Source: "tor", Rule: "40% of 24 GiB RAM (RAM >= 8 GiB) = 9.6 GiB, capped at 8 GiB",
				LowThresholdBytes: 6 << 30, OOMThresholdBytes: 8 << 30},
		},
		Notes: []string{"something"},
	}
}

func TestDiff(t *testing.T) {
	a := sampleEnv()
	if d := Diff(a, sampleEnv()); len(d) != 0 {
		t.Fatalf("identical envs differ: %+v", d)
	}

	b := sampleEnv()
	// Ignored: capture time, PIDs, notes, error text, version sources.
	b.CapturedAt = b.CapturedAt.Add(time.Hour)
	b.Processes[0].PID, b.Processes[1].PID = 200, 201
	b.Notes = nil
	b.Processes[1].Err = "whatever"
	b.Processes[1].TorVersionSource = "control-port"
	// Compared:
	b.Machine.RAMBytes = 4 << 30
	b.Sysctls["net.core.somaxconn"] = "128"
	delete(b.Sysctls, "net.ipv4.ip_local_port_range")
	b.Sysctls["net.netfilter.nf_conntrack_max"] = "262144"
	b.Processes[1].TorVersion = "0.4.8.12"
	b.Processes[1].NoFileSoft = 524288
	b.Processes = append(b.Processes, Process{Name: "load1", Role: rundir.RoleClient})
	b.Target.Options["BandwidthRate"] = "2097152"
	b.Target.Options["MaxMemInQueues"] = ""
	b.Target.MemoryBudget = &MemoryBudget{Bytes: 3 << 30, Source: "tor", Rule: "75% of 4 GiB RAM (RAM < 8 GiB)"}
	b.Target.ConsensusParams = map[string]string{"DoSCircuitCreationRate": "2"}

	want := []Difference{
		{"machine/ram_bytes", "25769803776", "4294967296"},
		{"process/load0/nofile_soft", "1024", "524288"},
		{"process/load0/tor_version", "0.4.9.11", "0.4.8.12"},
		{"process/load1/role", Absent, "client"},
		{"sysctl/net.core.somaxconn", "4096", "128"},
		{"sysctl/net.ipv4.ip_local_port_range", "32768 60999", Absent},
		{"sysctl/net.netfilter.nf_conntrack_max", Absent, "262144"},
		{"target/consensus_param/DoSCircuitCreationRate", Absent, "2"},
		{"target/memory_budget/bytes", "8589934592", "3221225472"},
		{"target/memory_budget/rule", "40% of 24 GiB RAM (RAM >= 8 GiB) = 9.6 GiB, capped at 8 GiB", "75% of 4 GiB RAM (RAM < 8 GiB)"},
		{"target/option/BandwidthRate", "1073741824", "2097152"},
		{"target/option/MaxMemInQueues", "0", ""},
	}
	if got := Diff(a, b); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff:\n got %+v\nwant %+v", got, want)
	}

	// A run without a readable target against one with.
	c := sampleEnv()
	c.Target = nil
	got := Diff(a, c)
	if len(got) != 6 || got[0].Key != "target/memory_budget/bytes" || got[0].B != Absent || got[5].Key != "target/option/ORPort" {
		t.Errorf("target vs none: %+v", got)
	}
	if Diff(nil, a) != nil {
		t.Error("Diff with a nil side is not nil")
	}
}

func TestWriteReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, rundir.EnvFile)
	e := sampleEnv()
	if err := e.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.HasSuffix(s, "}\n") || !strings.Contains(s, "\n  \"captured_at\": \"2025-11-23T11:00:00.123456789Z\",\n") {
		t.Errorf("not indented JSON ending in a newline:\n%s", s)
	}
	for _, key := range []string{`"sysctls_missing"`, `"nofile_soft": 20000`, `"tor_descriptor_limit": 19968`,
		`"memory_budget"`, `"low_threshold_bytes": 6442450944`, `"relaybench_version": "v0.3.0"`} {
		if !strings.Contains(s, key) {
			t.Errorf("env.json lacks %s", key)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
	}
	if d := Diff(got, e); len(d) != 0 {
		t.Errorf("round trip differs: %+v", d)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"newer.json":     `{"version": 2}`,
		"noversion.json": `{"machine": {}}`,
		"broken.json":    `{"version": 1`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"newer.json":     "schema version 2 is newer than this relaybench reads (1); upgrade relaybench",
		"noversion.json": "not an env.json",
		"broken.json":    "unexpected end of JSON input",
		"missing.json":   "no such file or directory",
	} {
		_, err := ReadFile(filepath.Join(dir, name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
	if err := sampleEnv().WriteFile(filepath.Join(dir, "no/such/dir", rundir.EnvFile)); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}
