package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/scenarios"
)

// A variant's setup and teardown commands (scenarios.Variant.Setup and
// Teardown): shell command lines run around each of its repetitions.

// commandTimeout bounds one setup or teardown command: a sysctl or an ssh
// to the relay's host takes seconds; a command that hangs must not hold
// the run (or its teardown) forever.
const commandTimeout = 2 * time.Minute

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
