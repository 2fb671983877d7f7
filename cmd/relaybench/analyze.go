package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/relaybench/relaybench/runner/merge"
	"github.com/relaybench/relaybench/runner/session"
)

// analyzeFlags is `relaybench analyze RUN_DIR...` and `relaybench report
// RUN_DIR...`: recompute the statistics, onset and capacity of finished
// (or interrupted, or crashed) runs from their raw files, rewrite
// summary.json and the report files, and print the verdict. analyze
// also applies the scenario's thresholds (exit 1 when one fails), so CI can
// gate on a run made elsewhere; report only regenerates the files.
//
// analyze fails closed: a run whose raw files are damaged or missing, or
// that stopped before its end, is not judged (exit 4), whatever its gates
// say; a failed gate on intact data exits 1. Neither command replaces a
// summary.json of intact raw files with the analysis of damaged ones.
func analyzeFlags(cmd string) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action {
		return func(dirs []string, stdout, stderr io.Writer) error { return analyzeDirs(cmd, dirs, stdout) }
	}
}

// analyzeDirs is the action of analyze and report (cmd) on dirs.
func analyzeDirs(cmd string, dirs []string, stdout io.Writer) error {
	if len(dirs) == 0 {
		return usagef("%s: name a run directory (runs/<time>-<scenario>)", cmd)
	}
	return session.AnalyzeDirs(stdout, dirs, cmd == "analyze")
}

// mergeFlags is `relaybench merge RUN_DIR... -o MERGED`: one run directory
// from the run directories of the workers of a segmented run (runner/merge),
// then analysed like `relaybench analyze MERGED`. Inputs that are not the
// segments of one run are a usage error (exit 2) naming the conflict.
func mergeFlags(fs *flag.FlagSet) action {
	out := fs.String("o", "", "the merged run directory to create (new or empty)")
	return func(dirs []string, stdout, stderr io.Writer) error {
		if *out == "" {
			return usagef("merge: name the merged run directory with -o MERGED")
		}
		if len(dirs) == 0 {
			return usagef("merge: name the run directory of every worker (`relaybench run --segment i/N` writes <time>-<scenario>-segment-i-of-N)")
		}
		info, err := merge.Merge(*out, dirs...)
		if err != nil {
			return err // a *ConflictError or *InputError is a usage error (exitCode)
		}
		fmt.Fprintf(stdout, "merged the %d segments of scenario %s into %s\n\n", info.Merged.Count, info.Scenario, *out)
		return analyzeDirs("analyze", []string{*out}, stdout)
	}
}
