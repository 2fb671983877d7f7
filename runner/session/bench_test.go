package session

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/scenarios"
)

// BenchmarkHarnessRSS runs a 10-minute bulk run (4 streams through the
// embedded network) and prints the harness's resident memory at the start
// and the end: flat means nothing accumulates per request.
// RELAYBENCH_RSS_MINUTES shortens it for a quick check.
//
//	go test -run '^$' -bench HarnessRSS -benchtime 1x -timeout 30m ./runner/session/
func BenchmarkHarnessRSS(b *testing.B) {
	minutes := 10.0
	if v, err := strconv.ParseFloat(os.Getenv("RELAYBENCH_RSS_MINUTES"), 64); err == nil && v > 0 {
		minutes = v
	}
	for range b.N {
		sc, err := scenarios.Builtin("local")
		if err != nil {
			b.Fatal(err)
		}
		sc.Ramp.Steps = []int{4}
		sc.Ramp.StepDuration = scenarios.Duration(time.Duration(minutes * float64(time.Minute)))
		sc.Ramp.Warmup = scenarios.Duration(5 * time.Second)
		sc.Repetitions = 1
		sc.Limits.MaxDuration = scenarios.Duration(time.Duration(minutes*float64(time.Minute)) + time.Minute)
		var (
			mu      sync.Mutex
			samples []float64
		)
		stop := make(chan struct{})
		opts := Options{OutDir: b.TempDir(), Progress: os.Stderr,
			OnClients: func([]*chutney.Client) {
				go func() {
					tick := time.NewTicker(5 * time.Second)
					defer tick.Stop()
					for {
						mu.Lock()
						samples = append(samples, rssMiB())
						mu.Unlock()
						select {
						case <-stop:
							return
						case <-tick.C:
						}
					}
				}()
			}}
		res, err := Run(context.Background(), sc, opts)
		close(stop)
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		first, last, peak := samples[0], samples[len(samples)-1], 0.0
		for _, s := range samples {
			peak = max(peak, s)
		}
		mu.Unlock()
		b.ReportMetric(first, "MiB-rss-start")
		b.ReportMetric(last, "MiB-rss-end")
		b.ReportMetric(last/first, "x-rss-end-vs-start")
		fmt.Fprintf(os.Stderr, "harness RSS over a %.0f-minute bulk run (%d requests): start %.1f MiB, end %.1f MiB, peak %.1f MiB (end/start %.2f)\n",
			minutes, res.Reps[0].Requests, first, last, peak, last/first)
	}
}

// rssMiB reads this process's resident set size.
func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
