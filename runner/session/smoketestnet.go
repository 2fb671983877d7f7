package session

import (
	"context"
	"fmt"
	"io"
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

// SmokeTestnet starts the embedded network cfg describes (its progress
// goes to progress), runs Smoke through its relay under test with size
// bytes, and stops the network, proving that none of its tor processes
// outlives it. ready is called with the target's nickname once Smoke's
// clients are up. A network whose tor processes survive the stop returns
// the result with the error.
func SmokeTestnet(ctx context.Context, cfg *chutney.Config, size int64, progress io.Writer, ready func(target string)) (*SmokeResult, error) {
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
