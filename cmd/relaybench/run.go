package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
	"github.com/relaybench/relaybench/scenarios"
)

// runRun is `relaybench run [SCENARIO]`.
func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	out := fs.String("out", "runs", "directory that receives the run directory")
	metricsAddr := fs.String("metrics-addr", "", "serve live Prometheus metrics of the run at http://`ADDR`/metrics, e.g. 127.0.0.1:9464 (see deploy/)")
	metricsLinger := fs.Duration("metrics-linger", 0, "with --metrics-addr, keep serving this long after the run, so that Prometheus scrapes the final counts")
	var seg segmentFlags
	seg.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	var sc *scenarios.Scenario
	switch fs.NArg() {
	case 0:
		sc = scenarios.Default()
	case 1:
		var err error
		if sc, err = scenarios.LoadFileOrBuiltin(fs.Arg(0)); err != nil {
			return usageError{err}
		}
	default:
		return usagef("run: one scenario at a time (got %d arguments)", fs.NArg())
	}
	ctx, stop := stopsignal.Context()
	defer stop()
	opts := session.Options{OutDir: *out, Progress: stderr}
	stopMetrics, err := serveMetrics(*metricsAddr, *metricsLinger, &opts, stderr)
	if err != nil {
		return usageError{err}
	}
	defer stopMetrics(ctx)
	if err := seg.apply(sc, &opts); err != nil {
		return err
	}
	return runScenario(ctx, sc, opts, stdout)
}

// runScenario runs sc and says what came of it: the ranking of its
// variants, the verdict, and where the files are (only those that were
// written). A run stopped by a signal returns an interrupted error (exit
// 128 + the signal) once what it measured is written; one whose gates
// cannot be judged (nothing recorded, say) returns notJudged.
func runScenario(ctx context.Context, sc *scenarios.Scenario, opts session.Options, stdout io.Writer) error {
	res, err := session.Run(ctx, sc, opts)
	if res != nil {
		if res.Ranking != nil {
			fmt.Fprintf(stdout, "\nvariants ranked by capacity (each variant's report is in %s/variants/<name>/):\n", res.Dir)
			if terr := res.Ranking.Text(stdout); terr != nil && err == nil {
				err = terr
			}
			for _, e := range res.Ranking.Entries {
				if len(e.Failed) > 0 && err == nil {
					err = checkFailed{fmt.Errorf("variant %s failed thresholds: %s", e.Variant, strings.Join(e.Failed, ", "))}
				}
			}
		}
		if res.Analysis != nil {
			fmt.Fprintln(stdout)
			if terr := reports.Terminal(stdout, res.Analysis); terr != nil && err == nil {
				err = terr
			}
		}
		fmt.Fprintf(stdout, "\n%s\n", resultsLine(res.Dir))
		if a := res.Analysis; a != nil && err == nil && len(a.Gates) > 0 {
			switch {
			case len(a.Unjudged()) > 0:
				err = notJudged{fmt.Errorf("the thresholds of scenario %s were not judged: %s", sc.Name, strings.Join(a.Unjudged(), "; "))}
			case len(a.Failed()) > 0:
				err = checkFailed{fmt.Errorf("%d threshold(s) of scenario %s failed (see the FAIL lines above)", len(a.Failed()), sc.Name)}
			}
		}
	}
	if sig, ok := stopsignal.Of(ctx); ok && err != nil {
		where := ""
		if res != nil {
			where = fmt.Sprintf("; every request measured so far is in %s", res.Dir)
		}
		return interrupted{sig, fmt.Errorf("interrupted by %v: the run stopped early%s", sig, where)}
	}
	if res != nil && errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: the run stopped early; every request measured so far is in %s", res.Dir)
	}
	return err
}

// resultsLine names the files of the run directory that were written, so
// that a run that could not write its reports (a full disk, say) does not
// announce them.
func resultsLine(dir string) string {
	derived, raw := rundir.Written(dir)
	switch {
	case len(derived) == 0 && !raw:
		return fmt.Sprintf("nothing was measured; the run directory is %s", dir)
	case len(derived) == 0:
		return fmt.Sprintf("no report was written; the raw files are in %s", dir)
	case raw:
		return fmt.Sprintf("results in %s: %s and the raw files", dir, strings.Join(derived, ", "))
	}
	return fmt.Sprintf("results in %s: %s", dir, strings.Join(derived, ", "))
}
