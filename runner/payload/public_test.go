package payload

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// testToken is a well-formed token for tests.
const testToken = "t0k3n-for_tests-only-0123456789"

// notices collects a public server's notices.
type notices struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notices) add(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, msg)
}

func (n *notices) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// startPublic starts a public server on 127.0.0.3, the address relaybench's
// payload server takes in tests so that relays do not mistake it for one of
// them; it is closed when the test ends.
func startPublic(t *testing.T, p Public, opts ...Option) *Server {
	t.Helper()
	if p.Token == "" {
		p.Token = testToken
	}
	s, err := Listen("127.0.0.3:0", append(opts, WithPublic(p))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// status GETs url and returns the status and body.
func status(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp := get(t, c, url)
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestPublicRefusesWithoutTheToken(t *testing.T) {
	s := startPublic(t, Public{MaxBytes: 1 << 30})
	c := testClient(t)
	base := "http://" + s.Addr()
	if s.URL() != base+"/"+testToken {
		t.Fatalf("URL = %s, want the token as first segment", s.URL())
	}
	wrong := strings.Repeat("x", len(testToken))
	for _, path := range []string{
		"/bytes/10",               // no token
		"/" + wrong + "/bytes/10", // a wrong one of the same length
		"/" + testToken[:len(testToken)-1] + "/bytes/10", // a prefix
		"/" + testToken + "x/bytes/10",                   // longer
		"/",
		"/favicon.ico",
		"/healthz", // the loopback server's
	} {
		if code, body := status(t, c, base+path); code != http.StatusNotFound || strings.Contains(body, testToken) {
			t.Errorf("GET %s: %d %q, want 404 without the token", path, code, body)
		}
	}
	// With the token: only downloads.
	if code, _ := status(t, c, s.URL()+"/healthz"); code != http.StatusNotFound {
		t.Errorf("GET /TOKEN/healthz: %d, want 404 (a public server has no health check)", code)
	}
	resp, err := c.Post(s.URL()+"/upload", "application/octet-stream", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /TOKEN/upload: %s, want 404 or 405 (a public server takes no uploads)", resp.Status)
	}
	resp = get(t, c, s.SeededBytesURL(100_000, 5))
	if n, err := Verify(resp.Body, 5, 100_000); resp.StatusCode != http.StatusOK || err != nil {
		t.Errorf("GET with the token: %s, verified %d bytes: %v", resp.Status, n, err)
	}
	if st := s.Stats(); st.WrongToken != 7 || st.Downloads != 1 || st.Requests != 10 || st.BytesServed != 100_000 {
		t.Errorf("Stats = %+v, want 7 wrong-token requests, 1 download of 100000 bytes, 10 requests", st)
	}
}

func TestPublicByteBudget(t *testing.T) {
	var said notices
	s := startPublic(t, Public{MaxBytes: 3 << 20, Notice: said.add})
	c := testClient(t)
	for i := range 3 {
		resp := get(t, c, s.BytesURL(1<<20))
		if n, err := Verify(resp.Body, DefaultSeed, 1<<20); err != nil {
			t.Fatalf("download %d within the budget: %d bytes, %v", i+1, n, err)
		}
	}
	// The budget is spent: the next downloads are refused whole, not cut
	// short (a client would count a cut as a short read on its path).
	for _, size := range []int64{1 << 20, 1} {
		if code, body := status(t, c, s.BytesURL(size)); code != http.StatusServiceUnavailable || !strings.Contains(body, "budget") {
			t.Errorf("download of %d bytes past the budget: %d %q, want 503 naming the budget", size, code, body)
		}
	}
	resp, err := c.Head(s.BytesURL(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD past the budget: %s, want 200 (it sends no payload)", resp.Status)
	}
	if st := s.Stats(); st.OverBudget != 2 || st.BytesServed != 3<<20 || st.Downloads != 4 {
		t.Errorf("Stats = %+v, want 2 over budget, 3 MiB served, 4 downloads (3 GET, 1 HEAD)", st)
	}
	if msgs := said.all(); len(msgs) != 1 || !strings.Contains(msgs[0], "byte budget spent") || !strings.Contains(msgs[0], "3 MiB") {
		t.Errorf("notices %q, want one saying the 3 MiB budget is spent", msgs)
	}
}

// TestPublicBudgetTakesBackUnsentBytes: a download whose client goes away
// returns what it did not send to the budget.
func TestPublicBudgetTakesBackUnsentBytes(t *testing.T) {
	s := startPublic(t, Public{MaxBytes: 2 << 20, Rate: 1 << 20})
	c := testClient(t)
	resp, err := c.Get(s.BytesURL(2 << 20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10_000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // before the end: the connection is dropped
	c.CloseIdleConnections()
	// The whole budget was taken; once the handler has seen the client go,
	// most of it is back.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := status(t, c, s.BytesURL(1<<20))
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("download after an aborted one: %d, want 200 once the unsent bytes are back", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPublicRate: two clients share one rate cap. A token bucket of a
// tenth of a second lets at most Rate/10 + Rate*t bytes out by time t, so
// 2 MiB at 2 MiB/s take at least 0.9 s; uncapped, they take milliseconds.
func TestPublicRate(t *testing.T) {
	const rate, each = 2 << 20, 1 << 20
	s := startPublic(t, Public{MaxBytes: 1 << 30, Rate: rate})
	c := testClient(t)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			resp, err := c.Get(s.SeededBytesURL(each, uint64(i)))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			_, errs[i] = Verify(resp.Body, uint64(i), each)
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if least := time.Duration(2*each-rate/10) * time.Second / rate; took < least {
		t.Errorf("2 MiB took %v at a cap of 2 MiB/s, want at least %v", took, least)
	}
	if took > 10*time.Second {
		t.Errorf("2 MiB took %v at a cap of 2 MiB/s: the cap holds back far more than it should", took)
	}
	t.Logf("2 x 1 MiB at a 2 MiB/s cap: %v", took)
}

func TestPublicAccessLog(t *testing.T) {
	var log bytes.Buffer // written under the Writer's lock, read after Close
	s, err := Listen("127.0.0.3:0", WithMaxSize(1<<20), WithPublic(Public{Token: testToken, MaxBytes: 1 << 30, AccessLog: &log}))
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	base := "http://" + s.Addr()
	for _, url := range []string{s.SeededBytesURL(1000, 7), base + "/bytes/10", s.BytesURL(2 << 20), s.URL() + "/bytes/nope"} {
		status(t, c, url)
	}
	c.CloseIdleConnections()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), testToken) {
		t.Fatalf("the access log holds the token:\n%s", log.String())
	}
	lines, err := rundir.ReadLines[AccessRecord](&log, "access log")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		path    string
		tokenOK bool
		status  int
		bytes   int64 // -1: a message, any length
	}
	wants := []want{
		{"/bytes/1000?seed=7", true, 200, 1000},
		{"/10", false, 404, -1},
		{"/bytes/2097152", true, 413, -1},
		{"/bytes/nope", true, 400, -1},
	}
	recs := lines.Records
	if len(recs) != len(wants) {
		t.Fatalf("%d access log lines, want %d:\n%+v", len(recs), len(wants), recs)
	}
	for i, w := range wants {
		r := recs[i]
		if r.Path != w.path || r.TokenOK != w.tokenOK || r.Status != w.status || r.Method != http.MethodGet ||
			(w.bytes >= 0 && r.Bytes != w.bytes) || (w.bytes < 0 && r.Bytes == 0) ||
			!strings.HasPrefix(r.Remote, "127.") || r.DurationNS <= 0 || time.Since(r.Time) > time.Minute {
			t.Errorf("line %d: %+v, want %+v from loopback", i+1, r, w)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestPublicStopsServingUnlogged: once the access log cannot be written,
// every request gets 503, and the operator hears it once.
func TestPublicStopsServingUnlogged(t *testing.T) {
	var said notices
	s := startPublic(t, Public{MaxBytes: 1 << 30, AccessLog: failingWriter{}, Notice: said.add})
	c := testClient(t)
	if code, _ := status(t, c, s.BytesURL(1000)); code != http.StatusOK {
		t.Fatalf("first download: %d, want 200 (its log line fails after it)", code)
	}
	for range 2 {
		if code, body := status(t, c, s.BytesURL(1000)); code != http.StatusServiceUnavailable || !strings.Contains(body, "access log") {
			t.Errorf("download after the log failed: %d %q, want 503 naming the access log", code, body)
		}
	}
	if msgs := said.all(); len(msgs) != 1 || !strings.Contains(msgs[0], "disk full") {
		t.Errorf("notices %q, want one with the log's error", msgs)
	}
}

func TestPublicRejectsBadSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		addr string
		p    Public
		want string
	}{
		"short token":     {"127.0.0.3:0", Public{Token: "abc", MaxBytes: 1}, "at least 22"},
		"token with '/'":  {"127.0.0.3:0", Public{Token: testToken + "/x", MaxBytes: 1}, `'/'`},
		"no budget":       {"127.0.0.3:0", Public{Token: testToken}, "byte budget"},
		"negative rate":   {"127.0.0.3:0", Public{Token: testToken, MaxBytes: 1, Rate: -1}, "negative"},
		"host name":       {"localhost:0", Public{Token: testToken, MaxBytes: 1}, "not an IP address"},
		"missing port":    {"127.0.0.3", Public{Token: testToken, MaxBytes: 1}, "host:port"},
		"non-ASCII token": {"127.0.0.3:0", Public{Token: strings.Repeat("é", 22), MaxBytes: 1}, `'é' at byte 1`},
	} {
		s, err := Listen(tc.addr, WithPublic(tc.p))
		if err == nil {
			s.Close()
			t.Errorf("%s: Listen succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a message containing %q", name, err, tc.want)
		}
	}
	// Addresses that are not loopback pass the check in public mode (not
	// listened on here: tests stay on loopback).
	for _, addr := range []string{":8080", "0.0.0.0:80", "[::]:8080", "203.0.113.7:80", "[2001:db8::1]:443"} {
		if err := checkListenAddr(addr); err != nil {
			t.Errorf("checkListenAddr(%q) = %v, want nil", addr, err)
		}
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	made, created, err := LoadOrCreateToken(path)
	if err != nil || !created || CheckToken(made) != nil || len(made) != 43 {
		t.Fatalf("first call: %q, created %v, %v; want a new 43-character token", made, created, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v (%v), want 0600", st.Mode(), err)
	}
	again, created, err := LoadOrCreateToken(path)
	if err != nil || created || again != made {
		t.Errorf("second call: %q, created %v, %v; want the same token read back", again, created, err)
	}
	other, _ := NewToken()
	if other == made {
		t.Errorf("two tokens are the same: %q", made)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at least 22") {
		t.Errorf("short token in the file: %v, want an error naming the file and the minimum", err)
	}
}
