package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func startServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := Listen("", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// testClient returns a client with its own transport (no proxy settings from
// the environment) whose idle connections are closed when the test ends.
func testClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestServerServesExactVerifiedContent(t *testing.T) {
	s := startServer(t)
	c := testClient(t)
	var total int64
	for _, tc := range []struct {
		size   int64
		seed   uint64
		seeded bool
	}{
		{0, DefaultSeed, false},
		{1, DefaultSeed, false},
		{7, 99, true},
		{copyBufferSize + 3, DefaultSeed, false},
		{3<<20 + 5, 1<<64 - 1, true},
	} {
		url := s.BytesURL(tc.size)
		if tc.seeded {
			url = s.SeededBytesURL(tc.size, tc.seed)
		}
		resp := get(t, c, url)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		if resp.ContentLength != tc.size {
			t.Errorf("GET %s: Content-Length %d, want %d", url, resp.ContentLength, tc.size)
		}
		if got := resp.Header.Get(SeedHeader); got != strconv.FormatUint(tc.seed, 10) {
			t.Errorf("GET %s: %s %q, want %d", url, SeedHeader, got, tc.seed)
		}
		n, err := Verify(resp.Body, tc.seed, tc.size)
		if err != nil || n != tc.size {
			t.Errorf("GET %s: verified %d bytes, %v; want %d, nil", url, n, err, tc.size)
		}
		total += tc.size
	}
	st := s.Stats()
	if st.Downloads != 5 || st.Requests != 5 || st.BytesServed != total || st.Rejected != 0 {
		t.Errorf("Stats = %+v, want 5 requests, 5 downloads, %d bytes served, 0 rejected", st, total)
	}
}

func TestServerSizeUnits(t *testing.T) {
	s := startServer(t)
	resp := get(t, testClient(t), s.URL()+"/bytes/10KiB?seed=4")
	if n, err := Verify(resp.Body, 4, 10240); err != nil {
		t.Fatalf("10KiB: verified %d bytes: %v", n, err)
	}
}

func TestServerHead(t *testing.T) {
	s := startServer(t)
	resp, err := testClient(t).Head(s.BytesURL(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 1<<20 || len(body) != 0 {
		t.Errorf("HEAD: %s, Content-Length %d, %d body bytes; want 200, 1048576, 0", resp.Status, resp.ContentLength, len(body))
	}
	if st := s.Stats(); st.BytesServed != 0 {
		t.Errorf("HEAD served %d bytes, want 0", st.BytesServed)
	}
}

func TestServerRejectsBadRequests(t *testing.T) {
	s := startServer(t, WithMaxSize(1<<20))
	c := testClient(t)
	for _, tc := range []struct {
		path   string
		status int
		hint   string
	}{
		{"/bytes/abc", http.StatusBadRequest, "non-negative number"},
		{"/bytes/-5", http.StatusBadRequest, "non-negative number"},
		{"/bytes/10M", http.StatusBadRequest, "ambiguous"},
		{"/bytes/10PiB", http.StatusBadRequest, "KiB, MiB, GiB, TiB (1024^n)"},
		{"/bytes/99999999999999999999", http.StatusBadRequest, "does not fit"},
		{"/bytes/1048577", http.StatusRequestEntityTooLarge, "maximum of 1048576 bytes"},
		{"/bytes/2MiB", http.StatusRequestEntityTooLarge, "WithMaxSize"},
		{"/bytes/10?seed=-1", http.StatusBadRequest, "decimal integer"},
		{"/bytes/10?seed=0x10", http.StatusBadRequest, "decimal integer"},
	} {
		resp := get(t, c, s.URL()+tc.path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.hint) {
			t.Errorf("GET %s: %s %q; want %d and a message containing %q", tc.path, resp.Status, body, tc.status, tc.hint)
		}
	}
	resp := get(t, c, s.BytesURL(1<<20))
	if n, err := Verify(resp.Body, DefaultSeed, 1<<20); err != nil {
		t.Errorf("exactly the maximum size: verified %d bytes: %v", n, err)
	}
	resp = get(t, c, s.URL()+"/bytes/")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /bytes/: %s, want 404", resp.Status)
	}
	if st := s.Stats(); st.Rejected != 9 || st.Downloads != 1 || st.Requests != 11 {
		t.Errorf("Stats = %+v, want 9 rejected, 1 download, 11 requests", st)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "localhost:0", "example.com:80"} {
		s, err := Listen(addr)
		if err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded, want refusal", addr)
			continue
		}
		if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), fmt.Sprintf("got %q", addr)) {
			t.Errorf("Listen(%q) = %v; want ErrNotLoopback naming the address", addr, err)
		}
	}
	if _, err := Listen("127.0.0.1"); err == nil || !strings.Contains(err.Error(), "want host:port") {
		t.Errorf("Listen without port = %v, want a host:port error", err)
	}
	s, err := Listen("127.0.0.2:0")
	if err != nil {
		t.Fatalf("Listen on 127.0.0.2: %v", err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.2:") {
		t.Errorf("URL = %s, want http://127.0.0.2:PORT", s.URL())
	}
}

func TestListenRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"WithMaxSize(0)":     WithMaxSize(0),
		"WithCorruption(-2)": WithCorruption(-2),
		"WithTruncation(-5)": WithTruncation(-5),
	} {
		if s, err := Listen("", opt); err == nil {
			s.Close()
			t.Errorf("Listen with %s succeeded, want an error", name)
		}
	}
}

func TestCorruptionDetectedAtOffset(t *testing.T) {
	const at = 100_003
	s := startServer(t, WithCorruption(at))
	c := testClient(t)

	resp := get(t, c, s.SeededBytesURL(200_000, 8))
	n, err := Verify(resp.Body, 8, 200_000)
	var mm *MismatchError
	if !errors.As(err, &mm) || !errors.Is(err, ErrMismatch) {
		t.Fatalf("corrupted payload: %d, %v; want a *MismatchError", n, err)
	}
	want := NewContent(8).Byte(at)
	if mm.Offset != at || n != at || mm.Want != want || mm.Got != want^0xff {
		t.Errorf("mismatch %+v after %d bytes; want offset %d, got 0x%02x, want 0x%02x", *mm, n, at, want^0xff, want)
	}

	// Payloads that end before the corrupted offset are intact.
	resp = get(t, c, s.BytesURL(at))
	if n, err := Verify(resp.Body, DefaultSeed, at); err != nil {
		t.Errorf("payload ending before the corruption: %d, %v; want intact", n, err)
	}
}

func TestTruncationDetectedAsShortRead(t *testing.T) {
	const cut, size = 50_000, 200_000
	s := startServer(t, WithTruncation(cut))
	c := testClient(t)

	resp := get(t, c, s.BytesURL(size))
	if resp.ContentLength != size {
		t.Fatalf("Content-Length %d, want the full %d", resp.ContentLength, size)
	}
	n, err := Verify(resp.Body, DefaultSeed, size)
	var le *LengthError
	if !errors.As(err, &le) || !errors.Is(err, ErrShortRead) || errors.Is(err, ErrMismatch) {
		t.Fatalf("truncated payload: %d, %v; want a short read", n, err)
	}
	if le.Got != cut || le.Expected != size || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("LengthError %+v; want got %d of %d, caused by io.ErrUnexpectedEOF", *le, cut, size)
	}

	resp = get(t, c, s.BytesURL(cut))
	if n, err := Verify(resp.Body, DefaultSeed, cut); err != nil {
		t.Errorf("payload no longer than the cut: %d, %v; want intact", n, err)
	}
}

