package payload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/relaybench/relaybench/scenarios"
)

// TokenFrom is the path token of a public server: read from file, or made
// and written there if the file does not exist (LoadOrCreateToken); with no
// file, a NewToken for this start only. isNew says the token was made now,
// so this is the one time it may be shown.
func TokenFrom(file string) (token string, isNew bool, err error) {
	if file == "" {
		token, err = NewToken()
		return token, true, err
	}
	return LoadOrCreateToken(file)
}

// ServeInfo is what the operator of a public server (`relaybench serve`)
// is told: the payload URL, where its token comes from, its budget and its
// access log on start (WriteBanner), and what it served on stop
// (WriteSummary).
type ServeInfo struct {
	Public
	// Addr is the address the server listens on (Server.Addr).
	Addr string
	// TokenFile is the file the token came from; "" when it was made for
	// this start only.
	TokenFile string
	// TokenNew says the token was made now: the banner shows it, this
	// once; otherwise the URL reads it from TokenFile.
	TokenNew bool
	// MaxSize is the largest payload of one download (WithMaxSize).
	MaxSize int64
	// AccessLogPath is the file Public.AccessLog appends to; "" for none.
	AccessLogPath string
}

// WriteBanner writes how to use the server, and how to stop it.
func (i ServeInfo) WriteBanner(w io.Writer) error {
	token := "$(cat " + i.TokenFile + ")"
	if i.TokenNew {
		token = i.Token
	}
	tokenSays := "from " + i.TokenFile
	switch {
	case i.TokenNew && i.TokenFile == "":
		tokenSays = "new, shown only this once: keep it secret (--token-file FILE keeps one across restarts)"
	case i.TokenNew:
		tokenSays = "new, written to " + i.TokenFile + " and shown only this once: keep it secret"
	}
	rate := "no rate cap"
	if i.Rate > 0 {
		rate = "at most " + scenarios.Rate(i.Rate).String() + " across all clients"
	}
	accessLog := "none (--access-log FILE keeps one)"
	if i.AccessLogPath != "" {
		accessLog = i.AccessLogPath
	}
	_, err := fmt.Fprintf(w, `relaybench serve: relaybench's verified payload on %s, for Tor exits
  payload URL  http://%s/%s/bytes/SIZE  (SIZE such as 10MiB, at most %s; ?seed=N for other content)
  token        %s
  budget       %s in all, %s
  access log   %s
Set payload.url of a relay scenario to the URL, with payload.size the same SIZE: downloads are verified byte for byte.
Stop with Ctrl-C or SIGTERM.
`, i.Addr, publicHostPort(i.Addr), token, scenarios.ByteSize(i.MaxSize), tokenSays, scenarios.ByteSize(i.MaxBytes), rate, accessLog)
	return err
}

// WriteSummary writes what the server served and refused, by its stats.
func (i ServeInfo) WriteSummary(w io.Writer, st Stats) error {
	_, err := fmt.Fprintf(w, "downloads served: %d (%s of the %s budget); refused: %d without the token, %d over the budget, %d other (a bad size or seed, or the access log down)\n",
		st.Downloads, scenarios.ByteSize(st.BytesServed), scenarios.ByteSize(i.MaxBytes), st.WrongToken, st.OverBudget, st.Rejected)
	return err
}

// publicHostPort is how a URL names the listen address: an unspecified
// host (all interfaces) becomes a placeholder for the host's public
// address.
func publicHostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		host = "PUBLIC-ADDRESS"
	}
	return net.JoinHostPort(host, port)
}

// Stop stops the server gracefully and closes it: it stops accepting,
// lets open transfers finish for up to grace, and then cuts those still
// running (cut says it had to).
func (s *Server) Stop(grace time.Duration) (cut bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err = s.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		cut, err = true, nil
	}
	return cut, errors.Join(err, s.Close())
}
