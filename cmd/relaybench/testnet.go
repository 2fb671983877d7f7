package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/stopsignal"
)

const testnetUsage = `usage: relaybench testnet up|status|down|smoke [flags]

  up      start the embedded test network and leave it running
  status  show a running network's nodes
  down    stop a network and every tor process it started
  smoke   start a network, prove bridge and entry downloads, stop it
`

func runTestnet(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, testnetUsage)
		return usagef("testnet: no subcommand given")
	}
	switch args[0] {
	case "up":
		return testnetUp(args[1:], stdout, stderr)
	case "serve":
		return testnetServe(args[1:], stdout, stderr)
	case "status":
		return testnetStatus(args[1:], stdout, stderr)
	case "down":
		return testnetDown(args[1:], stdout, stderr)
	case "smoke":
		return testnetSmoke(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, testnetUsage)
		return nil
	default:
		fmt.Fprint(stderr, testnetUsage)
		return usagef("testnet: unknown subcommand %q", args[0])
	}
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // usage printed; the caller stops, main exits 0
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// testnetUp starts the network owned by a detached `testnet serve` process
// (or, with --foreground, by this process until Ctrl-C) and prints how to
// use and stop it.
func testnetUp(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet up", stderr)
	var cfg chutney.Config
	cfg.RegisterFlags(fs)
	foreground := fs.Bool("foreground", false, "keep the network in this process until Ctrl-C instead of detaching")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *foreground {
		return serveNetwork(&cfg, stdout, true)
	}
	// Ctrl-C while waiting stops the owner, which stops every tor.
	ctx, stop := stopsignal.Context()
	defer stop()
	d, err := cfg.StartOwner(ctx, []string{"testnet", "serve"}, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: network stopped", err)
		}
		return err
	}
	return d.WriteReady(stdout)
}

// testnetServe is the detached owner that `testnet up` starts.
func testnetServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet serve", stderr)
	var cfg chutney.Config
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return serveNetwork(&cfg, stdout, false)
}

// serveNetwork keeps the network cfg describes until a signal or its
// maximum lifetime; in the foreground it first says how to use it.
func serveNetwork(cfg *chutney.Config, stdout io.Writer, foreground bool) error {
	ctx, stop := stopsignal.Notify()
	defer stop()
	if !foreground {
		return cfg.Serve(ctx, stdout, nil)
	}
	return cfg.Serve(ctx, stdout, func(d *chutney.Description) error {
		if err := d.WriteReady(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Press Ctrl-C to stop it.")
		return nil
	})
}

// readNetworkDir parses a subcommand's --dir flag and reads that
// network's description; it returns the dir too.
func readNetworkDir(name string, args []string, stderr io.Writer) (*chutney.Description, string, error) {
	fs := newFlagSet(name, stderr)
	dir := fs.String("dir", chutney.DefaultDir(), "network directory")
	if err := parseFlags(fs, args); err != nil {
		return nil, "", err
	}
	d, err := chutney.ReadDescription(*dir)
	if err != nil {
		return nil, "", usageError{err}
	}
	return d, *dir, nil
}

func testnetStatus(args []string, stdout, stderr io.Writer) error {
	d, _, err := readNetworkDir("testnet status", args, stderr)
	if err != nil {
		return err
	}
	state, status := d.CurrentState(), d.Status()
	if err := d.WriteStatus(stdout, state, status); err != nil {
		return err
	}
	return d.Problem(state, status)
}

// testnetDown asks the owner process to stop the network, waits, and kills
// whatever tor process of the network is left.
func testnetDown(args []string, stdout, stderr io.Writer) error {
	d, dir, err := readNetworkDir("testnet down", args, stderr)
	if err != nil {
		return err
	}
	td, err := d.Down(dir)
	if err != nil {
		return err
	}
	return td.Write(stdout)
}

func runVersion(stdout io.Writer) error {
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
