package envinfo

import (
	"context"
	"fmt"
	"maps"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// fakeTor answers GETCONF and GETINFO like tor does: one unknown key fails
// the whole request with 552.
type fakeTor struct {
	conf, info map[string]string
	requests   []string
}

func (f *fakeTor) answer(kind string, known map[string]string) QueryFunc {
	return func(ctx context.Context, keys []string) (map[string]string, error) {
		f.requests = append(f.requests, kind+" "+strings.Join(keys, " "))
		out := map[string]string{}
		for _, k := range keys {
			v, ok := known[k]
			if !ok {
				return nil, &textproto.Error{Code: 552, Msg: fmt.Sprintf("Unrecognized key %q", k)}
			}
			out[k] = v
		}
		return out, nil
	}
}

// relayConf is what tor 0.4.9.11 answers for TargetOptions on a relay
// with an ORPort and no MaxMemInQueues.
func relayConf() map[string]string {
	conf := map[string]string{}
	for _, k := range TargetOptions {
		conf[k] = "0"
	}
	conf["ORPort"] = "127.0.0.1:5000"
	conf["BandwidthRate"] = "1073741824"
	conf["Schedulers"] = "KIST,KISTLite,Vanilla"
	delete(conf, "DoSStreamCreationEnabled") // as if tor were too old to know it
	return conf
}

// fakeTorBinary writes a script that prints a tor version and counts its
// runs in a file.
func fakeTorBinary(t *testing.T, version string) (bin, countFile string) {
	t.Helper()
	dir := t.TempDir()
	bin, countFile = filepath.Join(dir, "tor"), filepath.Join(dir, "runs")
	script := fmt.Sprintf("#!/bin/sh\necho run >> %q\necho 'Tor version %s.'\necho 'This build of Tor is covered by the GNU General Public License'\n", countFile, version)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, countFile
}

func TestCaptureWithControlPort(t *testing.T) {
	proc := fakeProc(t)
	target := &fakeTor{conf: relayConf(), info: map[string]string{
		"version":                  "0.4.9.11",
		"process/pid":              "4242",
		"process/descriptor-limit": "19968",
		"limits/max-mem-in-queues": "8589934592",
		ConsensusDocKey: "network-status-version 3\nvote-status consensus\n" +
			"params DoSCircuitCreationEnabled=1 DoSCircuitCreationRate=3\n" +
			"r rbtarget AAAA BBBB 2026-01-01 00:00:00 127.0.0.1 5000 0\nparams not=this\n",
	}}
	bin, runs := fakeTorBinary(t, "0.4.8.12")
	env := Capture(context.Background(), []Source{
		{Name: "rbtarget", Role: rundir.RoleTarget, GetConf: target.answer("GETCONF", target.conf), GetInfo: target.answer("GETINFO", target.info)},
		{Name: "load0", Role: rundir.RoleClient, TorBinary: bin},
		{Name: "load1", Role: rundir.RoleClient, TorBinary: bin},
	}, WithProcRoot(proc), WithCgroupRoot(t.TempDir()), WithSysctls())

	p := env.Processes[0]
	if p.PID != 4242 || p.TorVersion != "0.4.9.11" || p.TorVersionSource != "control-port" || p.TorDescriptorLimit != 19968 {
		t.Errorf("target process = %+v", p)
	}
	if p.NoFileSoft != 20000 {
		t.Errorf("target limits not read after learning the pid: %+v", p)
	}
	for _, c := range env.Processes[1:] {
		if c.TorVersion != "0.4.8.12" || c.TorVersionSource != "binary" || c.Binary != bin {
			t.Errorf("client = %+v", c)
		}
		if !strings.Contains(c.Err, "no pid") {
			t.Errorf("client error = %q", c.Err)
		}
	}
	if data, _ := os.ReadFile(runs); strings.Count(string(data), "run") != 1 {
		t.Errorf("tor --version ran %d times for one binary, want 1", strings.Count(string(data), "run"))
	}
	if !hasNote(env, "tor versions differ between processes: 0.4.8.12 (load0, load1); 0.4.9.11 (rbtarget)") {
		t.Errorf("notes = %q", env.Notes)
	}

	tc := env.Target
	if tc.Source != "control-port" || tc.Options["BandwidthRate"] != "1073741824" || tc.Options["ORPort"] != "127.0.0.1:5000" {
		t.Errorf("target = %+v", tc)
	}
	if len(tc.Options) != len(TargetOptions)-1 {
		t.Errorf("%d options, want %d", len(tc.Options), len(TargetOptions)-1)
	}
	if !strings.Contains(tc.Err, "GETCONF DoSStreamCreationEnabled: 552") || strings.Count(tc.Err, "552") != 1 {
		t.Errorf("target error = %q", tc.Err)
	}
	b := tc.MemoryBudget
	if b.Bytes != 8<<30 || b.Source != "tor" || b.ConfiguredBytes != 0 ||
		b.Rule != "40% of 23.5 GiB RAM (RAM >= 8 GiB) = 9.4 GiB, capped at 8 GiB" || b.LowThresholdBytes != 6<<30 {
		t.Errorf("budget = %+v", b)
	}
	if n := len(target.requests); n != 2+len(TargetOptions)+2 || !strings.HasPrefix(target.requests[1], "GETCONF BandwidthRate BandwidthBurst") {
		// GETINFO, the batched GETCONF, then one GETCONF per key, then
		// GETINFO limits/max-mem-in-queues and the consensus.
		t.Errorf("%d requests: %q", n, target.requests)
	}
	// The params line of the consensus header, not what follows it.
	if want := map[string]string{"DoSCircuitCreationEnabled": "1", "DoSCircuitCreationRate": "3"}; !maps.Equal(tc.ConsensusParams, want) {
		t.Errorf("consensus params %v, want %v", tc.ConsensusParams, want)
	}
	if hasNote(env, "memory budget: tor reports") {
		t.Errorf("tor agrees with the rule, yet: %q", env.Notes)
	}
}

func TestCaptureBudgetDisagreement(t *testing.T) {
	conf := relayConf()
	conf["MaxMemInQueues"] = "314572800"
	tor := &fakeTor{conf: conf, info: map[string]string{"version": "0.4.9.11", "limits/max-mem-in-queues": "268435456"}}
	env := Capture(context.Background(), []Source{
		{Name: "t", Role: rundir.RoleTarget, PID: 4242, GetConf: tor.answer("GETCONF", conf), GetInfo: tor.answer("GETINFO", tor.info)},
	}, WithProcRoot(fakeProc(t)), WithSysctls())
	b := env.Target.MemoryBudget
	if b.Bytes != 256<<20 || b.Source != "tor" || b.ConfiguredBytes != 300<<20 || b.Rule != "MaxMemInQueues 300 MiB (configured)" {
		t.Errorf("budget = %+v", b)
	}
	if !hasNote(env, `tor reports 268435456 bytes, the rule "MaxMemInQueues 300 MiB (configured)" gives 314572800`) {
		t.Errorf("notes = %q", env.Notes)
	}
	// GETINFO asked for keys tor does not have (process/pid ...): read key by key.
	if p := env.Processes[0]; p.TorVersion != "0.4.9.11" || !strings.Contains(p.Err, "GETINFO: process/pid: 552") {
		t.Errorf("process = %+v", p)
	}
}

func TestCaptureSurvivesBrokenControl(t *testing.T) {
	panicky := func(ctx context.Context, keys []string) (map[string]string, error) { panic("boom") }
	stuck := func(ctx context.Context, keys []string) (map[string]string, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("control port did not answer: %w", ctx.Err())
	}
	start := time.Now()
	env := Capture(context.Background(), []Source{
		{Name: "t", Role: rundir.RoleTarget, PID: 4242, GetConf: stuck, GetInfo: panicky},
	}, WithProcRoot(fakeProc(t)), WithSysctls(), WithQueryTimeout(50*time.Millisecond))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("capture took %v with a stuck control port", d)
	}
	p := env.Processes[0]
	if !strings.Contains(p.Err, "panicked: boom") || p.NoFileSoft != 20000 {
		t.Errorf("process = %+v", p)
	}
	tc := env.Target
	if tc.Source != "none" || !strings.Contains(tc.Err, "context deadline exceeded") {
		t.Errorf("target = %+v", tc)
	}
	if b := tc.MemoryBudget; b.Source != "computed" || !strings.HasPrefix(b.Rule, "assuming MaxMemInQueues is unset (not readable)") {
		t.Errorf("budget = %+v", b)
	}
	if len(env.Processes) != 1 {
		t.Errorf("processes = %+v", env.Processes)
	}
}

func TestCaptureSecondTarget(t *testing.T) {
	env := Capture(context.Background(), []Source{
		{Name: "a", Role: rundir.RoleTarget}, {Name: "b", Role: rundir.RoleTarget},
	}, WithProcRoot(t.TempDir()), WithSysctls())
	if env.Target.Name != "a" || !hasNote(env, `source "b": a second target source`) {
		t.Errorf("target %q, notes %q", env.Target.Name, env.Notes)
	}
}
