package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// commandTimeout bounds one setup or teardown command: a sysctl or an ssh
// to the relay's host takes seconds; a command that hangs must not hold
// the run (or its teardown) forever.
const commandTimeout = 2 * time.Minute

// runVariants runs each variant's repetitions interleaved, A B A B ..., so
// that drift (a warming machine, a busier network) spreads evenly over the
// variants instead of favouring the one that ran first. Every repetition
// brings up a fresh target: on the embedded network that restarts the
// relay under test with the variant's torrc and open-files limit. A
// variant's setup commands run before each of its repetitions and its
// teardown commands after, whatever happened in between (a failed run,
// Ctrl-C), so that a sysctl the setup changed is put back.
//
// Each variant's repetitions accumulate in variants/<name>/, a run
// directory of its own that analyze, report and compare read like any
// other; the run ends with the comparison of all variants.
func runVariants(ctx context.Context, sc *scenarios.Scenario, dir string, opts Options) (*Result, error) {
	res := &Result{Dir: dir}
	rounds := 0
	for _, v := range sc.Variants {
		rounds = max(rounds, v.Repetitions)
	}
	fmt.Fprintf(opts.Progress, "run %s: scenario %s, %d variants interleaved over %d rounds, %s target as %s, about %s of load\n",
		dir, sc.Name, len(sc.Variants), rounds, sc.Target.Kind, roleOf(sc), sc.PlannedDuration())
	for round := range rounds {
		for _, v := range sc.Variants {
			if round >= v.Repetitions {
				continue
			}
			vsc := sc.ForVariant(v)
			vdir := filepath.Join(dir, rundir.VariantsDir, v.Name)
			if err := os.MkdirAll(vdir, 0o755); err != nil {
				return res, err
			}
			if err := writeScenario(vdir, vsc); err != nil {
				return res, err
			}
			fmt.Fprintf(opts.Progress, "\nvariant %s, repetition %d of %d\n", v.Name, round+1, v.Repetitions)
			vopts := opts
			vopts.variant = v.Name
			env := []string{
				"RELAYBENCH_VARIANT=" + v.Name,
				"RELAYBENCH_RUN_DIR=" + vdir,
				"RELAYBENCH_REPETITION=" + strconv.Itoa(round),
			}
			var vres *Result
			err := withSetup(ctx, v, env, opts.Progress, func() error {
				var err error
				vres, err = runInDir(ctx, vsc, vdir, []int{round}, vopts)
				return err
			})
			if vres != nil {
				res.Reps = append(res.Reps, vres.Reps...)
				res.Circuits = append(res.Circuits, vres.Circuits...)
			}
			if err != nil {
				rerr := fmt.Errorf("variant %s, repetition %d: %w", v.Name, round+1, err)
				if ranking, ferr := finishVariants(dir, sc); ferr == nil {
					res.Ranking = ranking // what was measured before the failure
				}
				return res, rerr
			}
		}
	}
	ranking, err := finishVariants(dir, sc)
	res.Ranking = ranking
	return res, err
}

// finishVariants ranks the variants measured so far and writes
// comparison.md and comparison.json into the run directory. Each variant's
// differences from the first are SetupDifferences of their directories.
func finishVariants(dir string, sc *scenarios.Scenario) (*reports.Ranking, error) {
	var named []reports.NamedAnalysis
	var base *Setup
	for _, v := range sc.Variants {
		vdir := filepath.Join(dir, rundir.VariantsDir, v.Name)
		a, err := measure.ReadSummary(vdir)
		if err != nil {
			continue // not run (yet)
		}
		setup := ReadSetup(vdir)
		if base == nil {
			base = &setup
		}
		diffs, _ := SetupDifferences(*base, setup)
		named = append(named, reports.NamedAnalysis{Name: v.Name, Analysis: a, Differences: diffs})
	}
	if len(named) < 2 {
		return nil, fmt.Errorf("fewer than two variants have results in %s: nothing to compare", dir)
	}
	r := reports.Rank(named)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{rundir.ComparisonMarkdownFile, r.Markdown}, {rundir.ComparisonJSONFile, r.JSON}} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return r, err
		}
		if err := rundir.WriteFileAtomic(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return r, err
		}
	}
	return r, nil
}

// withSetup runs v's setup commands, then fn, then v's teardown commands.
// The teardown runs whenever any setup command was started, also when
// setup or fn failed or ctx was canceled (with a context of its own, since
// ctx may be the canceled one): teardown commands are how a setting is put
// back, and a run that stopped early must not leave the machine tuned.
func withSetup(ctx context.Context, v scenarios.Variant, env []string, log io.Writer, fn func() error) (err error) {
	if len(v.Setup) == 0 && len(v.Teardown) == 0 {
		return fn()
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(len(v.Teardown)+1)*commandTimeout)
		defer cancel()
		if terr := runCommands(tctx, "teardown", v.Teardown, env, log); terr != nil {
			terr = fmt.Errorf("teardown of variant %s failed: %w; the setting it restores may still be changed, restore it by hand", v.Name, terr)
			err = errors.Join(err, terr)
		}
	}()
	if err := runCommands(ctx, "setup", v.Setup, env, log); err != nil {
		return fmt.Errorf("setup of variant %s: %w (teardown ran)", v.Name, err)
	}
	return fn()
}

// runCommands runs each command line with sh -c, in order, stopping at the
// first failure. Output goes to log, each line prefixed with the phase. A
// command runs in its own process group, killed as a group on timeout or
// cancellation, so that nothing it started outlives it.
func runCommands(ctx context.Context, phase string, cmds []string, env []string, log io.Writer) error {
	for i, line := range cmds {
		fmt.Fprintf(log, "  %s: $ %s\n", phase, line)
		cctx, cancel := context.WithTimeout(ctx, commandTimeout)
		cmd := exec.CommandContext(cctx, "sh", "-c", line)
		cmd.Env = append(os.Environ(), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				fmt.Fprintf(log, "  %s: %s\n", phase, sc.Text())
			}
			io.Copy(io.Discard, pr)
		}()
		err := cmd.Run()
		pw.Close()
		wg.Wait()
		cancel()
		if err != nil {
			why := err.Error()
			if cctx.Err() == context.DeadlineExceeded {
				why = fmt.Sprintf("timed out after %s", commandTimeout)
			} else if ctx.Err() != nil {
				why = "interrupted"
			}
			return fmt.Errorf("%s[%d] %q: %s", phase, i, line, strings.TrimSpace(why))
		}
	}
	return nil
}
