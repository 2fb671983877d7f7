package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// testnetSmoke is the end-to-end proof that relaybench's foundation works on
// this machine: start the embedded network, push a verified download through
// the relay under test as a bridge and as an entry guard, show what the
// relay itself counted, and stop everything.
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
	if nf.dir == defaultTestnetDir() {
		nf.dir = filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-smoke-%d", os.Getpid()))
		defer os.RemoveAll(nf.dir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(stdout, "starting the embedded test network in %s\n", nf.dir)
	net, err := chutney.Start(ctx, nf.dir, nf.options(prefixWriter{stdout, "  "})...)
	if err != nil {
		return err
	}
	defer net.Stop()
	srv, err := payload.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.BytesURL(size)
	target := net.Target()
	nicknames := map[string]string{}
	for _, n := range net.Nodes {
		nicknames[n.Fingerprint] = n.Nickname
	}

	// The network's own client uses the target as its bridge; a second one
	// uses it as its entry guard.
	entry, err := net.NewClient(ctx, "smoke-entry", scenarios.RoleEntry)
	if err != nil {
		return err
	}
	defer entry.Stop()
	bootCtx, cancel := context.WithTimeout(ctx, nf.timeout)
	defer cancel()
	if err := entry.WaitBootstrapped(bootCtx); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\ndownloading %s through the relay under test (%s):\n", *sizeFlag, target.Nickname)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tBYTES\tSECONDS\tMiB/s\tCIRCUIT\tTARGET WROTE")
	for _, c := range []*chutney.Client{net.Client, entry} {
		before, err := scrapeWritten(target.MetricsURL())
		if err != nil {
			return err
		}
		v := payload.NewVerifier(payload.DefaultSeed)
		dlCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		start := time.Now()
		_, auth, err := c.Get(dlCtx, url, v)
		cancel()
		elapsed := time.Since(start)
		if err == nil {
			err = v.Finish(size)
		}
		if err != nil {
			return fmt.Errorf("download through the %s client: %w", c.Mode, err)
		}
		circ, err := c.CircuitFor(auth.User)
		if err != nil {
			return err
		}
		after, err := scrapeWritten(target.MetricsURL())
		if err != nil {
			return err
		}
		path := ""
		for i, fp := range circ.Path {
			if i > 0 {
				path += ">"
			}
			path += nicknames[fp]
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%s\t%.1f MiB\n", c.Mode, v.Count(), elapsed.Seconds(),
			units.InMiB(v.Count())/elapsed.Seconds(), path, units.InMiB(after-before))
	}
	tw.Flush()
	net.Stop()
	d, _ := chutney.ReadDescription(nf.dir)
	if d != nil {
		if alive := d.AlivePIDs(); len(alive) > 0 {
			return fmt.Errorf("tor processes %v still run after stop", alive)
		}
	}
	fmt.Fprintf(stdout, "\nnetwork ready in %.1f s; every byte verified; all tor processes stopped.\n", net.ReadyIn.Seconds())
	return nil
}

// scrapeWritten reads tor_relay_traffic_bytes{direction="written"}.
func scrapeWritten(url string) (float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	sc, err := metricsport.ParseScrape(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	return metricsport.NewRelaySnapshot(sc, time.Now()).Counters.TrafficWrittenBytes, nil
}

// prefixWriter indents progress lines.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