// TestShortReadFromEarlyClosingHandler covers servers other than this one
// ending a payload early: with Content-Length (the connection is cut) and
// without (a clean, chunked end that is still too short).
func TestShortReadFromEarlyClosingHandler(t *testing.T) {
	const want, sent = 10_000, 4_000
	content := NewContent(DefaultSeed)
	cutConn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(want))
		io.Copy(w, content.Reader(sent))
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}))
	defer cutConn.Close()
	cleanEnd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, content.Reader(sent))
	}))
	defer cleanEnd.Close()

	c := testClient(t)
	for name, url := range map[string]string{"cut connection": cutConn.URL, "clean early end": cleanEnd.URL} {
		resp := get(t, c, url)
		n, err := Verify(resp.Body, DefaultSeed, want)
		var le *LengthError
		if !errors.As(err, &le) || !errors.Is(err, ErrShortRead) || le.Got != sent || le.Expected != want {
			t.Errorf("%s: %d, %v; want a short read of %d of %d bytes", name, n, err, sent, want)
		}
	}
}

func upload(t *testing.T, c *http.Client, method, url string, body io.Reader, size int64, seed string) (int, UploadResult) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	if seed != "" {
		req.Header.Set(SeedHeader, seed)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res UploadResult
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatalf("%s %s: decode reply: %v", method, url, err)
		}
	}
	return resp.StatusCode, res
}

// flipAt returns r with the byte at offset at inverted.
type flipAt struct {
	r   io.Reader
	off int64
	at  int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if k := f.at - f.off; k >= 0 && k < int64(n) {
		p[k] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func TestUploadCountsAndVerifies(t *testing.T) {
	s := startServer(t, WithMaxSize(1<<20))
	c := testClient(t)
	const size = 300_001
	content := NewContent(21)

	status, res := upload(t, c, http.MethodPost, s.UploadURL(), content.Reader(size), size, "21")
	if status != http.StatusOK || res.Bytes != size || !res.Verified || res.MismatchOffset != nil {
		t.Errorf("POST correct content: %d %+v; want 200, %d bytes, verified", status, res, size)
	}

	status, res = upload(t, c, http.MethodPut, s.UploadURL(), content.Reader(size), size, "")
	if status != http.StatusOK || res.Bytes != size || res.Verified {
		t.Errorf("PUT without seed: %d %+v; want 200, %d bytes, not verified", status, res, size)
	}

	status, res = upload(t, c, http.MethodPost, s.UploadURL(), &flipAt{r: content.Reader(size), at: 123_456}, size, "21")
	if status != http.StatusOK || res.Bytes != size || res.Verified || res.MismatchOffset == nil || *res.MismatchOffset != 123_456 {
		t.Errorf("POST corrupted content: %d %+v; want 200, all %d bytes counted, not verified, mismatch at 123456", status, res, size)
	}

	// Chunked upload (unknown length) over the maximum is cut off at it.
	status, _ = upload(t, c, http.MethodPost, s.UploadURL(), content.Reader(1<<20+1), -1, "")
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked upload over the maximum: %d, want 413", status)
	}
	status, _ = upload(t, c, http.MethodPost, s.UploadURL(), content.Reader(1<<20+1), 1<<20+1, "")
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("upload declaring more than the maximum: %d, want 413", status)
	}
	status, _ = upload(t, c, http.MethodPost, s.UploadURL(), content.Reader(10), 10, "nope")
	if status != http.StatusBadRequest {
		t.Errorf("upload with a bad seed header: %d, want 400", status)
	}

	st := s.Stats()
	if st.Uploads != 3 || st.Rejected != 3 || st.BytesReceived < 3*size+1<<20 {
		t.Errorf("Stats = %+v; want 3 uploads, 3 rejected, at least %d bytes received", st, 3*size+1<<20)
	}
}

func TestHealthzAndClose(t *testing.T) {
	s, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(t)
	resp := get(t, c, s.URL()+"/healthz")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("healthz: %s %q, want 200 \"ok\\n\"", resp.Status, body)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if conn, err := net.Dial("tcp", s.Addr()); err == nil {
		conn.Close()
		t.Errorf("connected to %s after Close", s.Addr())
	}
}
