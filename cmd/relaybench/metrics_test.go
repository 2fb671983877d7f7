package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/testkit"
)

// TestRunMetricsAddr runs `relaybench run --metrics-addr ... --metrics-linger`
// on fake SocksPorts (no tor) while a poller scrapes /metrics like
// Prometheus would, and checks that the last scrape, taken during the
// linger, counts exactly the bytes and requests of requests.jsonl, and that
// the endpoint is gone once run returned.
func TestRunMetricsAddr(t *testing.T) {
	socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: goldenRate}))
	path := goldenScenario(t, "metrics", socks, mp, `payload:
  size: 256KiB
workload:
  kind: bulk
ramp:
  steps: [1, 2]
  step_duration: 2s
  warmup: 500ms
sampling:
  interval: 500ms
`)
	port, err := chutney.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	var (
		mu     sync.Mutex
		last   []byte
		scrape int
	)
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := http.Get(url)
			if err != nil {
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				mu.Lock()
				last, scrape = body, scrape+1
				mu.Unlock()
			}
		}
	}()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err = run([]string{"run", "--out", out, "--metrics-addr", "127.0.0.1:" + strconv.Itoa(port), "--metrics-linger", "1s", path}, &stdout, &stderr)
	close(done)
	<-polled
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "serving live metrics at "+url) {
		t.Errorf("stderr does not say where the metrics are served")
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("%s still answers after run returned", url)
	}
	entries, err := os.ReadDir(out)
	if err != nil || len(entries) != 1 {
		t.Fatalf("--out %s holds %d entries (%v), want one run directory", out, len(entries), err)
	}
	requests := readJSONLines[requestLine](t, filepath.Join(out, entries[0].Name(), "requests.jsonl"))
	var wantBytes, wantRequests float64
	for _, r := range requests {
		wantBytes += float64(r.Bytes)
		wantRequests++
	}
	mu.Lock()
	defer mu.Unlock()
	if scrape < 10 {
		t.Fatalf("%d scrapes answered, want about one per 100 ms of the run", scrape)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(last))
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string) float64 {
		total := 0.0
		if mf := families[name]; mf != nil {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
		return total
	}
	if got := sum("relaybench_received_bytes_total"); got != wantBytes || got == 0 {
		t.Errorf("the last scrape counts %.0f bytes, requests.jsonl %.0f", got, wantBytes)
	}
	if got := sum("relaybench_requests_total"); got != wantRequests {
		t.Errorf("the last scrape counts %.0f requests, requests.jsonl %.0f", got, wantRequests)
	}
}
