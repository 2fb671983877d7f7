package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/session"
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
		if sc, err = loadScenario(fs.Arg(0)); err != nil {
			return usageError{err}
		}
	default:
		return usagef("run: one scenario at a time (got %d arguments)", fs.NArg())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
		fmt.Fprintf(stdout, "\nresults in %s: report.html, report.md, steps.csv, summary.json, bench.txt and the raw files\n", res.Dir)
		if a := res.Analysis; a != nil && err == nil && len(a.Failed()) > 0 {
			err = checkFailed{fmt.Errorf("%d threshold(s) of scenario %s failed (see the FAIL lines above)", len(a.Failed()), sc.Name)}
		}
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: the run stopped early; every request measured so far is in %s", res.Dir)
		}
	}
	return err
}

// loadScenario loads a file, or a built-in scenario by name (local,
// local-entry, ...), so `relaybench run local-churn` works without the file.
func loadScenario(arg string) (*scenarios.Scenario, error) {
	if _, err := os.Stat(arg); err != nil && slices.Contains(scenarios.Names(), strings.TrimSuffix(arg, ".yaml")) {
		return scenarios.Builtin(strings.TrimSuffix(arg, ".yaml"))
	}
	return scenarios.Load(arg)
}
