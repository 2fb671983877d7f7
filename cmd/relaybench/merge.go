package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/relaybench/relaybench/runner/merge"
)

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
