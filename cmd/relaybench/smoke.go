package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/runner/stopsignal"
)

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
	if cfg.Dir == chutney.DefaultDir() {
		cfg.Dir = filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-smoke-%d", os.Getpid()))
		defer os.RemoveAll(cfg.Dir)
	}
	ctx, stop := stopsignal.Notify()
	defer stop()

	fmt.Fprintf(stdout, "starting the embedded test network in %s\n", cfg.Dir)
	res, err := session.SmokeTestnet(ctx, cfg, size, session.Indent(stdout, "  "), func(target string) {
		fmt.Fprintf(stdout, "\ndownloading %s through the relay under test (%s):\n", sizeFlag, target)
	})
	if res != nil {
		if terr := res.WriteTable(stdout); terr != nil && err == nil {
			err = terr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nnetwork ready in %.1f s; every byte verified; all tor processes stopped.\n", res.ReadyIn.Seconds())
	return nil
}
