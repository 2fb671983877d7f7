package chutney

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/chutney/cgroup"
)

// skipUnlessConfinable skips a test that confines the target when this
// process cannot create a cgroup with a CPU quota (not root, or no cpu
// controller), saying why.
func skipUnlessConfinable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	g, err := cgroup.New("probe", cgroup.Limits{CPU: 1})
	if err != nil {
		t.Skipf("cannot confine a process here: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
}

// TestConfinedTargetOwnTorWiderNetwork starts a network with two exits and
// two middles whose target runs under a CPU quota and through another tor
// executable (a wrapper that execs the tor on PATH): the quota reaches the
// target's process and nobody else's, the wrapper ran as the target and
// nothing else, and the cgroup is gone after Stop.
func TestConfinedTargetOwnTorWiderNetwork(t *testing.T) {
	skipUnlessConfinable(t)
	wrapper, err := filepath.Abs("testdata/tor-wrapper.sh")
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "wrapper-ran")
	t.Setenv("RELAYBENCH_TOR_WRAPPER_MARKER", marker)
	const quota = 0.25
	net, err := Start(context.Background(), filepath.Join(testRoot, "confined"),
		WithTargetCPU(quota), WithTargetMemory(256<<20), WithTargetTor(wrapper),
		WithExits(2), WithMiddles(2), WithProgress(testLog{}))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	target := net.Target()
	pid := target.Process().PID()

	t.Run("quota on the target only", func(t *testing.T) {
		if target.Cgroup == nil {
			t.Fatal("target has no cgroup")
		}
		st, err := target.Cgroup.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if st.QuotaCores != quota || st.MemoryLimitBytes != 256<<20 {
			t.Errorf("target cgroup limits %+v, want %g cores and 256 MiB", st, quota)
		}
		for _, n := range net.Nodes {
			cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", n.Process().PID()))
			if err != nil {
				t.Fatal(err)
			}
			in := strings.Contains(string(cg), "/"+target.Cgroup.Name+"\n")
			if in != (n == target) {
				t.Errorf("%s in the target's cgroup: %v\n%s", n.Nickname, in, cg)
			}
		}
	})

	t.Run("target runs its own tor", func(t *testing.T) {
		data, err := os.ReadFile(marker)
		if err != nil {
			t.Fatalf("the wrapper never ran: %v", err)
		}
		ranAs := map[int]string{}
		for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
			var p int
			fmt.Sscan(line, &p)
			ranAs[p] = line
		}
		if line, ok := ranAs[pid]; !ok || !strings.Contains(line, filepath.Join(target.DataDir, torrcFile)) {
			t.Errorf("the target (pid %d) was not started through the wrapper; wrapper ran as:\n%s", pid, data)
		}
		for _, p := range net.Processes() {
			if p.PID() != pid && ranAs[p.PID()] != "" {
				t.Errorf("%s (pid %d) was started through the target's tor: %s", p.Name, p.PID(), ranAs[p.PID()])
			}
		}
		d, err := ReadDescription(net.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if nd := d.Node(RoleTarget); nd.TorBinary != wrapper || len(nd.Cgroups) == 0 || nd.CPUQuotaCores != quota {
			t.Errorf("network.json's target: binary %q cgroups %v quota %g; want %s, the group, %g", nd.TorBinary, nd.Cgroups, nd.CPUQuotaCores, wrapper, quota)
		}
		if d.TargetTorVersion == "" || d.Node(RoleExit).TorBinary != "tor" {
			t.Errorf("network.json: target tor version %q, exit's binary %q", d.TargetTorVersion, d.Node(RoleExit).TorBinary)
		}
	})

	t.Run("wider network", func(t *testing.T) {
		if n := len(net.Exits()); n != 2 {
			t.Errorf("%d exits, want 2", n)
		}
		if n := len(net.byRole(RoleMiddle)); n != 2 {
			t.Errorf("%d middles, want 2", n)
		}
	})

	paths := target.Cgroup.Paths()
	net.Stop()
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s is still there after Stop (%v)", p, err)
		}
	}
}

// TestFailedConfinedStartRemovesCgroup: a confined target that tor refuses
// to start leaves no cgroup behind.
func TestFailedConfinedStartRemovesCgroup(t *testing.T) {
	skipUnlessConfinable(t)
	dir := filepath.Join(testRoot, "broken-confined")
	_, err := Start(context.Background(), dir, WithTargetCPU(0.5), WithTargetTorrc(TorrcOption{"NoSuchTorOption", "1"}))
	if err == nil {
		t.Fatal("Start succeeded with an invalid torrc option")
	}
	d, rerr := ReadDescription(dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	paths := d.Node(RoleTarget).Cgroups
	if len(paths) == 0 {
		t.Fatal("network.json names no cgroup for the confined target")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s is still there after a failed start (%v)", p, err)
		}
	}
}
