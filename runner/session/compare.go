package session

import (
	"fmt"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
)

// LoadedRun is one run directory read back for a comparison.
type LoadedRun struct {
	Dir string
	// Name is how the run is shown (RunName).
	Name     string
	Analysis *measure.Analysis
	Setup    Setup
	// Notes say how the run was read (from summary.json, say).
	Notes []string
}

// LoadRun analyses dir from its raw files; nothing is written into it. A
// directory without requests.jsonl but with summary.json (raw files deleted
// to save space, or a copy of the summary alone) is read from its
// summary.json instead, and a note says so. Anything else that is not a
// run is an error naming dir.
func LoadRun(dir string) (*LoadedRun, error) {
	lr := &LoadedRun{Dir: dir, Name: RunName(dir)}
	if rundir.SummaryOnly(dir) {
		a, err := measure.ReadSummary(dir)
		if err != nil {
			return nil, fmt.Errorf("%s has no raw files and its summary cannot be read: %w", dir, err)
		}
		lr.Analysis = a
		lr.Notes = append(lr.Notes, fmt.Sprintf("%s: no raw files (%s): using %s", dir, rundir.RequestsFile, rundir.SummaryFile))
		lr.Notes = append(lr.Notes, staleSummaryNotes(dir, a)...)
	} else {
		r, err := measure.Load(dir)
		if err != nil {
			return nil, err
		}
		lr.Analysis = measure.Analyze(r)
	}
	lr.Setup = ReadSetup(dir)
	return lr, nil
}

// staleSummaryNotes warns about a summary.json written before it kept the
// per-repetition samples: its steps then compare as "no samples".
func staleSummaryNotes(dir string, a *measure.Analysis) []string {
	for _, s := range a.Steps {
		if s.Goodput.N > 0 && len(s.RepGoodput) == 0 || s.TTFB.N > 0 && len(s.RepStats) == 0 {
			return []string{fmt.Sprintf("%s: its %s predates the per-repetition samples (rep_goodput, rep_stats): run `relaybench analyze` on the raw files, or those steps show no samples", dir, rundir.SummaryFile)}
		}
	}
	return nil
}

// Compare compares run other with the baseline base (reports.Compare),
// with the runs' names and their SetupDifferences.
func Compare(base, other *LoadedRun) *reports.Comparison {
	diffs, notes := SetupDifferences(base.Setup, other.Setup)
	return reports.Compare(base.Analysis, other.Analysis,
		reports.WithNames(base.Name, other.Name),
		reports.WithEnvDifferences(diffs, notes...))
}

// CompareRuns loads dirs (LoadRun) and compares each run after the first
// with the first, the baseline (Compare). note receives each run's notes
// as it is loaded, so that a later run's error follows an earlier one's.
func CompareRuns(dirs []string, note func(string)) ([]*LoadedRun, []*reports.Comparison, error) {
	loaded := make([]*LoadedRun, len(dirs))
	for i, dir := range dirs {
		lr, err := LoadRun(dir)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range lr.Notes {
			note(n)
		}
		loaded[i] = lr
	}
	var comps []*reports.Comparison
	for _, other := range loaded[1:] {
		comps = append(comps, Compare(loaded[0], other))
	}
	return loaded, comps, nil
}

// Unjudged says, for each of runs that a regression check cannot be
// judged on, why: its input is damaged or missing, it stopped before its
// end, or it carried no byte at all (a run with no data is not "no
// regression"). Empty when every run can be judged.
func Unjudged(runs []*LoadedRun) []string {
	var out []string
	for _, lr := range runs {
		why := lr.Analysis.Unjudged()
		bytes := 0.0
		for _, s := range lr.Analysis.Steps {
			bytes += s.Bytes
		}
		if bytes == 0 && len(why) == 0 {
			why = append(why, "it carried no byte")
		}
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", lr.Dir, strings.Join(why, "; ")))
		}
	}
	return out
}
