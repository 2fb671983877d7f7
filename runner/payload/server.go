package payload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/relaybench/relaybench/runner/units"
)

// DefaultAddr is the address Listen uses when given "": loopback, with a port
// picked by the kernel.
const DefaultAddr = "127.0.0.1:0"

// DefaultMaxSize is the largest payload, in bytes, a server accepts to send
// or receive unless WithMaxSize says otherwise.
const DefaultMaxSize int64 = units.GiB

// SeedHeader names the seed of a payload: the server sets it on every
// download, and an upload that carries it is verified against that seed.
const SeedHeader = "X-Payload-Seed"

// SeedOf returns the seed a response of relaybench's payload server
// names in SeedHeader, which every download it sends carries (the
// built-in server's and a public one's alike). ok is false when the
// header is missing or is not a decimal uint64: then the response is not
// relaybench's content and cannot be verified.
func SeedOf(h http.Header) (seed uint64, ok bool) {
	seed, err := strconv.ParseUint(h.Get(SeedHeader), 10, 64)
	return seed, err == nil
}

// ErrNotLoopback is returned, wrapped, by Listen for an address that is not a
// loopback IP literal.
var ErrNotLoopback = errors.New("payload server must listen on loopback (127.0.0.0/8 or ::1)")

// Option configures a Server; pass options to Listen.
type Option func(*config)

type config struct {
	maxSize    int64
	corruptAt  int64 // -1: off
	truncateAt int64 // -1: off
	errorLog   func(msg string)
	public     *Public // nil: the loopback server
}

// WithErrorLog sends the HTTP server's own error messages (net/http's
// "http: Accept error: ... too many open files; retrying in 5ms", say) to
// f, one message per call without its newline, instead of the standard
// logger, so that the caller can count them and say once what they mean
// rather than print each. f may be called from several goroutines.
func WithErrorLog(f func(msg string)) Option { return func(c *config) { c.errorLog = f } }

// logFunc is an io.Writer that hands each line log.Logger writes to f.
type logFunc func(msg string)

