package metricsport

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The BandwidthRate 1 MBytes run: tor 0.4.9.11 carried ~0.85 MB/s under 8
// downloads (testdata/scrapes/README.md). The series says (39944190-1147056) bytes written over 44 s =
// 0.88e6 B/s = 0.84 MiB/s, so "0.85 MB/s" is MiB/s. File names have 1-second
// resolution on a ~2-second cadence, so single intervals are noisy (+-50%);
// the median interval and the whole-run average are not.
func TestRatesBandwidthRateSeries(t *testing.T) {
	snaps := seriesSnapshots(t, "relay-BandwidthRate-1MB")
	rates := RateSeries(snaps)
	if len(rates) != len(snaps)-1 {
		t.Fatalf("%d rates from %d snapshots", len(rates), len(snaps))
	}
	var written []float64
	for _, r := range rates {
		if r.Reset {
			t.Errorf("interval %v-%v marked reset (%v); the relay did not restart", r.From, r.To, r.ResetCounters)
		}
		if r.Seconds < 1 || r.Seconds > 4 {
			t.Errorf("interval of %v s; series is every ~2 s", r.Seconds)
		}
		written = append(written, r.PerSecond.TrafficWrittenBytes)
	}
	slices.Sort(written)
	median := written[len(written)/2]
	if median < 0.75e6 || median > 1.05e6 {
		t.Errorf("median written rate %.0f B/s, want 0.75-1.05 MB/s (BandwidthRate 1 MBytes)", median)
	}
	whole, err := ComputeRates(snaps[0], snaps[len(snaps)-1])
	if err != nil {
		t.Fatal(err)
	}
	if w := whole.PerSecond.TrafficWrittenBytes; w < 0.80e6 || w > 0.95e6 {
		t.Errorf("whole-run written rate %.0f B/s, want 0.80-0.95 MB/s", w)
	}
	if r := whole.PerSecond.TrafficReadBytes; r < 0.75e6 || r > 0.95e6 {
		t.Errorf("whole-run read rate %.0f B/s, want 0.75-0.95 MB/s", r)
	}
	if whole.Increase.RateLimitReachedWrite != 3441-11 || whole.Increase.RateLimitReachedRead != 668-4 {
		t.Errorf("rate-limit increases read %v write %v, want 664 3430", whole.Increase.RateLimitReachedRead, whole.Increase.RateLimitReachedWrite)
	}
}

// RelayBandwidthRate does not limit relayed exit traffic here: ~50 MB/s.
func TestRatesRelayBandwidthRateSeriesIsNotLimited(t *testing.T) {
	snaps := seriesSnapshots(t, "relay-RelayBandwidthRate-1MB")
	whole, err := ComputeRates(snaps[0], snaps[len(snaps)-1])
	if err != nil {
		t.Fatal(err)
	}
	if w := whole.PerSecond.TrafficWrittenBytes; w < 20e6 {
		t.Errorf("written rate %.0f B/s; the RelayBandwidthRate run carried ~50 MB/s", w)
	}
}

func snapAt(sec int, c RelayCounters) RelaySnapshot {
	return RelaySnapshot{At: time.Date(2025, 1, 1, 0, 0, sec, 0, time.UTC), Counters: c}
}

func TestRatesCounterReset(t *testing.T) {
	prev := snapAt(0, RelayCounters{TrafficReadBytes: 5000, TrafficWrittenBytes: 100, DoS: map[string]float64{"conn_rejected": 7}})
	next := snapAt(2, RelayCounters{TrafficReadBytes: 300, TrafficWrittenBytes: 900, DoS: map[string]float64{"conn_rejected": 0}})
	r, err := ComputeRates(prev, next)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Reset || !slices.Equal(r.ResetCounters, []string{"DoS[conn_rejected]", "TrafficReadBytes"}) {
		t.Errorf("Reset %v %v, want the read counter and DoS[conn_rejected]", r.Reset, r.ResetCounters)
	}
	if r.Increase.TrafficReadBytes != 300 || r.PerSecond.TrafficReadBytes != 150 {
		t.Errorf("after reset: increase %v rate %v, want 300 (new value) and 150/s", r.Increase.TrafficReadBytes, r.PerSecond.TrafficReadBytes)
	}
	if r.PerSecond.TrafficWrittenBytes != 400 {
		t.Errorf("written rate %v, want 400", r.PerSecond.TrafficWrittenBytes)
	}
	if r.Increase.DoS["conn_rejected"] != 0 {
		t.Errorf("DoS increase %v, want 0", r.Increase.DoS)
	}
	// A damaged scrape with a negative counter after a "reset" is not growth.
	r, _ = ComputeRates(prev, snapAt(2, RelayCounters{TrafficReadBytes: -4}))
	if r.Increase.TrafficReadBytes != 0 {
		t.Errorf("negative counter gave increase %v, want 0", r.Increase.TrafficReadBytes)
	}
}

func TestRatesRejectsEmptyOrBackwardIntervals(t *testing.T) {
	a, b := snapAt(0, RelayCounters{}), snapAt(1, RelayCounters{})
	for name, pair := range map[string][2]RelaySnapshot{
		"same time": {a, a},
		"backwards": {b, a},
		"no time":   {{}, b},
	} {
		if _, err := ComputeRates(pair[0], pair[1]); !errors.Is(err, ErrNoInterval) {
			t.Errorf("%s: err %v, want ErrNoInterval", name, err)
		}
	}
	if got := RateSeries([]RelaySnapshot{a, a, b, a}); len(got) != 1 || !got[0].From.Equal(a.At) {
		t.Errorf("RateSeries kept %d intervals, want only a->b", len(got))
	}
}

func TestRatesNewLabelCountsFromZero(t *testing.T) {
	prev := snapAt(0, RelayCounters{})
	next := snapAt(4, RelayCounters{OnionskinsDropped: map[string]float64{"ntor": 8}})
	r, err := ComputeRates(prev, next)
	if err != nil {
		t.Fatal(err)
	}
	if r.PerSecond.OnionskinsDropped["ntor"] != 2 || r.Reset {
		t.Errorf("got %v reset=%v, want 2/s and no reset", r.PerSecond.OnionskinsDropped, r.Reset)
	}
}
