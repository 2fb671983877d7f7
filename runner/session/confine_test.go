package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/chutney/cgroup"
	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// TestRunTargetWithOwnTorConfined runs a one-step scenario whose target
// names another tor executable (chutney's test wrapper, which execs the tor
// on PATH and notes its PID) and, where this machine allows it, a CPU
// quota: the wrapper became the target's process, env.json records it as
// the target's binary, every target sample in processes.jsonl carries the
// quota and throttling counters, and no cgroup is left after the run.
func TestRunTargetWithOwnTorConfined(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	wrapper, err := filepath.Abs("../../chutney/testdata/tor-wrapper.sh")
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "wrapper-ran")
	t.Setenv("RELAYBENCH_TOR_WRAPPER_MARKER", marker)
	sc := shortScenario(t, "local", 1)
	sc.Target.Testnet.Tor = wrapper
	confined := true
	if g, err := cgroup.New("probe", cgroup.Limits{CPU: 1}); err != nil {
		t.Logf("running unconfined: %v", err)
		confined = false
	} else {
		g.Remove()
		sc.Target.Testnet.CPU = 0.5
	}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkRamp(t, res, false)

	env, err := envinfo.ReadFile(filepath.Join(res.Dir, rundir.EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	d, err := chutney.ReadDescription(filepath.Join(res.Dir, "testnet"))
	if err != nil {
		t.Fatal(err)
	}
	targetPID := d.Node(chutney.RoleTarget).PID
	for _, p := range env.Processes {
		if p.Role == rundir.RoleTarget && (p.Binary != wrapper || p.TorVersion == "") {
			t.Errorf("env.json's target: binary %q version %q, want %s and a version", p.Binary, p.TorVersion, wrapper)
		}
		if p.Role == rundir.RoleRelay && p.Binary == wrapper {
			t.Errorf("env.json: %s runs the target's tor", p.Name)
		}
	}
	ran, _ := os.ReadFile(marker)
	if !strings.Contains("\n"+string(ran), "\n"+strconv.Itoa(targetPID)+" ") {
		t.Errorf("the target (pid %d) was not started through the wrapper; it ran as:\n%s", targetPID, ran)
	}

	if !confined {
		return
	}
	f, err := os.Open(filepath.Join(res.Dir, rundir.ProcessesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var target []rundir.ProcessSample
	sc2 := bufio.NewScanner(f)
	for sc2.Scan() {
		var s rundir.ProcessSample
		if err := json.Unmarshal(sc2.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Role == "target" {
			target = append(target, s)
		} else if s.Cgroup != nil {
			t.Errorf("%s sample has a cgroup block: %+v", s.Name, s.Cgroup)
		}
	}
	if len(target) < 2 {
		t.Fatalf("%d target samples", len(target))
	}
	for _, s := range target {
		if s.Cgroup == nil || s.Cgroup.QuotaCores != 0.5 || s.Cgroup.Err != "" {
			t.Fatalf("target sample without the 0.5-core quota: %+v", s)
		}
	}
	use, ok := procstat.QuotaUsage(target[0], target[len(target)-1])
	t.Logf("target over the run: %+v", use)
	if !ok || use.Periods == 0 {
		t.Errorf("QuotaUsage over the run: %+v, %v; want periods with work", use, ok)
	}
	for _, p := range d.Node(chutney.RoleTarget).Cgroups {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left after the run (%v)", p, err)
		}
	}
}

// TestSetupDifferencesNameTheTorBuild: two variants that differ only in
// the target's tor show that in the ranking's differences, by path and by
// the version env.json recorded.
func TestSetupDifferencesNameTheTorBuild(t *testing.T) {
	sc := shortScenario(t, "local", 1)
	sc.Variants = []scenarios.Variant{{Name: "stock", Repetitions: 1}, {Name: "dev", Tor: "/opt/tor-dev/src/app/tor", Repetitions: 1}}
	a, b := sc.ForVariant(sc.Variants[0]), sc.ForVariant(sc.Variants[1])
	envA := &envinfo.Env{Processes: []envinfo.Process{{Name: "rbtarget", Role: rundir.RoleTarget, TorVersion: "0.4.9.11"}}}
	envB := &envinfo.Env{Processes: []envinfo.Process{{Name: "rbtarget", Role: rundir.RoleTarget, TorVersion: "0.4.10.0-alpha-dev"}}}
	got, _ := SetupDifferences(Setup{Name: "stock", Scenario: a, Env: envA}, Setup{Name: "dev", Scenario: b, Env: envB})
	want := []reports.EnvDifference{
		{Key: "scenario/target.testnet.tor", A: reports.Unset, B: "/opt/tor-dev/src/app/tor"},
		{Key: "process/rbtarget/tor_version", A: "0.4.9.11", B: "0.4.10.0-alpha-dev"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("differences\n got %+v\nwant %+v", got, want)
	}
}