func (f logFunc) Write(p []byte) (int, error) {
	f(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WithMaxSize sets the largest payload, in bytes, that the server will send
// (larger GET /bytes sizes get 413) or accept (larger uploads get 413). The
// default is DefaultMaxSize (1 GiB). n must be positive.
func WithMaxSize(n int64) Option { return func(c *config) { c.maxSize = n } }

// WithCorruption makes the server flip every bit of the byte at offset of
// each payload it serves (payloads shorter than offset+1 are unaffected). It
// exists for tests of the mismatch path: a client verifying such a payload
// must fail with a *MismatchError at exactly this offset. Never use it in a
// benchmark.
func WithCorruption(offset int64) Option { return func(c *config) { c.corruptAt = offset } }

// WithTruncation makes the server abort every download after n body bytes,
// closing the connection although Content-Length promised the full size
// (payloads of n bytes or fewer are unaffected). It exists for tests of the
// short-read path: a client must fail with a *LengthError matching
// ErrShortRead. Never use it in a benchmark.
func WithTruncation(n int64) Option { return func(c *config) { c.truncateAt = n } }

func (c config) validate() error {
	if c.maxSize <= 0 {
		return fmt.Errorf("payload server: maximum size %d must be positive: pass WithMaxSize a byte count such as 1<<30", c.maxSize)
	}
	if c.corruptAt < -1 {
		return fmt.Errorf("payload server: corruption offset %d is negative: pass WithCorruption a byte offset >= 0", c.corruptAt)
	}
	if c.truncateAt < -1 {
		return fmt.Errorf("payload server: truncation length %d is negative: pass WithTruncation a byte count >= 0", c.truncateAt)
	}
	if c.public != nil {
		return c.public.validate()
	}
	return nil
}

// Stats is a snapshot of a server's counters since Listen.
type Stats struct {
	// Requests counts every HTTP request, including rejected ones, health
	// checks and requests for unknown paths.
	Requests int64
	// Downloads counts GET (or HEAD) /bytes requests that passed validation.
	Downloads int64
	// Uploads counts upload bodies read to their end.
	Uploads int64
	// Rejected counts requests this package's handlers answered with a 4xx
	// status (bad size or seed, over the maximum, broken upload body), and
	// those a public server refused because its access log failed.
	Rejected int64
	// WrongToken counts requests to a public server whose first path
	// segment was not its token (answered 404).
	WrongToken int64
	// OverBudget counts downloads a public server refused because they
	// did not fit what was left of its byte budget (answered 503).
	OverBudget int64
	// BytesServed counts payload bytes handed to the HTTP layer for sending;
	// bytes of aborted downloads count up to the point of failure.
	BytesServed int64
	// BytesReceived counts upload body bytes read.
	BytesReceived int64
}

type counters struct {
	requests, downloads, uploads, rejected, bytesServed, bytesReceived atomic.Int64
	wrongToken, overBudget                                             atomic.Int64
}

// UploadResult is the JSON body of the reply to an upload.
type UploadResult struct {
	// Bytes is the number of body bytes received.
	Bytes int64 `json:"bytes"`
	// Verified is true when the request carried SeedHeader and every byte
	// matched the content of that seed; false when it did not match or no
	// seed was given.
	Verified bool `json:"verified"`
	// MismatchOffset is the offset of the first wrong byte, present only when
	// verification was requested and failed.
	MismatchOffset *int64 `json:"mismatch_offset,omitempty"`
}

// Server is the payload HTTP server. It serves
//
//	GET  /bytes/{size}[?seed=N]  size bytes of Content{Seed: N} (default DefaultSeed), HEAD too;
//	                             size as accepted by ParseSize, N a decimal uint64
//	POST /upload, PUT /upload    reads the body and replies with an UploadResult;
//	                             verified when the request carries SeedHeader
//	GET  /healthz                200 "ok"
//
// Downloads are streamed from a fixed 32 KiB buffer and carry Content-Length
// and SeedHeader. Range requests are not supported. Create a Server with
// Listen and stop it with Close or Shutdown. WithPublic makes it a public
// server, which serves only
//
//	GET  /TOKEN/bytes/{size}[?seed=N]  as above, within its byte budget and rate cap
type Server struct {
	cfg      config
	public   *public // nil: the loopback server
	ln       net.Listener
	http     *http.Server
	stats    counters
	served   chan struct{}
	serveErr error // set before served is closed

	// Running handlers, so that Close returns only once none can write
	// to the access log any more.
	mu      sync.Mutex
	running int
	idle    sync.Cond
}

// Listen starts a payload server on addr, which must be a loopback IP literal
// with a port ("127.0.0.1:0", "[::1]:8080"); "" means DefaultAddr. Host names,
// including "localhost", are refused because what they resolve to is outside
// this package's control. A public server (WithPublic) may listen on any IP
// literal, or on all interfaces (":8080").
func Listen(addr string, opts ...Option) (*Server, error) {
	cfg := config{maxSize: DefaultMaxSize, corruptAt: -1, truncateAt: -1}
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if addr == "" {
		addr = DefaultAddr
	}
	check := checkLoopback
	if cfg.public != nil {
		check = checkListenAddr
	}
	if err := check(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("payload server: listen on %s: %w: choose a free port, or port 0 to let the kernel pick one", addr, err)
	}
	s := &Server{cfg: cfg, ln: ln, served: make(chan struct{})}
	s.idle.L = &s.mu
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bytes/{size}", s.handleBytes)
	var handler http.Handler = mux
	if cfg.public != nil {
		s.public = newPublic(cfg.public)
		handler = s.handlePublic(mux)
	} else {
		mux.HandleFunc("POST /upload", s.handleUpload)
		mux.HandleFunc("PUT /upload", s.handleUpload)
		mux.HandleFunc("GET /healthz", s.handleHealth)
	}
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.stats.requests.Add(1)
			s.enter()
			defer s.leave()
			handler.ServeHTTP(w, r)
		}),
		// No read or write deadline for bodies: a gigabyte through a slow
		// circuit legitimately takes minutes.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if cfg.errorLog != nil {
		s.http.ErrorLog = log.New(logFunc(cfg.errorLog), "", 0)
	}
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
		close(s.served)
	}()
	return s, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("payload server address %q: %w: want host:port, e.g. %s", addr, err, DefaultAddr)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%w, got %q: use %s, or another 127.x.y.z or [::1] address", ErrNotLoopback, addr, DefaultAddr)
	}
	return nil
}

// Addr returns the host:port the server listens on, with the port the kernel
// picked when Listen was given port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's base URL, e.g. "http://127.0.0.1:41234"; of a
// public server with its token, "http://127.0.0.3:41234/TOKEN".
func (s *Server) URL() string {
	if s.public != nil {
		return "http://" + s.Addr() + "/" + string(s.public.token)
	}
	return "http://" + s.Addr()
}

// BytesURL returns the URL of a size-byte payload with DefaultSeed.
func (s *Server) BytesURL(size int64) string {
	return s.URL() + "/bytes/" + strconv.FormatInt(size, 10)
}

// SeededBytesURL returns the URL of a size-byte payload with the given seed.
func (s *Server) SeededBytesURL(size int64, seed uint64) string {
	return s.BytesURL(size) + "?seed=" + strconv.FormatUint(seed, 10)
}

// UploadURL returns the URL uploads are POSTed or PUT to (a public server
// takes none).
func (s *Server) UploadURL() string { return s.URL() + "/upload" }

// Stats returns the current counters. Each field is read atomically; the
// fields are not a single atomic snapshot of each other.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:      s.stats.requests.Load(),
		Downloads:     s.stats.downloads.Load(),
		Uploads:       s.stats.uploads.Load(),
		Rejected:      s.stats.rejected.Load(),
		BytesServed:   s.stats.bytesServed.Load(),
		BytesReceived: s.stats.bytesReceived.Load(),
		WrongToken:    s.stats.wrongToken.Load(),
		OverBudget:    s.stats.overBudget.Load(),
	}
}

func (s *Server) enter() {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
}

