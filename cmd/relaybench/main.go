// Command relaybench benchmarks and load-tests Tor relays: it drives
// parallel downloads through tor clients that use the relay under test as
// their bridge, entry or middle hop, samples the relay's MetricsPort, and says
// how much the relay carried and where it started to overload.
//
// Usage:
//
//	relaybench run [SCENARIO]
//	relaybench analyze RUN_DIR...
//	relaybench report RUN_DIR...
//	relaybench compare [--fail-on-regression PCT] RUN_A RUN_B...
//	relaybench merge RUN_DIR... -o MERGED
//	relaybench validate FILE...
//	relaybench testnet up|status|down|smoke [flags]
//	relaybench version
//
// Run `relaybench help` for the commands and `relaybench CMD -h` for flags.
//
// Exit codes: 0 success; 1 a threshold or regression check failed; 2 a usage
// or configuration error; 3 the run itself failed (tor did not start, the
// network was not ready, a download failed).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, errQuiet) && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "relaybench: %v\n", err)
	}
	os.Exit(exitCode(err))
}

// Exit codes, documented in the package comment and the README.
const (
	exitOK         = 0
	exitCheckFail  = 1
	exitUsage      = 2
	exitRunFailure = 3
)

// usageError marks errors in how relaybench was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// checkFailed marks a check that ran and failed (exit code 1): a
// threshold of the scenario, or a regression found by compare
// --fail-on-regression. The measurement itself succeeded.
type checkFailed struct{ err error }

func (e checkFailed) Error() string { return e.err.Error() }
func (e checkFailed) Unwrap() error { return e.err }

// errQuiet is returned after the message was already printed (e.g. by the
// flag package), so main only sets the exit code.
var errQuiet = errors.New("quiet")

func exitCode(err error) int {
	var ue usageError
	var cf checkFailed
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &cf):
		return exitCheckFail
	default:
		return exitRunFailure
	}
}

const usageText = `relaybench benchmarks and load-tests Tor relays.

Commands:
  run [SCENARIO]   run a scenario (a file, or a built-in name: local,
                   local-entry, local-churn); without one, the built-in
                   local.yaml on the embedded test network
  analyze RUN_DIR  recompute a run's statistics, overload onset and capacity
                   from its raw files, rewrite summary.json and the reports,
                   and apply the scenario's thresholds (exit 1 if one fails)
  compare RUN_A RUN_B...
                   compare runs with statistics (Mann-Whitney U, as
                   benchstat); --fail-on-regression PCT exits 1 on a
                   significant regression beyond PCT percent
  report RUN_DIR   regenerate summary.json, steps.csv, report.md,
                   report.html and bench.txt from the raw files
  merge RUN_DIR... -o MERGED
                   make one run directory of the workers of a run spread
                   over machines (run --segment i/N --start-at T), then
                   analyse it
  validate FILE... check scenario files and say what is wrong
  testnet up       start the embedded local Tor test network (3 authorities,
                   exit, middle, the relay under test, a client) on 127.0.0.1
  testnet status   show the nodes of a running test network
  testnet down     stop a test network and every tor process it started
  testnet smoke    start a network, download through the target as bridge
                   and as entry guard, report, stop
  version          print relaybench's and tor's versions

Run 'relaybench COMMAND -h' for a command's flags.
`

// run is the whole program, testable: args exclude the program name.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return usagef("no command given")
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return nil
	case "testnet":
		return runTestnet(args[1:], stdout, stderr)
	case "run":
		return runRun(args[1:], stdout, stderr)
	case "compare":
		return runCompare(args[1:], stdout, stderr)
	case "analyze", "report":
		return runAnalyze(args[0], args[1:], stdout, stderr)
	case "merge":
		return runMerge(args[1:], stdout, stderr)
	case "validate":
		return runValidate(args[1:], stdout, stderr)
	case "version":
		return runVersion(stdout)
	default:
		fmt.Fprint(stderr, usageText)
		return usagef("unknown command %q", args[0])
	}
}
