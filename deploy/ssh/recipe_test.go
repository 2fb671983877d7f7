package ssh

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

// fakeSSH runs the remote command in $FAKEHOSTS/<host>, a directory
// standing for the host; fakeSCP copies between such directories.
const (
	fakeSSH = `#!/bin/sh
[ "$1" = -n ] && shift
host=$1
shift
mkdir -p "$FAKEHOSTS/$host"
cd "$FAKEHOSTS/$host" && exec sh -c "$*"
`
	fakeSCP = `#!/bin/sh
while [ "${1#-}" != "$1" ]; do shift; done
path() {
	case $1 in
	*:*) mkdir -p "$FAKEHOSTS/${1%%:*}"; echo "$FAKEHOSTS/${1%%:*}/${1#*:}" ;;
	*) echo "$1" ;;
	esac
}
exec cp -R "$(path "$1")" "$(path "$2")"
`
)

// TestRunWorkersScript runs deploy/ssh/run-workers.sh on three "hosts"
// against fake SocksPorts: every host runs its own segment with the same
// --start-at, the directories come back and are merged.
func TestRunWorkersScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "relaybench"), "github.com/relaybench/relaybench/cmd/relaybench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build relaybench: %v\n%s", err, out)
	}
	for name, script := range map[string]string{"ssh": fakeSSH, "scp": fakeSCP} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	var addrs []string
	var socks []*testkit.SOCKSServer
	for range 2 {
		s := testkit.StartSOCKS(t, testkit.WithPolicy(testkit.Always(testkit.Behavior{Rate: 512 << 10})))
		socks = append(socks, s)
		addrs = append(addrs, fmt.Sprintf("%q", s.Addr()))
	}
	mp := testkit.StartMetricsPort(t)
	mp.FollowSOCKS(socks...)
	scenario := filepath.Join(tmp, "scenario.yaml")
	yaml := fmt.Sprintf(`name: ssh-recipe
target:
  kind: socks
  socks:
    addresses: [%s]
    metrics_urls: [%q]
payload:
  size: 256KiB
workload:
  kind: bulk
ramp:
  steps: [3, 6]
  step_duration: 2s
  warmup: 500ms
`, strings.Join(addrs, ", "), mp.URL())
	if err := os.WriteFile(scenario, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "run-workers.sh", scenario, "alpha", "beta", "gamma")
	out := filepath.Join(tmp, "out")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKEHOSTS="+filepath.Join(tmp, "hosts"),
		"LEAD=3", "RUN_ID=r1", "OUT="+out, "REMOTE=runs")
	stdout, err := cmd.CombinedOutput()
	t.Logf("run-workers.sh:\n%s", stdout)
	if err != nil {
		t.Fatalf("run-workers.sh: %v", err)
	}
	info, err := rundir.ReadRunInfo(filepath.Join(out, "r1", "merged"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Merged == nil || info.Merged.Count != 3 || len(info.Merged.Workers) != 3 {
		t.Fatalf("merged run.json: %+v", info.Merged)
	}
	for i, host := range []string{"alpha", "beta", "gamma"} {
		w := info.Merged.Workers[i]
		if w.Segment.Index != i || !strings.Contains(w.Dir, fmt.Sprintf("worker-%d", i)) {
			t.Errorf("worker %d: %+v", i, w)
		}
		// Each host ran its own segment only.
		ents, err := os.ReadDir(filepath.Join(tmp, "hosts", host, "runs", "r1"))
		if err != nil || len(ents) != 2 || ents[1].Name() != fmt.Sprintf("worker-%d", i) {
			t.Errorf("host %s holds %v (%v), want scenario.yaml and worker-%d", host, ents, err, i)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "r1", "merged", rundir.SummaryFile)); err != nil {
		t.Errorf("the merged run was not analysed: %v", err)
	}
}
