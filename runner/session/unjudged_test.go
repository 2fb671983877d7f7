package session

import (
	"slices"
	"testing"

	"github.com/relaybench/relaybench/measure"
)

// TestUnjudged: a run with no problem that carried bytes is judged; one
// that carried none is not, and neither is one whose analysis says why.
func TestUnjudged(t *testing.T) {
	carried := &LoadedRun{Dir: "a", Analysis: &measure.Analysis{Steps: []measure.StepResult{{Requests: 3, Bytes: 1000}}}}
	empty := &LoadedRun{Dir: "b", Analysis: &measure.Analysis{Steps: []measure.StepResult{{Requests: 3}}}}
	none := &LoadedRun{Dir: "c", Analysis: &measure.Analysis{}}
	if got := Unjudged([]*LoadedRun{carried}); len(got) != 0 {
		t.Errorf("a run that carried bytes: %q", got)
	}
	want := []string{"b: it carried no byte", "c: the run recorded no request"}
	if got := Unjudged([]*LoadedRun{carried, empty, none}); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
