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
	info := payload.ServeInfo{Public: payload.Public{MaxBytes: 10 * units.GiB}, MaxSize: payload.DefaultMaxSize}
	listen := fs.String("listen", "", "`ADDR` to listen on, host:port: :8080 (all interfaces) or 203.0.113.7:80, say (required)")
	fs.StringVar(&info.TokenFile, "token-file", "", "read the secret path token from `FILE`; if it does not exist, make one and write it there (mode 0600), so the URL survives restarts. Without it a new token is made and shown once")
	fs.TextVar((*scenarios.ByteSize)(&info.MaxBytes), "max-bytes", scenarios.ByteSize(info.MaxBytes), "the byte budget, a `SIZE` such as 50GiB: payload bytes to serve in all; downloads that do not fit what is left get 503")
	fs.TextVar((*scenarios.Rate)(&info.Rate), "rate", scenarios.Rate(0), "the most payload bytes per second (a `RATE` such as 20MiB/s) across all clients; 0 for no cap")
	fs.TextVar((*scenarios.ByteSize)(&info.MaxSize), "max-size", scenarios.ByteSize(info.MaxSize), "the largest payload (a `SIZE`) of one download; larger sizes get 413")
	fs.StringVar(&info.AccessLogPath, "access-log", "", "append one JSON line per request to `FILE` (time, remote, path without the token, status, bytes, duration)")
	return func(_ []string, stdout, stderr io.Writer) error { return serve(*listen, info, stdout, stderr) }
}

// serve serves until a signal, as info says, and says what it served.
func serve(listen string, info payload.ServeInfo, stdout, stderr io.Writer) error {
	if listen == "" {
		return usagef("serve: -listen is required: the address Tor exits connect to, e.g. --listen :8080")
	}
	if info.MaxBytes <= 0 {
		return usagef("serve: -max-bytes %s: give the payload bytes this host may serve, e.g. 50GiB", scenarios.ByteSize(info.MaxBytes))
	}
	if info.MaxSize <= 0 {
		return usagef("serve: -max-size %s: give the largest payload of one download, e.g. 1GiB", scenarios.ByteSize(info.MaxSize))
	}
	var err error
	if info.Token, info.TokenNew, err = payload.TokenFrom(info.TokenFile); err != nil {
		return usagef("serve: -token-file: %w", err)
	}
	info.Notice = func(msg string) {
		fmt.Fprintf(stderr, "%s relaybench serve: %s\n", time.Now().UTC().Format(time.RFC3339), msg)
	}
	closeLog := func() error { return nil }
	if info.AccessLogPath != "" {
		f, err := os.OpenFile(info.AccessLogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return usagef("serve: -access-log: %w", err)
		}
		info.AccessLog, closeLog = f, f.Close
	}

	ctx, stop := stopsignal.Context()
	defer stop()
	srv, err := payload.Listen(listen, payload.WithPublic(info.Public), payload.WithMaxSize(info.MaxSize), payload.WithErrorLog(info.Notice))
	if err != nil {
		closeLog()
		return usagef("serve: -listen: %w", err)
	}
	info.Addr = srv.Addr()
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
