package measure

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// Run is the raw data of one run directory (see package rundir) with the
// scenario it ran.
type Run struct {
	rundir.Run
	Scenario *scenarios.Scenario
	// inferred marks the steps whose boundaries Load inferred from their
	// requests because steps.jsonl has no line for them.
	inferred map[rundir.StepKey]bool
}

// Load reads a run directory. Only scenario.yaml and requests.jsonl are
// required: without scenario.yaml dir is not a run directory (an error
// wrapping rundir.ErrNotRunDir). Every other file missing or damaged
// becomes a Problem and the part of the analysis that needs it is left
// out. A cut-short last line (a crash mid-write) is dropped silently
// (rundir.ReadLines). A step without its steps.jsonl line gets boundaries
// inferred from its requests (inferMissingSteps): the step the run was
// killed in, or damage.
func Load(dir string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, rundir.ScenarioFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is %w (it has no %s): give the directory `relaybench run` created, runs/<time>-<scenario>", dir, rundir.ErrNotRunDir, rundir.ScenarioFile)
	}
	sc, invalid, err := scenarios.LoadRun(filepath.Join(dir, rundir.ScenarioFile))
	switch {
	case err != nil:
		return nil, rundir.Damaged(fmt.Errorf("%s: its %s is damaged: %w", dir, rundir.ScenarioFile, err))
	}
	raw, err := rundir.Read(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Run: *raw, Scenario: sc}
	if invalid != nil {
		r.Notes = append([]string{fmt.Sprintf("the recorded scenario breaks a current rule (%v); analysed as it ran", invalid)}, r.Notes...)
	}
	r.inferMissingSteps(sc)
	r.checkRecordCounts()
	return r, nil
}

// inferSteps rebuilds step boundaries from the records of a run whose
// steps.jsonl is missing: each step spans its records.
func inferSteps(recs []rundir.Record, warmup time.Duration) []rundir.StepSummary {
	byKey := map[rundir.StepKey]*rundir.StepSummary{}
	var order []rundir.StepKey
	for _, rec := range recs {
		k := rec.StepKey
		s := byKey[k]
		if s == nil {
			s = &rundir.StepSummary{StepKey: rec.StepKey, Load: rec.Load, Start: rec.Start, End: rec.End()}
			byKey[k] = s
			order = append(order, k)
		}
		if rec.Start.Before(s.Start) {
			s.Start = rec.Start
		}
		if e := rec.End(); e.After(s.End) {
			s.End = e
		}
	}
	out := make([]rundir.StepSummary, 0, len(order))
	for _, k := range order {
		s := byKey[k]
		s.WarmupEnd = s.Start.Add(warmup)
		out = append(out, *s)
	}
	sortSteps(out)
	return out
}

// WriteSummary writes a as dir/summary.json.
func WriteSummary(dir string, a *Analysis) error {
	return rundir.WriteJSON(filepath.Join(dir, rundir.SummaryFile), a)
}

// ReadSummary reads dir/summary.json, upgraded to the current schema
// version (see upgradeSummary). A summary of a version this relaybench
// does not read (newer, or none) is refused with a *rundir.VersionError:
// its fields may not mean what Analysis says.
func ReadSummary(dir string) (*Analysis, error) {
	var a Analysis
	if err := rundir.ReadJSON(filepath.Join(dir, rundir.SummaryFile), &a); err != nil {
		return nil, err
	}
	if err := rundir.CheckVersion(rundir.SummaryFile, a.Version, 1, AnalysisVersion); err != nil {
		return nil, fmt.Errorf("%s: %w: recompute it from the raw files with `relaybench analyze %s`", dir, err, dir)
	}
	upgradeSummary(&a)
	return &a, nil
}
