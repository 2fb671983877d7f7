package measure

import (
	"strings"
	"testing"

	"github.com/relaybench/relaybench/runner/rundir"
)

// In a merged run every worker's harness and machine is a process of its
// own ("w1/machine"): a bottleneck names the worker, so that N of them do
// not read as one repeated.
func TestBottleneckNamesTheWorker(t *testing.T) {
	bs := bottlenecks(&StepResult{Processes: []ProcessStep{
		{Name: "w1/machine", Role: string(rundir.RoleMachine), CPU: 1.9, Cores: 2},
		{Name: "w2/harness", Role: string(rundir.RoleHarness), CPU: 0.95},
		{Name: rundir.MachineName, Role: string(rundir.RoleMachine), CPU: 1.9, Cores: 2},
	}})
	want := []string{"the machine of worker w1 was CPU-saturated", "relaybench itself of worker w2 used 95%", "the machine was CPU-saturated"}
	if len(bs) != len(want) {
		t.Fatalf("%d bottlenecks, want %d", len(bs), len(want))
	}
	for i, b := range bs {
		if !strings.HasPrefix(b.Evidence, want[i]) || !b.LimitsMeasurement() {
			t.Errorf("bottleneck %d: %q, want it to start with %q and limit the measurement", i, b.Evidence, want[i])
		}
	}
}
