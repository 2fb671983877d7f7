package metricsport

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// addFixtureSeeds seeds a fuzzer with real scrapes plus hand-made edge cases;
// testdata/fuzz/<Fuzzer>/ adds small edited scrapes (truncated, duplicated,
// reordered lines) and anything the fuzzer has found.
func addFixtureSeeds(f testing.TB, add func(body []byte)) {
	// Two whole real scrapes; small edited ones live in testdata/fuzz because
	// the fuzzer minimises every interesting input, and 26 KB inputs make that
	// take up to -fuzzminimizetime each.
	for _, name := range []string{"relay-idle.prom", "relay-bwrate-limited.prom"} {
		add(readFixture(f, name))
	}
	for _, s := range []string{
		"",
		"# TYPE tor_relay_load_socket_total gauge\ntor_relay_load_socket_total 0\ntor_relay_load_socket_total{state=\"opened\"} NaN\n",
		"# TYPE tor_relay_traffic_bytes counter\ntor_relay_traffic_bytes{direction=\"written\"} +Inf\ntor_relay_traffic_bytes{direction=\"written\"} -1\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n# TYPE s summary\ns{quantile=\"0.9\"} 1\n",
		"tor_relay_load_oom_bytes_total{subsys=\"cell\"} 1e308\n",
	} {
		add([]byte(s))
	}
}

// FuzzParseScrape: any body either fails cleanly or yields a scrape whose
// snapshot, record line and read-back all work.
func FuzzParseScrape(f *testing.F) {
	addFixtureSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		sc, err := ParseScrapeBytes(body)
		if err != nil {
			if len(sc.Families) != 0 {
				t.Fatalf("error %v but %d families returned", err, len(sc.Families))
			}
			return
		}
		for i := 1; i < len(sc.Families); i++ {
			if sc.Families[i-1].Name >= sc.Families[i].Name {
				t.Fatalf("families not sorted/unique: %q then %q", sc.Families[i-1].Name, sc.Families[i].Name)
			}
		}
		_ = NewRelaySnapshot(sc, time.Unix(1, 0))
		line := ScrapeRecord{URL: "u", At: time.Unix(1, 0), OK: true, Families: sc.Families}.AppendJSON(nil)
		if !json.Valid(line) {
			t.Fatalf("record is not valid JSON: %q", line)
		}
		recs, err := readMetricsLog(bytes.NewReader(append(line, '\n')))
		if err != nil || len(recs) != 1 {
			t.Fatalf("record does not read back: %d records, %v\n%s", len(recs), err, line)
		}
		again := ScrapeRecord{URL: "u", At: time.Unix(1, 0), OK: true, Families: ScrapeOf(recs[0]).Families}.AppendJSON(nil)
		if !bytes.Equal(again, line) {
			t.Fatalf("round trip changed the record:\n%s\n%s", line, again)
		}
	})
}

// FuzzRatesAndSignals feeds two scrapes (either may be garbage, truncated,
// duplicated or reordered) and an interval of any sign through snapshots,
// rates and signal detection: no panics, no negative or infinite-interval
// rates.
func FuzzRatesAndSignals(f *testing.F) {
	var seeds [][]byte
	addFixtureSeeds(f, func(b []byte) { seeds = append(seeds, b) })
	for i, a := range seeds {
		b := seeds[(i+1)%len(seeds)]
		f.Add(a, b, int64(2000), true)
		f.Add(b, a, int64(0), false)
		f.Add(a, a, int64(-1000), true)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, deltaMS int64, underLoad bool) {
		deltaMS %= 1e9 // ~11 days; keeps time.Duration from overflowing
		t0 := time.Date(2025, 11, 23, 8, 0, 0, 0, time.UTC)
		t1 := t0.Add(time.Duration(deltaMS) * time.Millisecond)
		// Two failed scrapes in a row (UnreachableScrapes) between the two.
		mid := t0.Add(time.Duration(deltaMS/2) * time.Millisecond)
		obs := []Observation{observe(a, t0, underLoad), {At: mid, Err: "timeout", UnderLoad: underLoad}, {At: mid, Err: "timeout", UnderLoad: underLoad}, observe(b, t1, underLoad)}
		var snaps []RelaySnapshot
		for _, o := range obs {
			if o.Snapshot != nil {
				snaps = append(snaps, *o.Snapshot)
			}
		}
		if len(snaps) == 2 {
			r, err := ComputeRates(snaps[0], snaps[1])
			if err == nil {
				if !(r.Seconds > 0) || math.IsInf(r.Seconds, 0) {
					t.Fatalf("interval %v s accepted", r.Seconds)
				}
				checkNonNegative(t, r.Increase)
			} else if deltaMS > 0 {
				t.Fatalf("positive interval %d ms rejected: %v", deltaMS, err)
			}
		}
		_ = RateSeries(snaps)
		sigs := DetectOnsets(obs, SignalConfig{SocketFraction: float64(deltaMS%3) / 2})
		seen := map[SignalName]bool{}
		for _, s := range sigs {
			if seen[s.Name] {
				t.Fatalf("signal %s reported twice", s.Name)
			}
			seen[s.Name] = true
			if s.Evidence == "" {
				t.Fatalf("signal %s without evidence", s.Name)
			}
		}
		if underLoad != seen[SignalMetricsPortUnreachable] {
			t.Fatalf("under load %v but unreachable fired %v", underLoad, seen[SignalMetricsPortUnreachable])
		}
	})
}

func observe(body []byte, at time.Time, underLoad bool) Observation {
	sc, err := ParseScrapeBytes(body)
	if err != nil {
		return Observation{At: at, Err: err.Error(), UnderLoad: underLoad}
	}
	s := NewRelaySnapshot(sc, at)
	return Observation{At: at, Snapshot: &s, UnderLoad: underLoad}
}

func checkNonNegative(t *testing.T, c RelayCounters) {
	t.Helper()
	vals := []float64{c.TrafficReadBytes, c.TrafficWrittenBytes, c.TCPExhaustion, c.RateLimitReachedRead, c.RateLimitReachedWrite, c.BugsReached}
	for _, m := range []map[string]float64{c.OnionskinsProcessed, c.OnionskinsDropped, c.OOMBytes, c.DoS, c.ConnectionsCreated, c.ConnectionsRejected, c.Streams} {
		for _, v := range m {
			vals = append(vals, v)
		}
	}
	for _, v := range vals {
		if v < 0 {
			t.Fatalf("negative increase %v in %+v", v, c)
		}
	}
}
