package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
)

// runAnalyze is `relaybench analyze RUN_DIR...`: recompute the statistics,
// onset and capacity of finished (or interrupted, or crashed) runs from
// their raw files, rewrite summary.json and print the verdict.
func runAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usagef("analyze: name a run directory (runs/<time>-<scenario>)")
	}
	for i, dir := range fs.Args() {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		a, err := analyzeDir(dir)
		if err != nil {
			return err
		}
		if err := reports.Terminal(stdout, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, measure.SummaryFile))
	}
	return nil
}

// analyzeDir loads a run directory, analyses it and writes summary.json.
func analyzeDir(dir string) (*measure.Analysis, error) {
	r, err := measure.Load(dir)
	if err != nil {
		return nil, err
	}
	a := measure.Analyze(r)
	if err := measure.WriteSummary(dir, a); err != nil {
		return a, fmt.Errorf("write summary of %s: %w", dir, err)
	}
	return a, nil
}
