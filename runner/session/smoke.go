package session

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/scenarios"
)

// SmokeDownload is one verified download of Smoke.
type SmokeDownload struct {
	// Mode is how the client used the relay under test.
	Mode scenarios.Role
	// Bytes is the verified body bytes received.
	Bytes   int64
	Elapsed time.Duration
	// Path is the circuit's relays, by nickname.
	Path []string
	// TargetWrote is what the relay under test's MetricsPort counted as
	// written during the download, in bytes.
	TargetWrote float64
}

// Smoke is the end-to-end proof that relaybench's foundation works: it
// pushes a verified download of size bytes through the relay under test of
// net as a bridge (the network's own client) and as an entry guard (a
// client it starts and stops, bootstrapped within bootTimeout), and reads
// what the relay itself counted. ready is called once both clients are up,
// before the first download.
func Smoke(ctx context.Context, net *chutney.Network, size int64, bootTimeout time.Duration, ready func()) ([]SmokeDownload, error) {
	srv, err := payload.Listen(chutney.PayloadAddress + ":0")
	if err != nil {
		return nil, err
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
		return nil, err
	}
	defer entry.Stop()
	bootCtx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	if err := entry.WaitBootstrapped(bootCtx); err != nil {
		return nil, err
	}
	ready()

	var out []SmokeDownload
	for _, c := range []*chutney.Client{net.Client, entry} {
		before, err := scrapeWritten(target.MetricsURL())
		if err != nil {
			return out, err
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
			return out, fmt.Errorf("download through the %s client: %w", c.Mode, err)
		}
		circ, err := c.CircuitFor(auth.User)
		if err != nil {
			return out, err
		}
		after, err := scrapeWritten(target.MetricsURL())
		if err != nil {
			return out, err
		}
		d := SmokeDownload{Mode: c.Mode, Bytes: v.Count(), Elapsed: elapsed, TargetWrote: after - before}
		for _, fp := range circ.Path {
			d.Path = append(d.Path, nicknames[fp])
		}
		out = append(out, d)
	}
	return out, nil
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
