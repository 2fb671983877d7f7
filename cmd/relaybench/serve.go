package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
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

// runServe is `relaybench serve`: relaybench's verified payload for Tor
// exits, from a public host, until SIGINT or SIGTERM (payload.Public).
func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	listen := fs.String("listen", "", "`ADDR` to listen on, host:port: :8080 (all interfaces) or 203.0.113.7:80, say (required)")
	tokenFile := fs.String("token-file", "", "read the secret path token from `FILE`; if it does not exist, make one and write it there (mode 0600), so the URL survives restarts. Without it a new token is made and shown once")
	maxBytes := scenarios.ByteSize(10 * units.GiB)
	fs.TextVar(&maxBytes, "max-bytes", maxBytes, "the byte budget, a `SIZE` such as 50GiB: payload bytes to serve in all; downloads that do not fit what is left get 503")
	var rate scenarios.Rate
	fs.TextVar(&rate, "rate", rate, "the most payload bytes per second (a `RATE` such as 20MiB/s) across all clients; 0 for no cap")
	maxSize := scenarios.ByteSize(payload.DefaultMaxSize)
	fs.TextVar(&maxSize, "max-size", maxSize, "the largest payload (a `SIZE`) of one download; larger sizes get 413")
	accessLog := fs.String("access-log", "", "append one JSON line per request to `FILE` (time, remote, path without the token, status, bytes, duration)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *listen == "" {
		return usagef("serve: -listen is required: the address Tor exits connect to, e.g. --listen :8080")
	}
	if maxBytes <= 0 {
		return usagef("serve: -max-bytes %s: give the payload bytes this host may serve, e.g. 50GiB", maxBytes)
	}
	if maxSize <= 0 {
		return usagef("serve: -max-size %s: give the largest payload of one download, e.g. 1GiB", maxSize)
	}

	var token string
	var err error
	shown := true // the token is new: this is the one time it is printed
	if *tokenFile == "" {
		token, err = payload.NewToken()
	} else if token, shown, err = payload.LoadOrCreateToken(*tokenFile); err != nil {
		err = usagef("serve: -token-file: %w", err)
	}
	if err != nil {
		return err
	}

	notice := func(msg string) {
		fmt.Fprintf(stderr, "%s relaybench serve: %s\n", time.Now().UTC().Format(time.RFC3339), msg)
	}
	pub := payload.Public{Token: token, MaxBytes: int64(maxBytes), Rate: int64(rate), Notice: notice}
	var logFile *os.File
	if *accessLog != "" {
		f, err := os.OpenFile(*accessLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return usagef("serve: -access-log: %w", err)
		}
		logFile, pub.AccessLog = f, f
	}
	closeLog := func() error {
		if logFile == nil {
			return nil
		}
		return logFile.Close()
	}

	ctx, stop := stopsignal.Context()
	defer stop()
	srv, err := payload.Listen(*listen, payload.WithPublic(pub), payload.WithMaxSize(int64(maxSize)), payload.WithErrorLog(notice))
	if err != nil {
		closeLog()
		return usagef("serve: -listen: %w", err)
	}

	tokenShown := "$(cat " + *tokenFile + ")"
	if shown {
		tokenShown = token
	}
	fmt.Fprintf(stdout, "relaybench serve: relaybench's verified payload on %s, for Tor exits\n", srv.Addr())
	fmt.Fprintf(stdout, "  payload URL  http://%s/%s/bytes/SIZE  (SIZE such as 10MiB, at most %s; ?seed=N for other content)\n", urlHostPort(srv.Addr()), tokenShown, maxSize)
	switch {
	case shown && *tokenFile == "":
		fmt.Fprintln(stdout, "  token        new, shown only this once: keep it secret (--token-file FILE keeps one across restarts)")
	case shown:
		fmt.Fprintf(stdout, "  token        new, written to %s and shown only this once: keep it secret\n", *tokenFile)
	default:
		fmt.Fprintf(stdout, "  token        from %s\n", *tokenFile)
	}
	rateShown := "no rate cap"
	if rate > 0 {
		rateShown = "at most " + rate.String() + " across all clients"
	}
	fmt.Fprintf(stdout, "  budget       %s in all, %s\n", maxBytes, rateShown)
	if *accessLog != "" {
		fmt.Fprintf(stdout, "  access log   %s\n", *accessLog)
	} else {
		fmt.Fprintln(stdout, "  access log   none (--access-log FILE keeps one)")
	}
	fmt.Fprintln(stdout, "Set payload.url of a relay scenario to the URL, with payload.size the same SIZE: downloads are verified byte for byte.")
	fmt.Fprintln(stdout, "Stop with Ctrl-C or SIGTERM.")

	var serveErr error
	select {
	case <-ctx.Done():
		fmt.Fprintf(stdout, "\n%v: letting open downloads finish for up to %s\n", context.Cause(ctx), serveGrace)
		sctx, cancel := context.WithTimeout(context.Background(), serveGrace)
		if err := srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(stdout, "cut the downloads still running")
		} else {
			serveErr = err
		}
		cancel()
	case <-srv.Done():
	}
	serveErr = errors.Join(serveErr, srv.Close(), closeLog())

	st := srv.Stats()
	fmt.Fprintf(stdout, "downloads served: %d (%s of the %s budget); refused: %d without the token, %d over the budget, %d other (a bad size or seed, or the access log down)\n",
		st.Downloads, scenarios.ByteSize(st.BytesServed), maxBytes, st.WrongToken, st.OverBudget, st.Rejected)
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// urlHostPort is how a URL names the listen address: an unspecified host
// (all interfaces) becomes a placeholder for the host's public address.
func urlHostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		host = "PUBLIC-ADDRESS"
	}
	return net.JoinHostPort(host, port)
}
