package merge

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/scenarios"
)

// DefaultStartBound is the spread of the workers' starts of a step above
// which a merged run warns, when the workers' run.json does not say
// (it is session.DefaultStartBound).
const DefaultStartBound = time.Second

// Alignment is run.json's merged.alignment: how the workers' seconds were
// put on one axis.
const Alignment = "per step: seconds from the earliest worker's start; each worker's second k added to merged second k+round(offset), offset being how much later that worker began the step; bytes never split"

// ConflictError says why the inputs are not the segments of one run.
type ConflictError struct {
	// Conflicts are the reasons, each naming the run directories.
	Conflicts []string
}

func (e *ConflictError) Error() string {
	return "cannot merge: " + strings.Join(e.Conflicts, "; ")
}

// InputError is an input that is not a segment's run directory at all.
type InputError struct {
	Dir string
	Err error
}

func (e *InputError) Error() string { return fmt.Sprintf("cannot merge %s: %v", e.Dir, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// worker is one input run directory.
type worker struct {
	dir      string
	run      *rundir.Run
	seg      rundir.SegmentInfo
	scenario *scenarios.Scenario
	resolved []byte // the scenario as marshalled: what two workers must share
	prefix   string
}

func (w *worker) name() string {
	return fmt.Sprintf("segment %d/%d (%s)", w.seg.Index, w.seg.Count, w.dir)
}

// Merge writes to out (a new or empty directory) the run directory of
// the workers in dirs and returns its run.json. Inputs that are not the N
// segments of one run give a *ConflictError or an *InputError and write
// nothing.
func Merge(out string, dirs ...string) (*rundir.RunInfo, error) {
	if len(dirs) == 0 {
		return nil, &InputError{Dir: out, Err: errors.New("no run directory to merge: name every worker's")}
	}
	var ws []*worker
	for _, d := range dirs {
		w, err := readWorker(d)
		if err != nil {
			return nil, err
		}
		if filepath.Clean(d) == filepath.Clean(out) {
			return nil, &InputError{Dir: out, Err: errors.New("the output directory is one of the inputs: give -o a new directory")}
		}
		ws = append(ws, w)
	}
	if err := checkSegments(ws); err != nil {
		return nil, err
	}
	slices.SortFunc(ws, func(a, b *worker) int { return cmp.Compare(a.seg.Index, b.seg.Index) })
	for _, w := range ws {
		w.prefix = fmt.Sprintf("w%d/", w.seg.Index)
	}
	if err := newDir(out); err != nil {
		return nil, err
	}
	m := merged(ws)
	if err := m.write(out, ws); err != nil {
		return nil, err
	}
	return &m.info, nil
}

func readWorker(dir string) (*worker, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &InputError{Dir: dir, Err: err}
	}
	if !st.IsDir() {
		return nil, &InputError{Dir: dir, Err: errors.New("not a directory: name a worker's run directory (<time>-<scenario>-segment-I-of-N)")}
	}
	sc, _, err := scenarios.LoadRun(filepath.Join(dir, rundir.ScenarioFile))
	if err != nil {
		return nil, &InputError{Dir: dir, Err: fmt.Errorf("not a relaybench run directory: %w", err)}
	}
	resolved, err := sc.Marshal()
	if err != nil {
		return nil, &InputError{Dir: dir, Err: err}
	}
	run, err := rundir.Read(dir)
	if err != nil {
		return nil, &InputError{Dir: dir, Err: err}
	}
	if run.Info == nil {
		return nil, &InputError{Dir: dir, Err: fmt.Errorf("it has no %s: the worker crashed before it began, or this is not a run directory", rundir.RunInfoFile)}
	}
	if run.Info.Segment == nil {
		return nil, &InputError{Dir: dir, Err: fmt.Errorf("its %s has no segment: it was not run with --segment i/N", rundir.RunInfoFile)}
	}
	return &worker{dir: dir, run: run, seg: *run.Info.Segment, scenario: sc, resolved: resolved}, nil
}

// checkSegments reports every way in which ws are not the N segments of
// one run.
func checkSegments(ws []*worker) error {
	var conflicts []string
	first := ws[0]
	seen := map[int]*worker{}
	for _, w := range ws {
		if w.seg.Count != first.seg.Count {
			conflicts = append(conflicts, fmt.Sprintf("%s and %s split the load over different numbers of workers (%d and %d)",
				first.name(), w.name(), first.seg.Count, w.seg.Count))
			continue
		}
		if prev, dup := seen[w.seg.Index]; dup {
			conflicts = append(conflicts, fmt.Sprintf("segment %d/%d is given twice (%s and %s): overlapping segments would count its load twice",
				w.seg.Index, w.seg.Count, prev.dir, w.dir))
			continue
		}
		seen[w.seg.Index] = w
		if w == first {
			continue
		}
		if !bytes.Equal(w.resolved, first.resolved) {
			conflicts = append(conflicts, fmt.Sprintf("%s ran another scenario than %s: %s differs at %s",
				w.name(), first.name(), rundir.ScenarioFile, firstDifference(first.resolved, w.resolved)))
		}
		if w.run.Info.Variant != first.run.Info.Variant {
			conflicts = append(conflicts, fmt.Sprintf("%s ran variant %q, %s variant %q", w.name(), w.run.Info.Variant, first.name(), first.run.Info.Variant))
		}
		if !w.seg.StartAt.Equal(first.seg.StartAt) {
			conflicts = append(conflicts, fmt.Sprintf("%s was started with --start-at %s, %s with %s: the workers did not share one schedule",
				w.name(), startText(w.seg.StartAt), first.name(), startText(first.seg.StartAt)))
		}
	}
	for _, w := range ws {
		if !slices.Equal(w.seg.TotalLoads, w.scenario.Ramp.Steps) {
			conflicts = append(conflicts, fmt.Sprintf("%s: run.json's total loads %v are not its scenario's ramp %v", w.name(), w.seg.TotalLoads, w.scenario.Ramp.Steps))
		}
	}
	if len(conflicts) == 0 {
		for i := range first.seg.Count {
			if seen[i] == nil {
				conflicts = append(conflicts, fmt.Sprintf("segment %d/%d is missing: give the run directory of every worker", i, first.seg.Count))
			}
		}
	}
	if len(conflicts) > 0 {
		return &ConflictError{Conflicts: conflicts}
	}
	return nil
}

func startText(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format(time.RFC3339Nano)
}

// firstDifference names the first line where two resolved scenarios
// differ.
func firstDifference(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	// A line one of them lacks reads as empty.
	line := func(l []string, i int) string {
		if i < len(l) {
			return l[i]
		}
		return ""
	}
	for i := range max(len(la), len(lb)) {
		if x, y := line(la, i), line(lb, i); x != y {
			return fmt.Sprintf("line %d (%q against %q)", i+1, strings.TrimSpace(y), strings.TrimSpace(x))
		}
	}
	return "no line"
}

// newDir creates out, which must not exist or be empty.
func newDir(out string) error {
	ents, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return &InputError{Dir: out, Err: err}
	case len(ents) > 0:
		return &InputError{Dir: out, Err: errors.New("the output directory exists and is not empty: give -o a new directory")}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	return nil
}

// segment is w's segment for the load arithmetic.
func (w *worker) segment() segment.Segment {
	return segment.Segment{Index: w.seg.Index, Count: w.seg.Count}
}
