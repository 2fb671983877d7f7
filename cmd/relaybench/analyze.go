package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/session"
)

// runAnalyze is `relaybench analyze RUN_DIR...` and `relaybench report
// RUN_DIR...`: recompute the statistics, onset and capacity of finished
// (or interrupted, or crashed) runs from their raw files, rewrite
// summary.json and the report files, and print the verdict. analyze
// also applies the scenario's thresholds (exit 1 when one fails), so CI can
// gate on a run made elsewhere; report only regenerates the files.
func runAnalyze(cmd string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(cmd, stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usagef("%s: name a run directory (runs/<time>-<scenario>)", cmd)
	}
	var failed []string
	for i, dir := range fs.Args() {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		a, err := session.AnalyzeDir(dir)
		if err != nil {
			return err
		}
		if err := reports.Terminal(stdout, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and the reports (%s, %s, %s, %s)\n", filepath.Join(dir, rundir.SummaryFile),
			rundir.StepsCSVFile, rundir.MarkdownFile, rundir.HTMLFile, rundir.BenchFile)
		if len(a.Failed()) > 0 {
			failed = append(failed, dir)
		}
	}
	if cmd == "analyze" && len(failed) > 0 {
		return checkFailed{fmt.Errorf("thresholds failed in %s (see the FAIL lines above)", strings.Join(failed, ", "))}
	}
	return nil
}
