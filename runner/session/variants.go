package session

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// runVariants runs each variant's repetitions interleaved, A B A B ..., so
// that drift (a warming machine, a busier network) spreads evenly over the
// variants instead of favouring the one that ran first. Every repetition
// brings up a fresh target: on the embedded network that restarts the
// relay under test with the variant's torrc and open-files limit. A
// variant's setup commands run before each of its repetitions and its
// teardown commands after, whatever happened in between (a failed run,
// Ctrl-C), so that a sysctl the setup changed is put back.
//
// Each variant's repetitions accumulate in variants/<name>/, a run
// directory of its own that analyze, report and compare read like any
// other; the run ends with the comparison of all variants.
func runVariants(ctx context.Context, sc *scenarios.Scenario, dir string, opts Options) (*Result, error) {
	res := &Result{Dir: dir}
	rounds := 0
	for _, v := range sc.Variants {
		rounds = max(rounds, v.Repetitions)
	}
	fmt.Fprintf(opts.Progress, "run %s: scenario %s, %d variants interleaved over %d rounds, %s target as %s, about %s of load\n",
		dir, sc.Name, len(sc.Variants), rounds, sc.Target.Kind, roleOf(sc), sc.PlannedDuration())
	for round := range rounds {
		for _, v := range sc.Variants {
			if round >= v.Repetitions {
				continue
			}
			vsc := sc.ForVariant(v)
			vdir := filepath.Join(dir, rundir.VariantsDir, v.Name)
			if err := os.MkdirAll(vdir, 0o755); err != nil {
				return res, err
			}
			if err := writeScenario(vdir, vsc); err != nil {
				return res, err
			}
			fmt.Fprintf(opts.Progress, "\nvariant %s, repetition %d of %d\n", v.Name, round+1, v.Repetitions)
			vopts := opts
			vopts.variant = v.Name
			env := []string{
				"RELAYBENCH_VARIANT=" + v.Name,
				"RELAYBENCH_RUN_DIR=" + vdir,
				"RELAYBENCH_REPETITION=" + strconv.Itoa(round),
			}
			var vres *Result
			err := withSetup(ctx, v, env, opts.Progress, func() error {
				var err error
				vres, err = runInDir(ctx, vsc, vdir, []int{round}, vopts)
				return err
			})
			if vres != nil {
				res.Reps = append(res.Reps, vres.Reps...)
				res.Circuits = append(res.Circuits, vres.Circuits...)
			}
			if err != nil {
				rerr := fmt.Errorf("variant %s, repetition %d: %w", v.Name, round+1, err)
				if ranking, ferr := finishVariants(dir, sc); ferr == nil {
					res.Ranking = ranking // what was measured before the failure
				}
				return res, rerr
			}
		}
	}
	ranking, err := finishVariants(dir, sc)
	res.Ranking = ranking
	return res, err
}

// finishVariants ranks the variants measured so far and writes
// comparison.md and comparison.json into the run directory. Each variant's
// differences from the first are SetupDifferences of their directories.
func finishVariants(dir string, sc *scenarios.Scenario) (*reports.Ranking, error) {
	var named []reports.NamedAnalysis
	var base *Setup
	for _, v := range sc.Variants {
		vdir := filepath.Join(dir, rundir.VariantsDir, v.Name)
		a, err := measure.ReadSummary(vdir)
		if err != nil {
			continue // not run (yet)
		}
		setup := ReadSetup(vdir)
		if base == nil {
			base = &setup
		}
		diffs, _ := SetupDifferences(*base, setup)
		named = append(named, reports.NamedAnalysis{Name: v.Name, Analysis: a, Differences: diffs})
	}
	if len(named) < 2 {
		return nil, fmt.Errorf("fewer than two variants have results in %s: nothing to compare", dir)
	}
	r := reports.Rank(named)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{rundir.ComparisonMarkdownFile, r.Markdown}, {rundir.ComparisonJSONFile, r.JSON}} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return r, err
		}
		if err := rundir.WriteFileAtomic(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return r, err
		}
	}
	return r, nil
}
