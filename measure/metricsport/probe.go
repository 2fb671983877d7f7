package metricsport

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Probe scrapes url once, as the Sampler would, and returns nil if it
// answered with metrics. The error says what failed (connect, status,
// body) and what to check. A run probes the relay's MetricsPort before
// its load starts: one that never answers is a configuration error to
// report then, not overload to find in the data afterwards.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	_, err := ProbeScrape(ctx, url, timeout)
	return err
}

// ProbeScrape is Probe that also returns what the MetricsPort served,
// e.g. to see that it is a relay's (tor_relay_* families).
func ProbeScrape(ctx context.Context, url string, timeout time.Duration) (Scrape, error) {
	if timeout <= 0 {
		return Scrape{}, errors.New("metricsport probe: timeout must be positive")
	}
	sc := scraper{url: url, client: newClient(timeout), timeout: timeout, maxBody: DefaultMaxBodyBytes}
	rec := sc.scrape(ctx)
	if rec.OK {
		return ScrapeOf(rec), nil
	}
	return Scrape{}, fmt.Errorf("%s (%s)", rec.Error, rec.Kind)
}
