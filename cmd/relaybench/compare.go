package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/units"
)

// compareUsage heads the flags of `relaybench compare -h`.
const compareUsage = "usage: relaybench compare [--fail-on-regression PCT] [--format text|markdown|json] RUN_A RUN_B [RUN_C ...]\n\n" +
	"Compares each run with RUN_A (the baseline) step by step.\n\n"

// compareFlags is `relaybench compare [--fail-on-regression PCT] [--format
// text|markdown|json] RUN_A RUN_B [RUN_C ...]`: each run after the first
// is compared with RUN_A, the baseline, benchstat's way (medians with
// confidence intervals, Mann-Whitney U test). Runs are re-analysed from
// their raw files, so a stale or missing summary.json does not matter; a
// run directory without raw files falls back to its summary.json. Nothing
// is written into the run directories.
func compareFlags(fs *flag.FlagSet) action {
	var failOnRaw *string // set when the flag is given; checked once all are parsed
	fs.Func("fail-on-regression", "exit 1 when a significant change is worse than `PCT` percent: median goodput or capacity down, or median TTFB p50 or p95 up (e.g. 10); a metric with fewer than 4 repetitions on a side is not tested, said so, and does not fail the check", func(s string) error {
		failOnRaw = &s
		return nil
	})
	format := fs.String("format", "text", "output `format`: text, markdown or json (a JSON array, one comparison per run after the baseline)")
	return func(runs []string, stdout, stderr io.Writer) error {
		var failOn *float64
		if failOnRaw != nil {
			pct, err := units.ParsePercent(*failOnRaw)
			if err != nil {
				return usagef("--fail-on-regression: %v", err)
			}
			failOn = &pct
		}
		if !slices.Contains(reports.CompareFormats, *format) {
			return usagef("--format: %q is not one of %s", *format, strings.Join(reports.CompareFormats, ", "))
		}
		if len(runs) < 2 {
			return usagef("compare: name at least two run directories, the baseline first: relaybench compare RUN_A RUN_B (got %d)", len(runs))
		}
		return compareRuns(runs, failOn, *format, stdout, stderr)
	}
}

// compareRuns compares runs, prints the comparisons and, with failOn, the
// regression check.
func compareRuns(runs []string, failOn *float64, format string, stdout, stderr io.Writer) error {
	loaded, comps, err := session.CompareRuns(runs, func(note string) { fmt.Fprintf(stderr, "relaybench: %s\n", note) })
	if err != nil {
		return err
	}

	if err := reports.RenderComparisons(stdout, comps, format); err != nil {
		return err
	}
	why := session.Unjudged(loaded)
	if failOn == nil {
		for _, w := range why {
			fmt.Fprintf(stderr, "relaybench: not comparable: %s\n", w)
		}
		return nil
	}
	// The check goes where a reader of the format looks, except into
	// JSON, which must stay parseable.
	out := stdout
	if format == "json" {
		out = stderr
	}
	check := reports.CheckRegressions(comps, *failOn)
	check.Unjudged = why
	check.Render(out, format == "markdown")
	return check.Err()
}
