package procstat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

func TestReadProcessSeesCPUAndMemory(t *testing.T) {
	cpu0, rss0, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn about 300 ms of CPU and hold 64 MiB.
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	// Busy until the kernel's own account (getrusage) says this process
	// used 300 ms more CPU: a wall-clock loop gets less than that on a
	// busy machine, and the check below would blame ReadProcess.
	x := 0
	for start := selfCPU(t); selfCPU(t)-start < 0.3; {
		for range 100000 {
			x++
		}
	}
	cpu1, rss1, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu1-cpu0 < 0.2 {
		t.Errorf("CPU time grew by %.2f s after a 0.3 s busy loop", cpu1-cpu0)
	}
	if rss1-rss0 < 48<<20 {
		t.Errorf("RSS grew by %d bytes after touching 64 MiB", rss1-rss0)
	}
	_ = hold[len(hold)-1] + byte(x)
}

func TestReadProcessGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadProcess(cmd.Process.Pid); err == nil {
		t.Error("reading an exited process succeeded")
	}
}

func TestReadMachine(t *testing.T) {
	a, err := ReadMachine()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	b, err := ReadMachine()
	if err != nil {
		t.Fatal(err)
	}
	if b-a < 0.1 {
		t.Errorf("machine busy time grew by %.2f s during a 0.2 s busy loop", b-a)
	}
}

func TestSamplerWritesEveryProcessAndSurvivesExit(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	var out bytes.Buffer
	s := &Sampler{
		Interval: 100 * time.Millisecond,
		Out:      &out,
		Processes: func() []Process {
			return []Process{{Name: "harness", Role: rundir.RoleHarness, PID: os.Getpid()}, {Name: "child", Role: rundir.RoleClient, PID: child.Process.Pid}}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	time.AfterFunc(250*time.Millisecond, func() { child.Process.Kill(); child.Wait() })
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	childErrors := 0
	var machine []rundir.ProcessSample
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var smp rundir.ProcessSample
		if err := json.Unmarshal(sc.Bytes(), &smp); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		counts[smp.Name]++
		if smp.Name == "child" && smp.Err != "" {
			childErrors++
		}
		if smp.Name == rundir.MachineName {
			machine = append(machine, smp)
		}
		if smp.Name == "harness" && (smp.RSSBytes == 0 || smp.Err != "") {
			t.Errorf("harness sample without RSS: %+v", smp)
		}
	}
	if counts["harness"] < 4 || counts["child"] != counts["harness"] || counts[rundir.MachineName] != counts["harness"] {
		t.Errorf("samples per process %v: want one per interval for each", counts)
	}
	if childErrors == 0 {
		t.Error("the killed child was never recorded as gone")
	}
	if u := Utilisation(machine[0], machine[len(machine)-1]); u < 0 || u > 1.01 {
		t.Errorf("machine utilisation %.2f outside 0..1", u)
	}
}

// selfCPU is this process's user+system CPU time in seconds, from getrusage.
func selfCPU(t *testing.T) float64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
