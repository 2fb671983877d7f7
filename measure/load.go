package measure

import (
	"fmt"
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
}

// Load reads a run directory. Only scenario.yaml and requests.jsonl are
// required; every other file missing or damaged becomes a Problem and the
// part of the analysis that needs it is left out. A cut-short last line (a
// crash mid-write) is dropped silently (rundir.ReadLines). When
// steps.jsonl is missing or empty, the step boundaries are inferred from
// the requests.
func Load(dir string) (*Run, error) {
	sc, invalid, err := scenarios.LoadRun(filepath.Join(dir, rundir.ScenarioFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a relaybench run directory (or its scenario is damaged): %w", dir, err)
	}
	raw, err := rundir.Read(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Run: *raw, Scenario: sc}
	if invalid != nil {
		r.Problems = append([]string{fmt.Sprintf("the recorded scenario breaks a current rule (%v); analysed as it ran", invalid)}, r.Problems...)
	}
	if len(r.Steps) == 0 {
		r.Steps = inferSteps(r.Records, sc.Ramp.Warmup.Std())
		if len(r.Steps) > 0 {
			r.Problems = append(r.Problems, "steps.jsonl is missing or empty: step boundaries were inferred from the requests")
		}
	}
	return r, nil
}

// inferSteps rebuilds step boundaries from the records of a run whose
// steps.jsonl is missing: each step spans its records.
func inferSteps(recs []rundir.Record, warmup time.Duration) []rundir.StepSummary {
	type key struct{ rep, step int }
	byKey := map[key]*rundir.StepSummary{}
	var order []key
	for _, rec := range recs {
		k := key{rec.Repetition, rec.Step}
		s := byKey[k]
		if s == nil {
			s = &rundir.StepSummary{Repetition: rec.Repetition, Step: rec.Step, Load: rec.Load, Start: rec.Start, End: rec.End()}
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
// version (see upgradeSummary).
func ReadSummary(dir string) (*Analysis, error) {
	var a Analysis
	if err := rundir.ReadJSON(filepath.Join(dir, rundir.SummaryFile), &a); err != nil {
		return nil, err
	}
	upgradeSummary(&a)
	return &a, nil
}
