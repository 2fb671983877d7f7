package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
	"github.com/relaybench/relaybench/runner/units"
)

// testnetSmoke is `relaybench testnet smoke`: start the embedded network,
// run session.Smoke (a verified download through the relay under test as a
// bridge and as an entry guard), show what the relay itself counted, and
// stop everything.
func testnetSmoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet smoke", stderr)
	var nf networkFlags
	nf.register(fs)
	sizeFlag := fs.String("size", "10MiB", "bytes to download through each client")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	size, err := payload.ParseSize(*sizeFlag)
	if err != nil || size <= 0 {
		return usagef("invalid value %q for flag -size: use a size like 10MiB", *sizeFlag)
	}
	if nf.Dir == defaultTestnetDir() {
		nf.Dir = filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-smoke-%d", os.Getpid()))
		defer os.RemoveAll(nf.Dir)
	}
	ctx, stop := stopsignal.Notify()
	defer stop()

	fmt.Fprintf(stdout, "starting the embedded test network in %s\n", nf.Dir)
	net, err := chutney.Start(ctx, nf.Dir, nf.Options(session.Indent(stdout, "  "))...)
	if err != nil {
		return err
	}
	defer net.Stop()
	downloads, err := session.Smoke(ctx, net, size, nf.Timeout, func() {
		fmt.Fprintf(stdout, "\ndownloading %s through the relay under test (%s):\n", *sizeFlag, net.Target().Nickname)
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tBYTES\tSECONDS\tMiB/s\tCIRCUIT\tTARGET WROTE")
	for _, d := range downloads {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%s\t%.1f MiB\n", d.Mode, d.Bytes, d.Elapsed.Seconds(),
			units.InMiB(d.Bytes)/d.Elapsed.Seconds(), strings.Join(d.Path, ">"), units.InMiB(d.TargetWrote))
	}
	tw.Flush()
	net.Stop()
	if d, _ := chutney.ReadDescription(nf.Dir); d != nil {
		if alive := d.AlivePIDs(); len(alive) > 0 {
			return fmt.Errorf("tor processes %v still run after stop", alive)
		}
	}
	fmt.Fprintf(stdout, "\nnetwork ready in %.1f s; every byte verified; all tor processes stopped.\n", net.ReadyIn.Seconds())
	return nil
}
