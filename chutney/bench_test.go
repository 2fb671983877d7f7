package chutney

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// chutneyBasicMinSeconds is the reference: chutney's own basic-min network
// took 150 s from start to bootstrapped on this project's 2-core machines
// (tor 0.4.9.11), with its 20 s voting intervals.
const chutneyBasicMinSeconds = 150.0

// startsPerMeasurement is how many networks one benchmark iteration starts;
// the median of them is reported.
const startsPerMeasurement = 3

// BenchmarkTestnetUpToReady measures the time from Start to a network proven
// ready (a download through the target and an exit), three times, and prints
// the median beside chutney's figure. Goal: 20 s or less on 2 cores.
//
//	go test -run '^$' -bench TestnetUpToReady -benchtime 1x ./chutney/
func BenchmarkTestnetUpToReady(b *testing.B) {
	for range b.N {
		var secs []float64
		for i := range startsPerMeasurement {
			dir := filepath.Join(testRoot, fmt.Sprintf("bench-%d", i))
			start := time.Now()
			net, err := Start(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			secs = append(secs, time.Since(start).Seconds())
			net.Stop()
			os.RemoveAll(dir)
		}
		slices.Sort(secs)
		median := secs[len(secs)/2]
		b.ReportMetric(median, "s/ready-median")
		b.ReportMetric(chutneyBasicMinSeconds/median, "x-faster-than-chutney")
		fmt.Fprintf(os.Stderr, "testnet up to ready: runs %.1f s, median %.1f s (goal <= 20 s); chutney basic-min on this machine: %.0f s; ratio %.1fx faster\n",
			secs, median, chutneyBasicMinSeconds, chutneyBasicMinSeconds/median)
	}
}
