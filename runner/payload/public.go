package payload

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

// MinTokenLen is the shortest path token a public server accepts: 22
// characters of the 64-letter URL-safe alphabet carry 132 bits, so the
// token cannot be guessed by scanning.
const MinTokenLen = 22

// tokenBytes is the entropy of a token NewToken makes: 256 bits, 43
// characters of unpadded base64url.
const tokenBytes = 32

// Public makes a server fit for a public host (`relaybench serve`): Tor
// exits fetch relaybench's verified content from it over the internet,
// so it must not turn into an open bulk-data endpoint for whoever finds it.
//
//   - It serves only GET (and HEAD) /TOKEN/bytes/{size}[?seed=N]: the
//     loopback server's downloads behind a secret first path segment. Any
//     request whose first segment is not the token gets 404 and is counted
//     (Stats.WrongToken); the comparison takes constant time. There are no
//     uploads and no health check.
//   - Every download reserves its size from a byte budget before its first
//     byte; one that does not fit what is left gets 503 (Stats.OverBudget)
//     and Notice says so once. A download is refused whole rather than cut
//     short, so a client never mistakes the budget for a short read on its
//     path. Bytes a download did not send (its client went away) go back.
//   - Rate caps the bytes per second across all clients with one token
//     bucket.
//   - Each request is one AccessRecord line in AccessLog; if that log
//     cannot be written, later requests get 503, so nothing is served
//     unlogged.
//
// It may listen on any address, not only loopback.
type Public struct {
	// Token is the secret first path segment: at least MinTokenLen
	// characters of A-Z, a-z, 0-9, '-' and '_' (NewToken makes one).
	Token string
	// MaxBytes is the byte budget: the payload bytes the server may send
	// in its lifetime. Required (> 0).
	MaxBytes int64
	// Rate is the most payload bytes per second the server sends across
	// all clients; 0 means no cap. The bucket holds a tenth of a second of
	// Rate (at least one write), so after a pause that much may leave at
	// once.
	Rate int64
	// AccessLog receives one AccessRecord per request as a JSON line; nil
	// keeps no log.
	AccessLog io.Writer
	// Notice receives what an operator must hear about (the budget spent,
	// the access log failing), one message per call without newline; nil
	// discards. It may be called from several goroutines.
	Notice func(msg string)
}

// AccessRecord is one request to a public server: a line of its access
// log.
type AccessRecord struct {
	// Time is when the request arrived.
	Time time.Time `json:"time"`
	// Remote is the client's address (a Tor exit's, for relaybench's
	// own downloads).
	Remote string `json:"remote"`
	Method string `json:"method"`
	// Path is the request's path and query after its first segment, so
	// that the token never reaches the log: "/bytes/10MiB", or "/" for
	// "/favicon.ico" (whose first segment was taken for a token).
	Path string `json:"path"`
	// TokenOK says whether the first path segment was the token.
	TokenOK bool `json:"token_ok"`
	// Status is the HTTP status sent.
	Status int `json:"status"`
	// Bytes is the number of body bytes sent.
	Bytes int64 `json:"bytes"`
	// DurationNS is the time from arrival to the handler's end, in
	// nanoseconds.
	DurationNS int64 `json:"duration_ns"`
}

// WithPublic turns the server into a public one (see Public). Listen then
// accepts any IP literal or an empty host (all interfaces), not only
// loopback.
func WithPublic(p Public) Option { return func(c *config) { c.public = &p } }

// NewToken returns a fresh random path token: 256 bits as 43 characters
// of unpadded base64url.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a path token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckToken says what is wrong with a path token, or returns nil.
func CheckToken(token string) error {
	if len(token) < MinTokenLen {
		return fmt.Errorf("path token has %d characters, want at least %d (128 bits): make one with `head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\\n'`, or let relaybench make it", len(token), MinTokenLen)
	}
	if i := strings.IndexFunc(token, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(token[i:])
		return fmt.Errorf("path token has %q at byte %d: use only A-Z, a-z, 0-9, '-' and '_' (it is a URL path segment)", r, i+1)
	}
	return nil
}

// LoadOrCreateToken reads the path token from the file at path
// (surrounding white space ignored) and checks it. If the file does not
// exist, it makes a NewToken and writes it there, readable by the owner
// only, so that the URL survives restarts; created says so.
func LoadOrCreateToken(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if token, err = NewToken(); err != nil {
			return "", false, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", false, fmt.Errorf("create token file: %w: check that %s is writable", err, filepath.Dir(path))
		}
		_, werr := f.WriteString(token + "\n")
		if err := errors.Join(werr, f.Close()); err != nil {
			return "", false, fmt.Errorf("write token file %s: %w", path, err)
		}
		return token, true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read token file: %w", err)
	}
	token = strings.TrimSpace(string(b))
	if err := CheckToken(token); err != nil {
		return "", false, fmt.Errorf("token file %s: %w", path, err)
	}
	return token, false, nil
}

