package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/units"
)

// SmokeResult is what `relaybench testnet smoke` proved.
type SmokeResult struct {
	// ReadyIn is how long the network took to be proven ready.
	ReadyIn   time.Duration
	Downloads []SmokeDownload
}

// SmokeTestnet is `relaybench testnet smoke`: it starts the embedded
// network cfg describes, in a temporary dir of its own unless cfg names
// one (smokeDir), runs Smoke through its relay under test with size bytes
// (label is how the user wrote that size) and stops the network, proving
// that none of its tor processes outlives it. It writes to w the network's
// progress, indented, the downloads (SmokeResult.WriteTable) and, when all
// went well, how long the network took to be ready. A network whose tor
// processes survive the stop is an error after the downloads are written.
func SmokeTestnet(ctx context.Context, cfg chutney.Config, size int64, label string, w io.Writer) error {
	var temporary bool
	if cfg.Dir, temporary = smokeDir(cfg.Dir); temporary {
		defer os.RemoveAll(cfg.Dir)
	}
	fmt.Fprintf(w, "starting the embedded test network in %s\n", cfg.Dir)
	res, err := smokeTestnet(ctx, &cfg, size, indent(w, "  "), func(target string) {
		fmt.Fprintf(w, "\ndownloading %s through the relay under test (%s):\n", label, target)
	})
	if res != nil {
		if terr := res.WriteTable(w); terr != nil && err == nil {
			err = terr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nnetwork ready in %.1f s; every byte verified; all tor processes stopped.\n", res.ReadyIn.Seconds())
	return nil
}

// smokeDir is the dir of testnet smoke's network, given the one asked for:
// that one, or, instead of the default dir (that of `testnet up`, whose
// network smoke must leave alone), a temporary dir of this process, to be
// removed after.
func smokeDir(dir string) (_ string, temporary bool) {
	if dir != chutney.DefaultDir() {
		return dir, false
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-smoke-%d", os.Getpid())), true
}

// smokeTestnet starts the network cfg describes (its progress goes to
// progress), runs Smoke through its relay under test with size bytes, and
// stops the network, proving that none of its tor processes outlives it.
// ready is called with the target's nickname once Smoke's clients are up.
// A network whose tor processes survive the stop returns the result with
// the error.
func smokeTestnet(ctx context.Context, cfg *chutney.Config, size int64, progress io.Writer, ready func(target string)) (*SmokeResult, error) {
	net, err := chutney.Start(ctx, cfg.Dir, cfg.Options(progress)...)
	if err != nil {
		return nil, err
	}
	defer net.Stop()
	downloads, err := Smoke(ctx, net, size, cfg.Timeout, func() { ready(net.Target().Nickname) })
	if err != nil {
		return nil, err
	}
	net.Stop()
	res := &SmokeResult{ReadyIn: net.ReadyIn, Downloads: downloads}
	if d, _ := chutney.ReadDescription(cfg.Dir); d != nil {
		if alive := d.AlivePIDs(); len(alive) > 0 {
			return res, fmt.Errorf("tor processes %v still run after stop", alive)
		}
	}
	return res, nil
}

// WriteTable writes a row per download: how the client used the relay,
// the verified bytes, the time, the rate, the circuit and what the relay
// itself counted as written.
func (r *SmokeResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tBYTES\tSECONDS\tMiB/s\tCIRCUIT\tTARGET WROTE")
	for _, d := range r.Downloads {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%s\t%.1f MiB\n", d.Mode, d.Bytes, d.Elapsed.Seconds(),
			units.InMiB(d.Bytes)/d.Elapsed.Seconds(), strings.Join(d.Path, ">"), units.InMiB(d.TargetWrote))
	}
	return tw.Flush()
}
