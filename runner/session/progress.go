package session

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/scenarios"
)

// progressPrinter shows the live progress line: on a terminal it is
// rewritten in place, elsewhere (CI logs) a line every 5 s.
func progressPrinter(w io.Writer, sc *scenarios.Scenario, rep int) func(runner.Progress) {
	tty := isTerminal(w)
	var last time.Time
	unit := "streams"
	if sc.Workload.Kind == scenarios.WorkloadChurn {
		unit = "req/s"
	}
	return func(p runner.Progress) {
		line := fmt.Sprintf("rep %d/%d step %d/%d (%d %s)  %5.1fs  %7.2f MiB/s  %6d requests  %4d errors",
			rep+1, max(sc.Repetitions, 1), p.Step+1, len(sc.Ramp.Steps), p.Load, unit, p.Elapsed.Seconds(), p.MiBps, p.Requests, p.Errors)
		if tty {
			fmt.Fprintf(w, "\r%s", line)
			return
		}
		if time.Since(last) >= 5*time.Second {
			fmt.Fprintln(w, line)
			last = time.Now()
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// indent returns a writer that puts prefix before each Write to w: the
// indented progress of a network starting inside a run or a smoke test.
func indent(w io.Writer, prefix string) io.Writer { return prefixWriter{w, prefix} }

// prefixWriter indents progress lines.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
