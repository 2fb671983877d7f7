package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/relaybench/relaybench/runner/session"
)

// unjudgedRuns says, for each run of a comparison that a regression check
// cannot be judged on, why: its input is damaged or missing, it stopped
// before its end, or it carried no byte at all (a run with no data is not
// "no regression"). Empty when every run can be judged.
func unjudgedRuns(runs []*session.LoadedRun) []string {
	var out []string
	for _, lr := range runs {
		why := lr.Analysis.Unjudged()
		bytes := 0.0
		for _, s := range lr.Analysis.Steps {
			bytes += s.Bytes
		}
		if bytes == 0 && len(why) == 0 {
			why = append(why, "it carried no byte")
		}
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", lr.Dir, strings.Join(why, "; ")))
		}
	}
	return out
}

// failClosed is compare's regression check on runs it cannot judge: with
// --fail-on-regression (failOn set) such a run fails the check (exit 4)
// instead of passing as "no regression", and the reason goes where the
// regressions would (stderr for JSON, which must stay parseable).
// Without --fail-on-regression the reasons are only noted on stderr.
func failClosed(runs []*session.LoadedRun, failOn *float64, format string, stdout, stderr io.Writer) error {
	why := unjudgedRuns(runs)
	if len(why) == 0 {
		return nil
	}
	if failOn == nil {
		for _, w := range why {
			fmt.Fprintf(stderr, "relaybench: not comparable: %s\n", w)
		}
		return nil
	}
	out := stdout
	if format == "json" {
		out = stderr
	}
	fmt.Fprintf(out, "\nregressions beyond %g%%: NOT JUDGED (fail closed)\n", *failOn)
	for _, w := range why {
		fmt.Fprintf(out, "  - %s\n", w)
	}
	return notJudged{fmt.Errorf("compare: %d run(s) cannot be judged for regressions: %s", len(why), strings.Join(why, "; "))}
}
