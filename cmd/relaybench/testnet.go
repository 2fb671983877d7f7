package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
)

// testnetCommands are the subcommands of `relaybench testnet`; serve is
// the detached owner that up starts, not in the usage.
var testnetCommands = commandSet{name: "testnet", usage: testnetUsage, commands: []command{
	{name: "up", flags: testnetUpFlags},
	{name: "serve", flags: networkFlags(func(cfg *chutney.Config, _ []string, stdout, _ io.Writer) error {
		return serveNetwork(cfg, stdout, false)
	})},
	{name: "status", flags: networkDirFlags(func(d *chutney.Description, _ string, stdout io.Writer) error { return d.ShowStatus(stdout) })},
	{name: "down", flags: networkDirFlags((*chutney.Description).ShowDown)},
	{name: "smoke", flags: testnetSmokeFlags},
}}

const testnetUsage = `usage: relaybench testnet up|status|down|smoke [flags]

  up      start the embedded test network and leave it running
  status  show a running network's nodes
  down    stop a network and every tor process it started
  smoke   start a network, prove bridge and entry downloads, stop it
`

// networkFlags defines the flags of a test network (chutney.Config) for
// act.
func networkFlags(act func(cfg *chutney.Config, args []string, stdout, stderr io.Writer) error) func(*flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		var cfg chutney.Config
		cfg.RegisterFlags(fs)
		return func(args []string, stdout, stderr io.Writer) error { return act(&cfg, args, stdout, stderr) }
	}
}

// testnetUpFlags is `testnet up`: it starts the network owned by a detached
// `testnet serve` process (or, with --foreground, by this process until
// Ctrl-C) and prints how to use and stop it.
func testnetUpFlags(fs *flag.FlagSet) action {
	foreground := fs.Bool("foreground", false, "keep the network in this process until Ctrl-C instead of detaching")
	return networkFlags(func(cfg *chutney.Config, _ []string, stdout, stderr io.Writer) error {
		if *foreground {
			return serveNetwork(cfg, stdout, true)
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
	})(fs)
}

// serveNetwork keeps the network cfg describes until a signal or its
// maximum lifetime; in the foreground it first says how to use it.
func serveNetwork(cfg *chutney.Config, stdout io.Writer, foreground bool) error {
	ctx, stop := stopsignal.Notify()
	defer stop()
	return cfg.Serve(ctx, stdout, foreground)
}

// networkDirFlags defines the --dir flag of a running network for act,
// which gets that network's description.
func networkDirFlags(act func(d *chutney.Description, dir string, stdout io.Writer) error) func(*flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		dir := fs.String("dir", chutney.DefaultDir(), "network directory")
		return func(_ []string, stdout, _ io.Writer) error {
			d, err := chutney.ReadDescription(*dir)
			if err != nil {
				return usageError{err}
			}
			return act(d, *dir, stdout)
		}
	}
}

// testnetSmokeFlags is `relaybench testnet smoke`: start the embedded network,
// run session.Smoke (a verified download through the relay under test as a
// bridge and as an entry guard), show what the relay itself counted, and
// stop everything.
func testnetSmokeFlags(fs *flag.FlagSet) action {
	sizeFlag := fs.String("size", "10MiB", "bytes to download through each client")
	return networkFlags(func(cfg *chutney.Config, _ []string, stdout, _ io.Writer) error {
		return smoke(cfg, *sizeFlag, stdout)
	})(fs)
}

func smoke(cfg *chutney.Config, sizeFlag string, stdout io.Writer) error {
	size, err := payload.ParseSize(sizeFlag)
	if err != nil || size <= 0 {
		return usagef("invalid value %q for flag -size: use a size like 10MiB", sizeFlag)
	}
	ctx, stop := stopsignal.Notify()
	defer stop()
	return session.SmokeTestnet(ctx, *cfg, size, sizeFlag, stdout)
}
