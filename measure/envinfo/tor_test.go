package envinfo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cretz/bine/control"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

// startTor starts a tor that never touches the network, with a control
// port, and returns its process and an authenticated control connection.
// Cleanup stops it (SIGINT, then SIGKILL to its process group after 5 s)
// and waits for it, so no tor outlives the test.
func startTor(t *testing.T, torPath string, extraTorrc ...string) (*exec.Cmd, *control.Conn) {
	t.Helper()
	dir := t.TempDir() // absolute: tor changes directory
	portFile := filepath.Join(dir, "control-port")
	torrc := strings.Join(append([]string{
		"DataDirectory " + filepath.Join(dir, "data"),
		"SocksPort 0",
		"ControlPort auto",
		"ControlPortWriteToFile " + portFile,
		"CookieAuthentication 1",
		"DisableNetwork 1",
		"Log notice file " + filepath.Join(dir, "tor.log"),
	}, extraTorrc...), "\n") + "\n"
	torrcPath := filepath.Join(dir, "torrc")
	if err := os.WriteFile(torrcPath, []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(torPath, "-f", torrcPath)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tor: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); stdout.Close() }()
	var conn *control.Conn
	t.Cleanup(func() {
		if conn != nil {
			conn.Close()
		}
		pid := cmd.Process.Pid
		_ = syscall.Kill(pid, syscall.SIGINT)
		select {
		case <-exited:
			return
		case <-time.After(5 * time.Second):
		}
		t.Logf("tor %d ignored SIGINT for 5 s; killing its process group", pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("tor %d still running after SIGKILL", pid)
		}
	})
	logs := func() string {
		out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
		log, _ := os.ReadFile(filepath.Join(dir, "tor.log"))
		return string(out) + string(log)
	}

	var addr string
	for deadline := time.Now().Add(60 * time.Second); addr == ""; {
		select {
		case err := <-exited:
			t.Fatalf("tor exited before opening its control port: %v\n%s", err, logs())
		case <-time.After(100 * time.Millisecond):
		}
		if data, err := os.ReadFile(portFile); err == nil {
			if a, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "PORT="); ok {
				addr = a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tor wrote no control port file within 60 s\n%s", logs())
		}
	}
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial tor's control port %s: %v", addr, err)
	}
	conn = control.NewConn(textproto.NewConn(nc))
	if err := conn.Authenticate(""); err != nil {
		t.Fatalf("authenticate to tor's control port (cookie): %v\n%s", err, logs())
	}
	return cmd, conn
}

