package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

// lockedWriter is a stdout or stderr the test reads while serve writes.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serving is `relaybench serve` running in-process.
type serving struct {
	stdout, stderr lockedWriter
	done           chan error
	addr           string // host:port it listens on
}

var servedAddr = regexp.MustCompile(`on (127\.0\.0\.3:\d+), for Tor exits`)

// startServe runs `relaybench serve ARGS` in a goroutine and returns once
// it said how to stop it (its signal handler is then in place).
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	s := &serving{done: make(chan error, 1)}
	go func() { s.done <- run(append([]string{"serve"}, args...), &s.stdout, &s.stderr) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(s.stdout.String(), "Stop with Ctrl-C or SIGTERM.") {
		select {
		case err := <-s.done:
			t.Fatalf("serve ended before serving: %v\n%s%s", err, s.stdout.String(), s.stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start within 10 s:\n%s%s", s.stdout.String(), s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	m := servedAddr.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no listen address in:\n%s", s.stdout.String())
	}
	s.addr = m[1]
	return s
}

// stop sends sig to this process, as a service manager or Ctrl-C does, and
// returns serve's exit code.
func (s *serving) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return exitCode(err)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of %v", sig)
		return -1
	}
}

func httpGet(t *testing.T, url string) *http.Response {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestServeGolden runs `relaybench serve` in-process with a token file,
// an access log, a 3 MiB budget and a rate cap; fetches a verified
// payload, one over the budget, one without the token and one over the
// size limit; stops it with SIGTERM; and checks the exit code, stdout and
// stderr (the port, the temporary directory and times masked) and the
// access log.
func TestServeGolden(t *testing.T) {
	const token = "golden-token-0123456789abcdef"
	dir := t.TempDir()
	tokenFile, accessLog := filepath.Join(dir, "token"), filepath.Join(dir, "access.jsonl")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--listen", "127.0.0.3:0", "--token-file", tokenFile, "--access-log", accessLog,
		"--max-bytes", "3MiB", "--max-size", "2MiB", "--rate", "16MiB/s")
	base := "http://" + s.addr

	resp := httpGet(t, base+"/"+token+"/bytes/2MiB?seed=9")
	if n, err := payload.Verify(resp.Body, 9, 2<<20); resp.StatusCode != http.StatusOK || err != nil {
		t.Errorf("download with the token: %s, verified %d bytes: %v", resp.Status, n, err)
	}
	for path, want := range map[string]int{
		"/" + token + "/bytes/2MiB": http.StatusServiceUnavailable, // 1 MiB of the budget left
		"/bytes/10":                 http.StatusNotFound,
		"/" + token + "/bytes/3MiB": http.StatusRequestEntityTooLarge,
	} {
		resp := httpGet(t, base+path)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	if code := s.stop(t, syscall.SIGTERM); code != exitOK {
		t.Errorf("exit code %d after SIGTERM, want %d (a server stopped on purpose)", code, exitOK)
	}

	mask := func(s string) string {
		s = strings.ReplaceAll(s, dir, "DIR")
		s = regexp.MustCompile(`127\.0\.0\.3:\d+`).ReplaceAllString(s, "127.0.0.3:PORT")
		return regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ `).ReplaceAllString(s, "TIME ")
	}
	got := "$ relaybench serve (stdout)\n" + mask(s.stdout.String()) + "$ (stderr)\n" + mask(s.stderr.String())
	testkit.Golden(t, filepath.Join("testdata", "golden", "serve.golden"), []byte(got), *update)

	f, err := os.Open(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := rundir.ReadLines[payload.AccessRecord](f, "access.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[int]int{}
	for _, r := range lines.Records {
		statuses[r.Status]++
		if strings.Contains(r.Path, token) {
			t.Errorf("access log line %+v holds the token", r)
		}
	}
	if len(lines.Records) != 4 || statuses[200] != 1 || statuses[503] != 1 || statuses[404] != 1 || statuses[413] != 1 {
		t.Errorf("access log %+v: want one line each of 200, 503, 404, 413", lines.Records)
	}
}

// TestServeNewToken: without --token-file, serve makes a token, shows it
// once in the URL, and the URL works; Ctrl-C stops it with exit code 0.
func TestServeNewToken(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.3:0")
	m := regexp.MustCompile(`(http://\S+)/bytes/SIZE`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no payload URL in:\n%s", s.stdout.String())
	}
	token := strings.TrimPrefix(m[1], "http://"+s.addr+"/")
	if err := payload.CheckToken(token); err != nil || len(token) != 43 {
		t.Errorf("token %q: %v, want a new 43-character one", token, err)
	}
	resp := httpGet(t, m[1]+"/bytes/100KiB")
	if n, err := payload.Verify(resp.Body, payload.DefaultSeed, 100<<10); err != nil {
		t.Errorf("the URL shown: verified %d bytes: %v", n, err)
	}
	if code := s.stop(t, syscall.SIGINT); code != exitOK {
		t.Errorf("exit code %d after SIGINT, want %d", code, exitOK)
	}
	if out := s.stdout.String() + s.stderr.String(); strings.Count(out, token) != 1 || !strings.Contains(out, "downloads served: 1 (100KiB") {
		t.Errorf("want the token shown once and one download of 100KiB in the summary:\n%s", out)
	}
}

func TestServeUsageErrors(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-listen is required"},
		{[]string{"--listen", "localhost:8080"}, "not an IP address"},
		{[]string{"--listen", "127.0.0.3"}, "host:port"},
		{[]string{"--listen", "127.0.0.3:0", "--rate", "fast"}, "-rate"},
		{[]string{"--listen", "127.0.0.3:0", "--max-bytes", "0"}, "-max-bytes"},
		{[]string{"--listen", "127.0.0.3:0", "--max-size", "lots"}, "-max-size"},
		{[]string{"--listen", "127.0.0.3:0", "--token-file", short}, "at least 22"},
		{[]string{"--listen", "127.0.0.3:0", "--access-log", filepath.Join(t.TempDir(), "no", "such", "dir", "log")}, "-access-log"},
		{[]string{"--listen", "127.0.0.3:0", "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append([]string{"serve"}, tc.args...), &stdout, &stderr)
		if code := exitCode(err); err == nil || code != exitUsage {
			t.Errorf("serve %q: exit code %d (%v), want %d", tc.args, code, err, exitUsage)
			continue
		}
		if all := err.Error() + stderr.String(); !strings.Contains(all, tc.want) {
			t.Errorf("serve %q: message %q does not mention %q", tc.args, all, tc.want)
		}
	}
}
