package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/stopsignal"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// serveGrace is how long `relaybench serve` lets open downloads finish
// once told to stop, before it cuts them.
const serveGrace = 10 * time.Second

// serveFlags is `relaybench serve`: relaybench's verified payload for Tor
// exits, from a public host, until SIGINT or SIGTERM (payload.Public).
func serveFlags(fs *flag.FlagSet) action {
	c := serveConfig{maxBytes: scenarios.ByteSize(10 * units.GiB), maxSize: scenarios.ByteSize(payload.DefaultMaxSize)}
	fs.StringVar(&c.listen, "listen", "", "`ADDR` to listen on, host:port: :8080 (all interfaces) or 203.0.113.7:80, say (required)")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the secret path token from `FILE`; if it does not exist, make one and write it there (mode 0600), so the URL survives restarts. Without it a new token is made and shown once")
	fs.TextVar(&c.maxBytes, "max-bytes", c.maxBytes, "the byte budget, a `SIZE` such as 50GiB: payload bytes to serve in all; downloads that do not fit what is left get 503")
	fs.TextVar(&c.rate, "rate", c.rate, "the most payload bytes per second (a `RATE` such as 20MiB/s) across all clients; 0 for no cap")
	fs.TextVar(&c.maxSize, "max-size", c.maxSize, "the largest payload (a `SIZE`) of one download; larger sizes get 413")
	fs.StringVar(&c.accessLog, "access-log", "", "append one JSON line per request to `FILE` (time, remote, path without the token, status, bytes, duration)")
	return func(_ []string, stdout, stderr io.Writer) error { return serve(c, stdout, stderr) }
}

// serveConfig is what the flags of serve set.
type serveConfig struct {
	listen, tokenFile, accessLog string
	maxBytes, maxSize            scenarios.ByteSize
	rate                         scenarios.Rate
}

func serve(c serveConfig, stdout, stderr io.Writer) error {
	if c.listen == "" {
		return usagef("serve: -listen is required: the address Tor exits connect to, e.g. --listen :8080")
	}
	if c.maxBytes <= 0 {
		return usagef("serve: -max-bytes %s: give the payload bytes this host may serve, e.g. 50GiB", c.maxBytes)
	}
	if c.maxSize <= 0 {
		return usagef("serve: -max-size %s: give the largest payload of one download, e.g. 1GiB", c.maxSize)
	}

	token, tokenNew, err := payload.TokenFrom(c.tokenFile)
	if err != nil {
		return usagef("serve: -token-file: %w", err)
	}
	notice := func(msg string) {
		fmt.Fprintf(stderr, "%s relaybench serve: %s\n", time.Now().UTC().Format(time.RFC3339), msg)
	}
	pub := payload.Public{Token: token, MaxBytes: int64(c.maxBytes), Rate: int64(c.rate), Notice: notice}
	closeLog := func() error { return nil }
	if c.accessLog != "" {
		f, err := os.OpenFile(c.accessLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return usagef("serve: -access-log: %w", err)
		}
		pub.AccessLog, closeLog = f, f.Close
	}

	ctx, stop := stopsignal.Context()
	defer stop()
	srv, err := payload.Listen(c.listen, payload.WithPublic(pub), payload.WithMaxSize(int64(c.maxSize)), payload.WithErrorLog(notice))
	if err != nil {
		closeLog()
		return usagef("serve: -listen: %w", err)
	}
	info := payload.ServeInfo{Public: pub, Addr: srv.Addr(), TokenFile: c.tokenFile, TokenNew: tokenNew, MaxSize: int64(c.maxSize), AccessLogPath: c.accessLog}
	info.WriteBanner(stdout)

	cut := false
	select {
	case <-ctx.Done():
		fmt.Fprintf(stdout, "\n%v: letting open downloads finish for up to %s\n", context.Cause(ctx), serveGrace)
		cut, err = srv.Stop(serveGrace)
	case <-srv.Done():
		err = srv.Close()
	}
	if cut {
		fmt.Fprintln(stdout, "cut the downloads still running")
	}
	info.WriteSummary(stdout, srv.Stats())
	if err = errors.Join(err, closeLog()); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