func TestCaptureRealTor(t *testing.T) {
	torPath, err := exec.LookPath("tor")
	if err != nil {
		t.Skip("tor is not on PATH")
	}
	cmd, conn := startTor(t, torPath, "MaxMemInQueues 300 MB", "BandwidthRate 2 MBytes", "BandwidthBurst 4 MBytes")
	pid := cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sources := []Source{
		{Name: "tor0", Role: rundir.RoleTarget, PID: pid, TorBinary: torPath, GetConf: GetConfFunc(conn), GetInfo: GetInfoFunc(conn)},
		{Name: "tor0-by-binary", Role: rundir.RoleClient, PID: pid, TorBinary: torPath},
		Harness(),
	}
	env := Capture(ctx, sources)
	t.Logf("notes: %q", env.Notes)

	p := env.Processes[0]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+`).MatchString(p.TorVersion) || p.TorVersionSource != "control-port" {
		t.Errorf("tor version %q from %q", p.TorVersion, p.TorVersionSource)
	}
	if q := env.Processes[1]; q.TorVersion != p.TorVersion || q.TorVersionSource != "binary" {
		t.Errorf("tor --version gave %q (%s), the control port %q", q.TorVersion, q.TorVersionSource, p.TorVersion)
	}
	if p.Err != "" {
		t.Errorf("target process error: %s", p.Err)
	}

	// The open-files limits: the hard limit is inherited from this test;
	// tor raises its soft limit to the hard one and keeps 32 descriptors
	// for itself (process/descriptor-limit).
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if p.NoFileHard != int64(rl.Max) {
		t.Errorf("tor's hard nofile limit %d, this test's %d", p.NoFileHard, rl.Max)
	}
	if p.NoFileSoft != p.NoFileHard || p.TorDescriptorLimit != p.NoFileSoft-32 {
		t.Errorf("nofile soft %d hard %d, tor's descriptor limit %d: want soft = hard, descriptor limit = soft - 32",
			p.NoFileSoft, p.NoFileHard, p.TorDescriptorLimit)
	}

	tc := env.Target
	if tc == nil || tc.Source != "control-port" || tc.Err != "" {
		t.Fatalf("target = %+v", tc)
	}
	// GETCONF prints sizes in bytes, whatever the torrc said.
	for k, want := range map[string]string{
		"MaxMemInQueues": "314572800", // 300 MB
		"BandwidthRate":  "2097152",   // 2 MBytes
		"BandwidthBurst": "4194304",   // 4 MBytes
		"ORPort":         "",          // unset, no default: a bare "ORPort" line
		"ConnLimit":      "1000",
	} {
		if got, ok := tc.Options[k]; !ok || got != want {
			t.Errorf("GETCONF %s = %q (present %v), want %q", k, got, ok, want)
		}
	}
	if len(tc.Options) != len(TargetOptions) {
		t.Errorf("%d options read, want %d: %v", len(tc.Options), len(TargetOptions), tc.Options)
	}
	t.Logf("GETCONF: %v", tc.Options)
	b := tc.MemoryBudget
	if b.Bytes != 300<<20 || b.Source != "tor" || b.ConfiguredBytes != 300<<20 || b.Rule != "MaxMemInQueues 300 MiB (configured)" {
		t.Errorf("budget = %+v", b)
	}

	path := filepath.Join(t.TempDir(), rundir.EnvFile)
	if err := env.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(env, back); len(d) != 0 {
		t.Errorf("env.json round trip differs: %+v", d)
	}
	if testing.Verbose() {
		data, _ := os.ReadFile(path)
		t.Logf("%s:\n%s", rundir.EnvFile, data)
	}

	// With MaxMemInQueues unset, tor's own budget must match the rule
	// applied to this machine's MemTotal.
	if err := conn.SetConf(control.NewKeyVal("MaxMemInQueues", "0")); err != nil {
		t.Fatalf("SETCONF MaxMemInQueues=0: %v", err)
	}
	env = Capture(ctx, sources[:1])
	b = env.Target.MemoryBudget
	want := ComputeMemoryBudget(0, env.Machine.RAMBytes, false)
	if b.Source != "tor" || b.Bytes != want.Bytes || b.Rule != want.Rule || b.ConfiguredBytes != 0 {
		t.Errorf("unset MaxMemInQueues: budget %+v, rule gives %+v", b, want)
	}
	if hasNote(env, "memory budget: tor reports") {
		t.Errorf("tor disagrees with the rule: %q", env.Notes)
	}
	t.Logf("unset MaxMemInQueues on %s RAM: %s = %d bytes", units.Bytes(env.Machine.RAMBytes), b.Rule, b.Bytes)

	// One unknown key fails a whole GETCONF with 552, which Capture relies
	// on to fall back to one key at a time.
	_, err = GetConfFunc(conn)(ctx, []string{"MaxMemInQueues", "NoSuchOption"})
	var perr *textproto.Error
	if !errors.As(err, &perr) || perr.Code != unrecognizedKey {
		t.Errorf("GETCONF of an unknown key: %v, want a %d reply", err, unrecognizedKey)
	}
	// The connection still works after that.
	if v, err := GetInfoFunc(conn)(ctx, []string{"process/pid"}); err != nil || v["process/pid"] != fmt.Sprint(pid) {
		t.Errorf("GETINFO process/pid = %v, %v; want %d", v, err, pid)
	}
}
