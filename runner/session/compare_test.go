package session

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestCompareRuns: every run after the first is compared with the first;
// notes arrive as runs load, and a run that is not one stops the loading.
func TestCompareRuns(t *testing.T) {
	var dirs []string
	for _, name := range []string{"base", "b", "c"} {
		dir := filepath.Join(t.TempDir(), name)
		a := &measure.Analysis{Version: measure.AnalysisVersion, RunHeader: measure.RunHeader{Scenario: name}, Steps: []measure.StepResult{{Requests: 3, Bytes: 1000}}}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := measure.WriteSummary(dir, a); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	var notes []string
	loaded, comps, err := CompareRuns(dirs, func(n string) { notes = append(notes, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 3 || len(comps) != 2 || comps[0].A.Name != loaded[0].Name || comps[1].B.Name != loaded[2].Name {
		t.Fatalf("%d runs, %d comparisons: %+v", len(loaded), len(comps), comps)
	}
	if len(notes) != 3 || !strings.HasPrefix(notes[0], dirs[0]+": no raw files") {
		t.Errorf("notes %q, want one per run read from its summary, in order", notes)
	}
	notes = nil
	if _, _, err := CompareRuns([]string{dirs[0], t.TempDir()}, func(n string) { notes = append(notes, n) }); err == nil || len(notes) != 1 {
		t.Errorf("a dir that is no run: %v, notes %q", err, notes)
	}
}
