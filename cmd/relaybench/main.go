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
//	relaybench serve --listen ADDR [flags]
//	relaybench testnet up|status|down|smoke [flags]
//	relaybench version
//
// Run `relaybench help` for the commands and `relaybench CMD -h` for flags.
//
// Exit codes: 0 success; 1 a threshold or regression check failed; 2 a usage
// or configuration error; 3 the run itself failed (tor did not start, the
// network was not ready, a raw file could not be written); 4 the input is
// damaged, missing or cut short, so thresholds or regressions were not
// judged (fail closed); 128+N the run was interrupted by signal N (130
// Ctrl-C, 143 SIGTERM, 129 SIGHUP) after writing what it measured; serve,
// a server, exits 0 when stopped by a signal.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/merge"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
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
	exitNotJudged  = 4
	// exitSignal plus the signal's number is the code of a run stopped by
	// a signal, as a shell reports a process killed by it.
	exitSignal = 128
)

// usageError marks errors in how relaybench was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errQuiet is returned after the message was already printed (e.g. by the
// flag package), so main only sets the exit code.
var errQuiet = errors.New("quiet")

func exitCode(err error) int {
	var ue usageError
	var in *stopsignal.Interrupted
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &in):
		return exitSignal + int(in.Signal)
	case errors.As(err, &ue), errors.Is(err, rundir.ErrNotRunDir), errors.As(err, new(*session.ConfigError)), errors.As(err, new(*session.OptionError)), errors.Is(err, chutney.ErrInUse),
		errors.As(err, new(*merge.ConflictError)), errors.As(err, new(*merge.InputError)):
		return exitUsage
	case reports.JudgementOf(err) == reports.Failed:
		return exitCheckFail
	case reports.JudgementOf(err) == reports.NotJudged, errors.Is(err, rundir.ErrDamaged):
		return exitNotJudged
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
  serve --listen ADDR
                   serve relaybench's verified payload to Tor exits from a
                   public host, behind a secret path token, within a byte
                   budget (the payload.url of a relay scenario)
  testnet up       start the embedded local Tor test network (3 authorities,
                   exit, middle, the relay under test, a client) on 127.0.0.1
  testnet status   show the nodes of a running test network
  testnet down     stop a test network and every tor process it started
  testnet smoke    start a network, download through the target as bridge
                   and as entry guard, report, stop
  version          print relaybench's and tor's versions

Run 'relaybench COMMAND -h' for a command's flags.
`

// version is `relaybench version`: relaybench's and tor's versions.
func version(_ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "relaybench (development build)")
	out, err := exec.Command("tor", "--version").Output()
	if err != nil {
		fmt.Fprintln(stdout, "tor: not found (install it: scripts/setup.sh)")
		return nil
	}
	first, _, _ := strings.Cut(string(out), "\n")
	fmt.Fprintln(stdout, "tor:", strings.TrimSpace(first))
	return nil
}

// commands are relaybench's commands, which run dispatches to.
var commands = commandSet{usage: usageText, commands: []command{
	{name: "run", args: argsAfterFlags, flags: runFlags},
	{name: "analyze", args: argsAfterFlags, flags: analyzeFlags("analyze")},
	{name: "report", args: argsAfterFlags, flags: analyzeFlags("report")},
	{name: "compare", args: argsAnywhere, usage: compareUsage, flags: compareFlags},
	{name: "merge", args: argsAnywhere, flags: mergeFlags},
	{name: "validate", args: argsAfterFlags, flags: validateFlags},
	{name: "serve", flags: serveFlags},
	{name: "testnet", run: testnetCommands.run},
	{name: "version", run: version},
}}

// run is the whole program, testable: args exclude the program name.
func run(args []string, stdout, stderr io.Writer) error {
	return commands.run(args, stdout, stderr)
}