func (p *Public) validate() error {
	if err := CheckToken(p.Token); err != nil {
		return fmt.Errorf("payload server: %w", err)
	}
	if p.MaxBytes <= 0 {
		return fmt.Errorf("payload server: byte budget %d must be positive: give a public server the bytes it may send, e.g. 10GiB", p.MaxBytes)
	}
	if p.Rate < 0 {
		return fmt.Errorf("payload server: rate %d bytes/s is negative: give bytes per second, or 0 for no cap", p.Rate)
	}
	return nil
}

// checkListenAddr refuses host names: what they resolve to is outside
// this package's control. An empty host (all interfaces) is allowed.
func checkListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("payload server address %q: %w: want host:port, e.g. :8080 or 203.0.113.7:80", addr, err)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("payload server address %q: %q is not an IP address: listen on an address of this machine, or leave the host out (\":8080\") for all of them", addr, host)
	}
	return nil
}

// public is the state of a public server.
type public struct {
	token     []byte
	budget    int64
	reserved  atomic.Int64 // bytes served or promised to running downloads
	limiter   *rate.Limiter
	chunk     int // bytes per write under the rate cap
	log       *rundir.Writer[AccessRecord]
	logBroken atomic.Bool
	notice    func(string)
	spentOnce sync.Once
	logOnce   sync.Once
}

func newPublic(p *Public) *public {
	pub := &public{token: []byte(p.Token), budget: p.MaxBytes, notice: p.Notice, chunk: copyBufferSize}
	if pub.notice == nil {
		pub.notice = func(string) {}
	}
	if p.Rate > 0 {
		// Writes of a twentieth of a second keep a slow cap smooth (no
		// client waits seconds for its next chunk); a bucket of a tenth
		// of a second lets many streams share the cap without losing
		// tokens to timer slack.
		pub.chunk = int(min(max(p.Rate/20, 1<<10), copyBufferSize))
		pub.limiter = rate.NewLimiter(rate.Limit(p.Rate), int(max(int64(pub.chunk), p.Rate/10)))
	}
	if p.AccessLog != nil {
		name := "access log"
		if f, ok := p.AccessLog.(interface{ Name() string }); ok {
			name = filepath.Base(f.Name())
		}
		pub.log = rundir.NewWriter[AccessRecord](p.AccessLog, name)
	}
	return pub
}

// reserve takes n bytes from the budget, or returns false when they do
// not fit what is left.
func (p *public) reserve(n int64) bool {
	for {
		used := p.reserved.Load()
		if used+n > p.budget {
			return false
		}
		if p.reserved.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// overBudget answers a download that does not fit the budget.
func (s *Server) overBudget(w http.ResponseWriter, size int64) {
	p := s.public
	s.stats.overBudget.Add(1)
	used := p.reserved.Load()
	p.spentOnce.Do(func() {
		p.notice(fmt.Sprintf("byte budget spent: a download of %s did not fit (%s of %s served or in flight); downloads that do not fit get 503 from now on: restart with a larger budget to serve more",
			units.Bytes(size), units.Bytes(used), units.Bytes(p.budget)))
	})
	http.Error(w, fmt.Sprintf("this server's byte budget is spent (%d of %d bytes); ask its operator to raise it", used, p.budget), http.StatusServiceUnavailable)
}

// handlePublic checks the token, logs the request and hands it on to
// next with the token cut from its path.
func (s *Server) handlePublic(next http.Handler) http.Handler {
	p := s.public
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		first, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		tokenOK := subtle.ConstantTimeCompare([]byte(first), p.token) == 1
		path := "/" + rest
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		if p.log != nil {
			// Deferred so that a download aborted by a panic
			// (http.ErrAbortHandler) is logged too.
			defer func() {
				err := p.log.Write(AccessRecord{
					Time: start, Remote: r.RemoteAddr, Method: r.Method, Path: path, TokenOK: tokenOK,
					Status: rec.status(), Bytes: rec.bytes, DurationNS: int64(time.Since(start)),
				})
				if err != nil {
					p.logBroken.Store(true)
					p.logOnce.Do(func() {
						p.notice(fmt.Sprintf("access log: %v; every request gets 503 from now on, so that nothing is served unlogged: fix the log and restart", err))
					})
				}
			}()
		}
		switch {
		case !tokenOK:
			s.stats.wrongToken.Add(1)
			http.NotFound(rec, r)
		case p.logBroken.Load():
			s.stats.rejected.Add(1)
			http.Error(rec, "this server cannot write its access log; ask its operator to fix it", http.StatusServiceUnavailable)
		default:
			r2 := new(http.Request)
			*r2 = *r
			r2.URL = new(url.URL)
			*r2.URL = *r.URL
			r2.URL.Path = "/" + rest
			r2.URL.RawPath = ""
			next.ServeHTTP(rec, r2)
		}
	})
}

// recorder notes the status and body bytes of a response.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// countingWriter adds the body bytes written to *n.
type countingWriter struct {
	http.ResponseWriter
	n *int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	*c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