func (s *Server) leave() {
	s.mu.Lock()
	if s.running--; s.running == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// waitHandlers returns once no handler runs. After the server's
// connections are closed, every handler ends at its next write or wait.
func (s *Server) waitHandlers() {
	s.mu.Lock()
	for s.running > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// Done is closed once the server stopped accepting: after Close or
// Shutdown, or when its listener failed (Close then returns why).
func (s *Server) Done() <-chan struct{} { return s.served }

// Close stops the server at once, cutting open transfers, and waits for it
// to stop accepting and for its handlers to end (so that nothing is
// written to the access log after Close).
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.served
	s.waitHandlers()
	return errors.Join(err, s.serveErr)
}

// Shutdown stops accepting and waits for open transfers to finish or for ctx
// to end, whichever comes first; call Close afterwards to cut transfers that
// were still running.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	<-s.served
	if err == nil {
		s.waitHandlers()
	}
	return errors.Join(err, s.serveErr)
}

func (s *Server) reject(w http.ResponseWriter, status int, msg string) {
	s.stats.rejected.Add(1)
	http.Error(w, msg, status)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) handleBytes(w http.ResponseWriter, r *http.Request) {
	size, err := ParseSize(r.PathValue("size"))
	if err != nil {
		s.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	if size > s.cfg.maxSize {
		s.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"size %d bytes is over this server's maximum of %d bytes: ask for less, or start the server with a larger payload.WithMaxSize",
			size, s.cfg.maxSize))
		return
	}
	seed := DefaultSeed
	if q := r.URL.Query().Get("seed"); q != "" {
		seed, err = strconv.ParseUint(q, 10, 64)
		if err != nil {
			s.reject(w, http.StatusBadRequest, fmt.Sprintf("seed %q: want a decimal integer from 0 to 18446744073709551615", q))
			return
		}
	}
	if s.public != nil && r.Method != http.MethodHead {
		if !s.public.reserve(size) {
			s.overBudget(w, size)
			return
		}
		var sent int64
		defer func() { s.public.reserved.Add(sent - size) }() // what was not sent goes back
		w = &countingWriter{ResponseWriter: w, n: &sent}
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set(SeedHeader, strconv.FormatUint(seed, 10))
	w.WriteHeader(http.StatusOK)
	s.stats.downloads.Add(1)
	if r.Method == http.MethodHead {
		return
	}
	s.stream(r.Context(), w, NewContent(seed), size)
}

// stream writes size bytes of c to w from one pooled buffer, at a public
// server's rate cap, applying the test-only corruption and truncation
// options.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, c Content, size int64) {
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	buf := *bufp
	var limiter *rate.Limiter
	if s.public != nil && s.public.limiter != nil {
		limiter = s.public.limiter
		buf = buf[:s.public.chunk]
	}
	end := size
	if t := s.cfg.truncateAt; t >= 0 && t < size {
		end = t
	}
	for off := int64(0); off < end; {
		chunk := buf[:min(int64(len(buf)), end-off)]
		if limiter != nil {
			if err := limiter.WaitN(ctx, len(chunk)); err != nil {
				return // The client went away.
			}
		}
		c.Fill(chunk, off)
		if k := s.cfg.corruptAt - off; k >= 0 && k < int64(len(chunk)) {
			chunk[k] ^= 0xff
		}
		n, err := w.Write(chunk)
		off += int64(n)
		s.stats.bytesServed.Add(int64(n))
		if err != nil {
			return // The client went away; there is nobody to tell.
		}
	}
	if end < size {
		// Push out what was written, then make net/http drop the connection
		// without finishing the body: the client sees an early EOF.
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > s.cfg.maxSize {
		s.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"upload of %d bytes is over this server's maximum of %d bytes: send less, or start the server with a larger payload.WithMaxSize",
			r.ContentLength, s.cfg.maxSize))
		return
	}
	var v *Verifier
	if hs := r.Header.Get(SeedHeader); hs != "" {
		seed, err := strconv.ParseUint(hs, 10, 64)
		if err != nil {
			s.reject(w, http.StatusBadRequest, fmt.Sprintf("%s %q: want a decimal integer from 0 to 18446744073709551615", SeedHeader, hs))
			return
		}
		v = NewVerifier(seed)
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.maxSize)
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	buf := *bufp
	var n int64
	for {
		k, err := body.Read(buf)
		if k > 0 {
			n += int64(k)
			s.stats.bytesReceived.Add(int64(k))
			if v != nil && v.Err() == nil {
				_, _ = v.Write(buf[:k]) // The outcome is kept in v.Err().
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
					"upload is over this server's maximum of %d bytes: send less, or start the server with a larger payload.WithMaxSize", s.cfg.maxSize))
				return
			}
			s.reject(w, http.StatusBadRequest, fmt.Sprintf("upload body ended after %d bytes: %v: check that the client sent the whole body", n, err))
			return
		}
	}
	s.stats.uploads.Add(1)
	res := UploadResult{Bytes: n}
	if v != nil {
		var mm *MismatchError
		if errors.As(v.Err(), &mm) {
			res.MismatchOffset = &mm.Offset
		} else {
			res.Verified = true
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
