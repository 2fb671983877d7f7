package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
	"github.com/relaybench/relaybench/scenarios"
)

// runFlags is `relaybench run [SCENARIO]`.
func runFlags(fs *flag.FlagSet) action {
	var opts session.Options
	fs.StringVar(&opts.OutDir, "out", "runs", "directory that receives the run directory")
	metricsAddr := fs.String("metrics-addr", "", "serve live Prometheus metrics of the run at http://`ADDR`/metrics, e.g. 127.0.0.1:9464 (see deploy/)")
	metricsLinger := fs.Duration("metrics-linger", 0, "with --metrics-addr, keep serving this long after the run, so that Prometheus scrapes the final counts")
	fs.BoolVar(&opts.SkipRelayProof, "skip-relay-proof", false, "run a relay target although neither its MetricsPort nor its ControlPort proves that you operate it (only for a relay you run)")
	// The flags of one worker of a run spread over several machines;
	// session.Run checks them against the scenario (an *OptionError, exit 2).
	fs.Func("segment", "run only worker i's share of every step, of N workers (`i/N`, 0-based: 0/3, 1/3, 2/3); merge the workers' run directories with `relaybench merge`", func(v string) (err error) {
		opts.Segment, err = segment.Parse(v)
		return err
	})
	fs.Func("start-at", "wait until this wall-clock time (`RFC3339`, e.g. 2026-05-01T12:00:00Z) before the first step and keep every step on that schedule; give every worker the same", func(v string) (err error) {
		if opts.StartAt, err = time.Parse(time.RFC3339, v); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time such as 2026-05-01T12:00:00Z", v)
		}
		return nil
	})
	fs.BoolVar(&opts.ScrapeRelay, "scrape-relay", false, "with --segment: scrape the relay's MetricsPort and write env.json on this worker too (segment 0 always does)")
	return func(args []string, stdout, stderr io.Writer) error {
		opts.Progress = stderr
		var sc *scenarios.Scenario
		switch len(args) {
		case 0:
			sc = scenarios.Default()
		case 1:
			var err error
			if sc, err = scenarios.LoadFileOrBuiltin(args[0]); err != nil {
				return usageError{err}
			}
		default:
			return usagef("run: one scenario at a time (got %d arguments)", len(args))
		}
		ctx, stop := stopsignal.Context()
		defer stop()
		if *metricsAddr != "" {
			exp := promexport.New()
			srv, err := promexport.Listen(*metricsAddr, exp)
			if err != nil {
				return usageError{err}
			}
			opts.Metrics = exp
			fmt.Fprintf(stderr, "serving live metrics at %s\n", srv.URL())
			// Serve the final counts for --metrics-linger after the run.
			defer srv.Linger(ctx, *metricsLinger, stderr)
		}
		return runScenario(ctx, sc, opts, stdout)
	}
}

// runScenario runs sc and says what came of it: the ranking of its
// variants, the verdict, and where the files are (only those that were
// written); session.Judge makes of that the error the command exits with.
func runScenario(ctx context.Context, sc *scenarios.Scenario, opts session.Options, stdout io.Writer) error {
	res, err := session.Run(ctx, sc, opts)
	if res != nil {
		if werr := reports.RunOutcome(stdout, res.Dir, res.Ranking, res.Analysis); err == nil {
			err = werr
		}
	}
	return session.Judge(ctx, sc.Name, res, err)
}
