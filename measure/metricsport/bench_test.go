package metricsport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fixtureServerEnv turns the test binary into a MetricsPort stand-in serving
// the named file (see TestMain). The sampler CPU benchmark runs the server in
// that child process so getrusage(RUSAGE_SELF) counts the sampler alone.
const fixtureServerEnv = "RELAYBENCH_METRICSPORT_FIXTURE_SERVER"

func TestMain(m *testing.M) {
	if path := os.Getenv(fixtureServerEnv); path != "" {
		os.Exit(serveFixtureUntilStdinCloses(path))
	}
	os.Exit(m.Run())
}

func serveFixtureUntilStdinCloses(path string) int {
	body, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixture server:", err)
		return 1
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	fmt.Println(srv.URL + "/metrics")
	io.Copy(io.Discard, os.Stdin) // the parent closes stdin when done
	return 0
}

func BenchmarkParseScrape(b *testing.B) {
	body := readFixture(b, "relay-load.prom")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseScrapeBytes(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewRelaySnapshot(b *testing.B) {
	sc, err := ParseScrapeBytes(readFixture(b, "relay-load.prom"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = NewRelaySnapshot(sc, time.Unix(1, 0))
	}
}

func BenchmarkRecordLine(b *testing.B) {
	sc, err := ParseScrapeBytes(readFixture(b, "relay-load.prom"))
	if err != nil {
		b.Fatal(err)
	}
	rec := ScrapeRecord{URL: "http://127.0.0.1:9035/metrics", At: time.Now(), OK: true, HTTPStatus: 200, Families: sc.Families}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = rec.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

type countingWriter struct {
	mu           sync.Mutex
	lines, bytes int
	failed       int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines++
	w.bytes += len(p)
	if bytes.Contains(p, []byte(`"ok":false`)) {
		w.failed++
	}
	return len(p), nil
}

// BenchmarkSamplerCPU measures what the sampler costs the machine it shares
// with the load generator: CPU time (user+sys, this process only) per scrape
// of a real 26 KB scrape served from a child process, reported also as the
// share of one core at the default 1 s interval. One op samples for 10 s at
// 100 ms (2 s with -short); run it with -benchtime=1x.
func BenchmarkSamplerCPU(b *testing.B) {
	window := 10 * time.Second
	if testing.Short() {
		window = 2 * time.Second
	}
	path, err := filepath.Abs(fixturePath(b, "relay-load.prom"))
	if err != nil {
		b.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fixtureServerEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start fixture server: %v", err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() // our own child, by pid
			<-done
		}
	}()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("fixture server gave no URL: %v", err)
	}
	url = strings.TrimSpace(url)

	var cpu time.Duration
	w := &countingWriter{}
	b.ResetTimer()
	for range b.N {
		before := rusageCPU(b)
		ctx, cancel := context.WithTimeout(context.Background(), window)
		err := (&Sampler{URLs: []string{url}, Interval: 100 * time.Millisecond, Out: w}).Run(ctx)
		cancel()
		cpu += rusageCPU(b) - before
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if w.lines == 0 || w.failed != 0 {
		b.Fatalf("%d scrapes, %d failed; the measurement needs successful scrapes", w.lines, w.failed)
	}
	perScrape := cpu / time.Duration(w.lines)
	b.ReportMetric(float64(perScrape.Microseconds()), "cpu-µs/scrape")
	b.ReportMetric(float64(perScrape)/float64(time.Second)*100, "%core@1s")
	b.ReportMetric(float64(w.bytes)/float64(w.lines), "B/line")
	b.ReportMetric(float64(w.lines)/float64(b.N), "scrapes/op")
}

func rusageCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
