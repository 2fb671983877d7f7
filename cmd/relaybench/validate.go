package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/relaybench/relaybench/scenarios"
)

// validateFlags is `relaybench validate FILE...`: it checks scenario files
// without running them.
func validateFlags(fs *flag.FlagSet) action {
	resolved := fs.Bool("resolved", false, "print each scenario with every default filled in")
	return func(paths []string, stdout, stderr io.Writer) error {
		if len(paths) == 0 {
			return usagef("validate: name at least one scenario file (built-in ones: %v)", scenarios.Names())
		}
		var bad []error
		for _, path := range paths {
			sc, err := scenarios.Load(path)
			if err != nil {
				bad = append(bad, err)
				continue
			}
			fmt.Fprintf(stdout, "%s: ok (scenario %q, %d steps, about %s)\n", path, sc.Name, len(sc.Ramp.Steps), sc.PlannedDuration())
			if *resolved {
				out, err := sc.Marshal()
				if err != nil {
					return err
				}
				stdout.Write(out)
			}
		}
		if len(bad) > 0 {
			return usageError{errors.Join(bad...)}
		}
		return nil
	}
}
