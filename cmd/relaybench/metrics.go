package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/runner/session"
)

// serveMetrics serves the run's live metrics (`run --metrics-addr`) into
// opts and returns what ends them: it keeps serving for linger after the
// run (or until ctx ends), so that Prometheus scrapes the final counts,
// then stops. Without addr it does nothing.
func serveMetrics(addr string, linger time.Duration, opts *session.Options, stderr io.Writer) (stop func(context.Context), err error) {
	if addr == "" {
		return func(context.Context) {}, nil
	}
	exp := promexport.New()
	srv, err := promexport.Listen(addr, exp)
	if err != nil {
		return nil, err
	}
	opts.Metrics = exp
	fmt.Fprintf(stderr, "serving live metrics at %s\n", srv.URL())
	return func(ctx context.Context) { srv.Linger(ctx, linger, stderr) }, nil
}
