package measure

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// fixtureDir holds real MetricsPort scrapes of tor 0.4.9.11; they belong to
// the metricsport package, whose tests read them too.
const fixtureDir = "metricsport/testdata/scrapes"

func TestNewEstimate(t *testing.T) {
	// Mean 2.5, sample stddev sqrt(5/3), t(0.975, 3) = 3.182446.
	e := NewEstimate([]float64{1, 2, 3, 4})
	sd := math.Sqrt(5.0 / 3)
	h := 3.182446305284263 * sd / 2
	if e.N != 4 || e.Mean != 2.5 || math.Abs(e.StdDev-sd) > 1e-12 || math.Abs(e.Low-(2.5-h)) > 1e-9 || math.Abs(e.High-(2.5+h)) > 1e-9 {
		t.Errorf("NewEstimate = %+v, want mean 2.5 sd %.6f CI ±%.6f", e, sd, h)
	}
	if e := NewEstimate([]float64{7}); e.N != 1 || e.Low != 7 || e.High != 7 {
		t.Errorf("one sample: %+v", e)
	}
	if e := NewEstimate(nil); e.N != 0 || e.Mean != 0 {
		t.Errorf("no sample: %+v", e)
	}
}

func TestNewDistributionExactPercentiles(t *testing.T) {
	xs := make([]float64, 0, 100)
	for i := 100; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	d := NewDistribution(xs)
	want := Distribution{N: 100, Mean: 50.5, P50: 50, P90: 90, P95: 95, P99: 99, Max: 100}
	if d != want {
		t.Errorf("NewDistribution(1..100) = %+v, want %+v", d, want)
	}
}

func TestPerSecondSpreadsBytesOverTheTransfer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPerSecond(t0, t0.Add(3500*time.Millisecond)) // 3 whole bins + a half one
	// 400 bytes evenly over [0.5 s, 2.5 s]: 100 in bin 0, 200 in 1, 100 in 2.
	p.add(t0.Add(500*time.Millisecond), t0.Add(2500*time.Millisecond), 400)
	// 50 bytes at once in the last, half bin; 70 before the window: dropped.
	p.add(t0.Add(3200*time.Millisecond), t0.Add(3200*time.Millisecond), 50)
	p.add(t0.Add(-2*time.Second), t0.Add(-time.Second), 70)
	got := p.rates()
	want := []float64{100, 200, 100, 100}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("rates = %v, want %v", got, want)
		}
	}
	if b, s := p.total(); b != 450 || s != 3.5 {
		t.Errorf("total = %v bytes over %v s, want 450 over 3.5", b, s)
	}
}

// synth builds the raw data of a run: steps of load 1, 2, 4, 8 streams,
// 10 s each with a 2 s warm-up. Each stream downloads requests of size
// bytes (default 1 MB) at perStream(load) bytes/s back to back; half of a
// request's ttfb is its SOCKS connect, the other half the wait for the
// first byte after the request was written.
type synth struct {
	t0        time.Time
	loads     []int
	size      float64
	perStream func(load int) float64
	ttfb      func(load int) time.Duration
	failEvery func(load int) int // every n-th request of a step fails; 0 none
}

func (s synth) run(t *testing.T) *Run {
	t.Helper()
	sc, err := scenarios.Parse([]byte(`name: synth
target: {kind: testnet, role: bridge}
workload: {kind: bulk}
ramp: {steps: [1, 2, 4, 8], step_duration: 10s, warmup: 2s}
`), "synth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Scenario: sc}
	at := s.t0
	for i, load := range s.loads {
		st := rundir.StepSummary{StepKey: rundir.StepKey{Step: i}, Load: load, Start: at, WarmupEnd: at.Add(2 * time.Second), End: at.Add(10 * time.Second)}
		st.SecondBytes = make([]int64, 11)
		rate := s.perStream(load)
		n := 0
		for w := range load {
			start := st.Start.Add(time.Duration(w) * 10 * time.Millisecond)
			for start.Before(st.End) {
				n++
				ttfb := s.ttfb(load)
				size := cmp.Or(s.size, 1e6)
				dur := ttfb + time.Duration(size/rate*float64(time.Second))
				rec := rundir.Record{StepKey: rundir.StepKey{Step: i}, Load: load, Worker: w, Start: start, Intended: start,
					ConnectNS: int64(ttfb / 2), WroteNS: int64(ttfb / 2), TTFBNS: int64(ttfb), Status: 200, Warmup: start.Before(st.WarmupEnd)}
				end := start.Add(dur)
				switch {
				case s.failEvery != nil && s.failEvery(load) > 0 && n%s.failEvery(load) == 0:
					rec.Error, rec.Status = "socks-general-failure", 0
					rec.TTFBNS, dur = 0, ttfb
					end = start.Add(dur)
				case end.After(st.End):
					dur, end = st.End.Sub(start), st.End
					rec.Error = rundir.ClassStepEnd
				}
				rec.TTLBNS = int64(dur)
				if rec.Error != "socks-general-failure" {
					body := end.Sub(start.Add(ttfb)).Seconds()
					rec.Bytes = int64(rate * body)
					// Count the bytes into the seconds they arrived in, as
					// the runner does: each second gets the rate times its
					// overlap with the body's transfer.
					from, to := start.Add(ttfb).Sub(st.Start).Seconds(), end.Sub(st.Start).Seconds()
					for sec := int(from); sec < len(st.SecondBytes) && float64(sec) < to; sec++ {
						st.SecondBytes[sec] += int64(rate * (min(to, float64(sec+1)) - max(from, float64(sec))))
					}
					if wb := end.Sub(maxTime(start.Add(ttfb), st.WarmupEnd)).Seconds(); wb > 0 {
						st.Bytes += int64(rate * wb)
					}
				}
				r.Records = append(r.Records, rec)
				start = end
			}
		}
		r.Steps = append(r.Steps, st)
		at = st.End
	}
	return r
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// saturating is a run of 1, 2, 4, 8 streams with total goodput 1, 2, 4,
// then 4.2 MB/s at 8 streams (saturation, +5 % on a doubling), where
// connect and the first byte also take 5 times longer (10 ms -> 50 ms
// each) and 1 in 20 requests fails. Requests of 200 kB give the first
// step over 30 latency samples, enough for a p95.
func saturating(t0 time.Time) synth {
	at8 := func(v8, other float64) func(int) float64 {
		return func(load int) float64 {
			if load == 8 {
				return v8
			}
			return other
		}
	}
	return synth{
		t0: t0, loads: []int{1, 2, 4, 8}, size: 2e5,
		perStream: at8(4.2e6/8, 1e6),
		ttfb:      func(load int) time.Duration { return time.Duration(at8(100, 20)(load)) * time.Millisecond },
		failEvery: func(load int) int { return int(at8(20, 0)(load)) },
	}
}

func TestAnalyzeClientSignalsAndCapacity(t *testing.T) {
	a := Analyze(saturating(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)).run(t))
	if len(a.Steps) != 4 {
		t.Fatalf("%d steps, want 4", len(a.Steps))
	}
	// Each stream repeats k-1 successful requests (the wait for the first
	// byte, then size bytes at its rate) and one failure, which takes the
	// wait and carries nothing: (k-1) size bytes in k waits and k-1 bodies.
	s := saturating(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	expect := func(load int) float64 {
		rate, wait, k := s.perStream(load), s.ttfb(load).Seconds(), float64(s.failEvery(load))
		body := s.size / rate
		if k == 0 {
			return float64(load) * s.size / (wait + body)
		}
		return float64(load) * (k - 1) * s.size / (k*wait + (k-1)*body)
	}
	for i, load := range []int{1, 2, 4, 8} {
		g, want := a.Steps[i].Goodput, expect(load)
		if math.Abs(g.Mean-want)/want > 0.04 {
			t.Errorf("step %d goodput %.0f, want %.0f ± 4%%", i+1, g.Mean, want)
		}
		if n := len(a.Steps[i].GoodputSeries); n != 8 {
			t.Errorf("step %d has %d per-second samples, want 8 (10 s step, 2 s warm-up)", i+1, n)
		}
		// One repetition of 8 s: fewer than two 5 s batches, no interval.
		if g.N != 1 || g.Of != EstimateBatches || g.Low != g.Mean || g.High != g.Mean {
			t.Errorf("step %d goodput %+v, want one batch and no interval", i+1, g)
		}
		if !(g.Low <= g.Mean && g.Mean <= g.High) {
			t.Errorf("step %d CI %v..%v does not hold the mean %v", i+1, g.Low, g.High, g.Mean)
		}
	}
	for i := range 3 {
		if len(a.Steps[i].Signals) != 0 {
			t.Errorf("step %d has signals %+v, want none", i+1, a.Steps[i].Signals)
		}
	}
	last := a.Steps[3]
	var names []string
	for _, sg := range last.Signals {
		names = append(names, sg.Name)
	}
	if want := []string{SignalErrors, SignalTTFB, SignalConnect, SignalSaturation}; !slices.Equal(names, want) {
		t.Fatalf("step 4 signals %v, want %v", names, want)
	}
	// The first byte is timed from the request written: half the synth's
	// ttfb, the other half being the connect.
	if last.TTFB.P95 != 0.05 || a.Steps[0].TTFB.P95 != 0.01 || last.Connect.P95 != 0.05 || a.Steps[0].Connect.P95 != 0.01 {
		t.Errorf("TTFB p95 %v and %v, connect p95 %v and %v; want 0.05 and 0.01 for both",
			last.TTFB.P95, a.Steps[0].TTFB.P95, last.Connect.P95, a.Steps[0].Connect.P95)
	}
	if len(a.LatencyRules) != 2 || a.LatencyRules[0].Insufficient != "" || a.LatencyRules[0].BaselineN < MinLatencySamples {
		t.Errorf("latency rules %+v: want both judged against a baseline of %d samples or more", a.LatencyRules, MinLatencySamples)
	}
	failed := last.Errors["socks-general-failure"]
	if failed == 0 || last.ErrorRate != float64(failed)/float64(last.OK+failed) || last.Requests != last.OK+last.Cut+failed {
		t.Errorf("step 4: %d requests, %d ok, %d cut, errors %v, rate %.3f: want socks-general-failure counted, cut requests excluded from the rate",
			last.Requests, last.OK, last.Cut, last.Errors, last.ErrorRate)
	}
	if a.Steps[0].ErrorRate != 0 || a.Steps[0].Cut == 0 {
		t.Errorf("step 1: error rate %v with %d cut; cut requests must not count as errors", a.Steps[0].ErrorRate, a.Steps[0].Cut)
	}
	if a.Onset == nil || a.Onset.Step != 3 || a.Onset.Cause != SignalErrors {
		t.Fatalf("onset %+v, want step 4 caused by errors", a.Onset)
	}
	if sat := last.Signals[3]; math.Abs(sat.Value-(expect(8)/expect(4)-1)) > 0.03 || sat.Threshold != 0.10 {
		t.Errorf("saturation gain %.3f threshold %.2f", sat.Value, sat.Threshold)
	}
	// Step 4 carried a little more than step 3, but with 5 % of its
	// requests failing and streams waiting 5 times longer: not the
	// capacity. Without the relay's MetricsPort or CPU nothing says whose
	// limit it was: a lower bound, attributed to nobody.
	c := a.Capacity
	if c == nil || c.Step != 2 || c.LastHealthy == nil || c.LastHealthy.Step != 2 {
		t.Fatalf("capacity %+v, want step 3, the last healthy one", c)
	}
	if !c.LowerBound || c.Attribution != AttributionUnknown || a.Onset.Attribution != AttributionUnknown ||
		!strings.Contains(strings.Join(c.Reasons, " "), "neither the relay's MetricsPort nor its CPU was measured") {
		t.Errorf("capacity %+v, onset attribution %q: want a lower bound of unknown attribution, saying the relay was not measured", c, a.Onset.Attribution)
	}
	if med := a.Steps[1].StreamGoodput.P50; math.Abs(med-1e6) > 1e4 {
		t.Errorf("per-stream goodput p50 %.0f, want 1e6", med)
	}
}

func TestAnalyzeNoOnsetIsLowerBound(t *testing.T) {
	s := synth{t0: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 10 * time.Millisecond }}
	a := Analyze(s.run(t))
	if a.Onset != nil {
		t.Fatalf("onset %+v, want none", a.Onset)
	}
	if a.Capacity == nil || a.Capacity.Step != 1 || !a.Capacity.LowerBound || len(a.Capacity.Reasons) == 0 {
		t.Fatalf("capacity %+v, want step 2 as a lower bound with a reason", a.Capacity)
	}
}

func TestAnalyzeBottleneckMakesCapacityALowerBound(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2, 4},
		perStream: func(load int) float64 { return 2e6 / float64(load) }, // flat: saturation at step 2
		ttfb:      func(int) time.Duration { return 10 * time.Millisecond }}
	r := s.run(t)
	// load0, a tor client, burns 95 % of a core from the start; the target
	// 30 %; the machine (2 cores) 60 %.
	for sec := 0; sec <= 30; sec++ {
		at := t0.Add(time.Duration(sec) * time.Second)
		r.Processes = append(r.Processes,
			rundir.ProcessSample{Time: at, Name: "load0", Role: "client", PID: 10, CPUSeconds: 0.95 * float64(sec), RSSBytes: 50 << 20},
			rundir.ProcessSample{Time: at, Name: "rbtarget", Role: "target", PID: 11, CPUSeconds: 0.30 * float64(sec), RSSBytes: 80 << 20},
			rundir.ProcessSample{Time: at, Name: rundir.MachineName, Role: rundir.MachineName, CPUSeconds: 1.2 * float64(sec), Cores: 2},
		)
	}
	a := Analyze(r)
	if a.Onset == nil || a.Onset.Step != 1 || a.Onset.Cause != SignalSaturation || !a.Onset.LoadGeneratorBound {
		t.Fatalf("onset %+v, want saturation at step 2, load-generator bound", a.Onset)
	}
	st := a.Steps[0]
	if len(st.Bottlenecks) != 1 || st.Bottlenecks[0].Kind != BottleneckClient || st.Bottlenecks[0].Name != "load0" || !st.LoadGeneratorBound {
		t.Fatalf("step 1 bottlenecks %+v, want the client load0 only", st.Bottlenecks)
	}
	var target ProcessStep
	for _, p := range st.Processes {
		if p.Role == "target" {
			target = p
		}
	}
	if math.Abs(target.CPU-0.30) > 1e-6 || target.RSSMax != 80<<20 {
		t.Errorf("target %+v, want CPU 0.30 and RSS 80 MiB", target)
	}
	if c := a.Capacity; c == nil || !c.LowerBound || !strings.Contains(strings.Join(c.Reasons, " "), "load0") {
		t.Fatalf("capacity %+v, want a lower bound naming load0", c)
	}
}

var seriesName = regexp.MustCompile(`^scrape-\d+-(\d\d)(\d\d)(\d\d)\.prom$`)

// fixtureMetrics turns a fixture series into metrics.jsonl records of url.
func fixtureMetrics(t *testing.T, series, url string) []metricsport.ScrapeRecord {
	t.Helper()
	dir := filepath.Join(fixtureDir, "series", series)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	var out []metricsport.ScrapeRecord
	for _, e := range entries {
		m := seriesName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := metricsport.ParseScrapeBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, metricsport.ScrapeRecord{URL: url, At: time.Date(2025, 11, 23, h, mi, s, 0, time.UTC), OK: true, Families: sc.Families})
	}
	return out
}

// retime moves a fixture series so that its scrapes are every 2 s from
// t0 - 1 s, whatever their recorded times: the synthetic ramp then always
// has a baseline scrape before its first step and a few in each step.
func retime(recs []metricsport.ScrapeRecord, t0 time.Time) []metricsport.ScrapeRecord {
	for i := range recs {
		recs[i].At = t0.Add(time.Duration(2*i-1) * time.Second)
	}
	return recs
}

// The BandwidthRate series' rate-limit counter rises between its first
// scrape (the baseline) and its second; the RelayBandwidthRate one's never.
func TestAnalyzeRelaySideFromFixtureSeries(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2025, 11, 23, 8, 26, 35, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2, 4, 8},
		perStream: func(load int) float64 { return 0.85e6 / float64(load) },
		ttfb:      func(int) time.Duration { return 50 * time.Millisecond }}

	for _, tc := range []struct {
		series     string
		wantSignal bool
	}{
		{"relay-BandwidthRate-1MB", true},
		{"relay-RelayBandwidthRate-1MB", false},
	} {
		t.Run(tc.series, func(t *testing.T) {
			r := s.run(t)
			r.Info = &rundir.RunInfo{Metrics: []rundir.MetricsEndpoint{{URL: url, Name: "relay", Role: rundir.RoleTarget}}}
			r.Metrics = retime(fixtureMetrics(t, tc.series, url), t0)
			a := Analyze(r)
			first := a.Steps[0]
			if first.Relay == nil || first.Relay.Scrapes != 5 || first.Relay.WrittenBps <= 0 {
				t.Fatalf("step 1 relay side %+v, want rates from 5 scrapes", first.Relay)
			}
			var relaySignals []Signal
			for _, st := range a.Steps {
				for _, sg := range st.Signals {
					if sg.Source == SourceRelay {
						relaySignals = append(relaySignals, sg)
					}
				}
			}
			if !tc.wantSignal {
				if len(relaySignals) != 0 {
					t.Fatalf("relay signals %+v, want none: RelayBandwidthRate does not feed the rate-limit counter", relaySignals)
				}
				return
			}
			if a.Onset == nil || a.Onset.Step != 0 || a.Onset.Cause != string(metricsport.SignalRateLimit) {
				t.Fatalf("onset %+v, want rate-limit at step 1", a.Onset)
			}
			sg := a.Onset.Signals[0]
			if !strings.Contains(sg.Series, "rate_limit_reached_total") || !strings.Contains(sg.Evidence, url) {
				t.Errorf("signal %+v does not name its series and relay", sg)
			}
			if first.Relay.RateLimitRead+first.Relay.RateLimitWrite == 0 {
				t.Errorf("step 1 relay %+v: rate-limit counters did not rise", first.Relay)
			}
			// ~0.85 MB/s on a 1 MiB/s bucket (fixtures README).
			if w := first.Relay.WrittenBps; w < 0.6e6 || w > 1.1e6 {
				t.Errorf("relay wrote %.0f B/s at step 1, want about 0.85e6", w)
			}
			if c := a.Capacity; c == nil || c.Step != 0 || c.RelayWrittenBps != first.Relay.WrittenBps {
				t.Errorf("capacity %+v, want step 1 with the relay's throughput beside it", c)
			}
			tl := a.Timeline
			if tl == nil || len(tl.Steps) != 4 || len(tl.Goodput) != 40 || len(tl.RelayWritten) != 20 || len(tl.RateLimitHits) != 20 {
				t.Fatalf("timeline: %d steps, %d goodput, %d relay points; want 4, 40, 20", len(tl.Steps), len(tl.Goodput), len(tl.RelayWritten))
			}
			// The counter rose between the baseline (t0-1 s) and the next
			// scrape (t0+1 s), in the 2 s warm-up: reported apart. It rose
			// again in the measured window, from the scrape at t0+1 s to
			// the one at t0+3 s, and that is the onset.
			if w := first.WarmupSignals; len(w) != 1 || w[0].Name != string(metricsport.SignalRateLimit) || !w[0].At.Equal(t0.Add(time.Second)) || !strings.Contains(w[0].Evidence, "warm-up") {
				t.Errorf("step 1 warm-up signals %+v, want rate-limit at t0+1s, marked as the warm-up's", w)
			}
			if tl.OnsetAt == nil || *tl.OnsetAt != 3 || tl.RateLimitHits[0].V == 0 {
				t.Errorf("timeline onset at %v, first rate-limit hits %v; want 3 s and > 0", tl.OnsetAt, tl.RateLimitHits[0])
			}
			b, err := json.Marshal(tl.Goodput[:2])
			if err != nil || !regexp.MustCompile(`^\[\[0\.5,\d+(\.\d+)?\],\[1\.5,\d+(\.\d+)?\]\]$`).Match(b) {
				t.Errorf("points in JSON: %s (%v), want [[0.5,v],[1.5,v]]", b, err)
			}
		})
	}
}

func TestAnalyzeMetricsPortUnreachableUnderLoad(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2025, 11, 23, 8, 26, 35, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2},
		perStream: func(load int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 50 * time.Millisecond }}
	r := s.run(t)
	r.Metrics = retime(fixtureMetrics(t, "relay-RelayBandwidthRate-1MB", url), t0)
	// During step 2 the MetricsPort stops answering.
	for _, sec := range []int{11, 13, 15, 17, 19} {
		r.Metrics = append(r.Metrics, metricsport.ScrapeRecord{URL: url, At: t0.Add(time.Duration(sec) * time.Second),
			Kind: metricsport.FailTimeout, Error: "no complete answer within 800ms"})
	}
	a := Analyze(r)
	if a.Onset == nil || a.Onset.Step != 1 || a.Onset.Cause != string(metricsport.SignalMetricsPortUnreachable) {
		t.Fatalf("onset %+v, want metricsport-unreachable at step 2", a.Onset)
	}
	if a.Steps[1].Relay == nil || a.Steps[1].Relay.FailedScrapes == 0 {
		t.Errorf("step 2 relay %+v, want failed scrapes counted", a.Steps[1].Relay)
	}
}

// TestLoadRunDirectory writes a run directory, damages it the way a crash
// does, and checks Load keeps what is there and says what is not.
func TestLoadRunDirectory(t *testing.T) {
	s := synth{t0: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 10 * time.Millisecond }}
	r := s.run(t)
	dir := t.TempDir()
	sc, _ := r.Scenario.Marshal()
	write := func(name string, lines ...any) {
		var b []byte
		for _, l := range lines {
			j, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			b = append(append(b, j...), '\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.ScenarioFile), sc, 0o644); err != nil {
		t.Fatal(err)
	}
	var recs []any
	for _, rec := range r.Records {
		recs = append(recs, rec)
	}
	write(rundir.RequestsFile, recs...)
	// A crash mid-write: the last requests line is cut short.
	f, _ := os.OpenFile(filepath.Join(dir, rundir.RequestsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"rep":0,"step":1,"load":2,"wor`)
	f.Close()
	write(rundir.CircuitsFile, rundir.CircuitRecord{Time: s.t0.Add(3 * time.Second), Client: "load0", Event: rundir.CircuitUsed, ID: "7"},
		rundir.CircuitRecord{Time: s.t0.Add(12 * time.Second), Client: "load0", Event: rundir.CircuitUsed, ID: "8"},
		rundir.CircuitRecord{Time: s.t0.Add(13 * time.Second), Client: "load0", Event: rundir.CircuitBuilt, ID: "9"})

	t.Run("without steps.jsonl", func(t *testing.T) {
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Records) != len(r.Records) {
			t.Fatalf("%d records, want %d (the cut last line dropped)", len(got.Records), len(r.Records))
		}
		if len(got.Steps) != 2 || !strings.Contains(strings.Join(got.Problems, "\n"), "inferred") {
			t.Fatalf("steps %d, problems %q: want 2 inferred steps and a problem saying so", len(got.Steps), got.Problems)
		}
		a := Analyze(got)
		if a.Steps[0].Goodput.Mean < 0.9e6 || a.Steps[0].Goodput.Mean > 1.1e6 {
			t.Errorf("goodput from spread records %.0f, want ~1e6", a.Steps[0].Goodput.Mean)
		}
		if a.Steps[0].Circuits != 1 || a.Steps[1].Circuits != 1 {
			t.Errorf("circuits per step %d, %d; want 1, 1", a.Steps[0].Circuits, a.Steps[1].Circuits)
		}
	})
	t.Run("with steps.jsonl and a damaged processes.jsonl", func(t *testing.T) {
		var steps []any
		for _, st := range r.Steps {
			steps = append(steps, st)
		}
		write(rundir.StepsFile, steps...)
		os.WriteFile(filepath.Join(dir, rundir.ProcessesFile), []byte("{\"t\":\"2026-01-01T10:00:00Z\",\"name\":\"x\"}\nnot json\n{}\n"), 0o644)
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got.Steps, r.Steps, func(a, b rundir.StepSummary) bool { return a.Start.Equal(b.Start) && a.End.Equal(b.End) }) {
			t.Errorf("steps differ from what was written")
		}
		if len(got.Processes) != 2 || !strings.Contains(strings.Join(got.Problems, "\n"), "processes.jsonl: 1 damaged line skipped (line 2: ") {
			t.Errorf("processes %d, problems %q: want the 2 good lines and the damaged one named", len(got.Processes), got.Problems)
		}
		a := Analyze(got)
		if err := WriteSummary(dir, a); err != nil {
			t.Fatal(err)
		}
		back, err := ReadSummary(dir)
		if err != nil {
			t.Fatal(err)
		}
		if back.Version != AnalysisVersion || len(back.Steps) != 2 || back.Steps[1].Goodput != a.Steps[1].Goodput {
			t.Errorf("summary.json round trip lost data: %+v", back.Steps)
		}
	})
	t.Run("not a run directory", func(t *testing.T) {
		_, err := Load(t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "not a relaybench run directory") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestGates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := saturating(t0)
	rate := func(v string) *scenarios.Rate {
		var r scenarios.Rate
		if err := r.UnmarshalText([]byte(v)); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	dur := func(d time.Duration) *scenarios.Duration { x := scenarios.Duration(d); return &x }
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		name   string
		th     scenarios.Thresholds
		failed []string
	}{
		// Capacity is step 3 (3.47 MiB/s; step 4, the onset, failed
		// requests), whose p95 TTFB is 10 ms.
		{"all pass", scenarios.Thresholds{MinCapacity: rate("3MiB/s"), MaxP95TTFB: dur(10 * time.Millisecond), MaxErrorRate: f(0.05), NoOverloadBeforeStep: n(4)}, nil},
		{"capacity and latency", scenarios.Thresholds{MinCapacity: rate("5MiB/s"), MaxP95TTFB: dur(9 * time.Millisecond)}, []string{"min_capacity", "max_p95_ttfb"}},
		{"errors and onset", scenarios.Thresholds{MaxErrorRate: f(0.001), NoOverloadBeforeStep: n(5)}, []string{"max_error_rate", "no_overload_before_step"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.run(t)
			r.Scenario.Thresholds = tc.th
			a := Analyze(r)
			var failed []string
			for _, g := range a.Failed() {
				failed = append(failed, g.Name)
			}
			if !slices.Equal(failed, tc.failed) {
				t.Errorf("failed gates %v, want %v; gates %+v", failed, tc.failed, a.Gates)
			}
			if len(a.Gates) == 0 {
				t.Fatal("no gates evaluated")
			}
			// The synth run has no relay data: its capacity is a lower
			// bound of unknown attribution, and min_capacity says so.
			for _, g := range a.Gates {
				if g.Name == "min_capacity" && !strings.HasSuffix(g.Detail, ", a lower bound (whose limit is unknown): not the relay's own capacity") {
					t.Errorf("min_capacity detail %q does not say the capacity is a lower bound of unknown attribution", g.Detail)
				}
			}
		})
	}
}

// TestSocketsSignalAlreadyHighBeforeTheStep: the relay's sockets were at
// 94% of its limit before the step began (every client connection is
// opened at bootstrap). The signal must still fire in the step, not be
// lost as "the baseline's".
func TestSocketsSignalAlreadyHighBeforeTheStep(t *testing.T) {
	const url = "http://127.0.0.1:9035/metrics"
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := synth{t0: t0, loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 10 * time.Millisecond }}
	r := s.run(t)
	sockets := func(opened float64) []metricsport.Family {
		return []metricsport.Family{{Name: metricsport.FamilySockets, Type: "gauge", Samples: []metricsport.Sample{
			{Name: metricsport.FamilySockets, Labels: map[string]string{"state": "opened"}, Value: opened},
			{Name: metricsport.FamilySockets, Value: 32},
		}}}
	}
	for sec := -2; sec <= 20; sec += 2 {
		r.Metrics = append(r.Metrics, metricsport.ScrapeRecord{URL: url, At: t0.Add(time.Duration(sec)*time.Second + 500*time.Millisecond), OK: true, Families: sockets(30)})
	}
	a := Analyze(r)
	if a.Onset == nil || a.Onset.Step != 0 || a.Onset.Cause != string(metricsport.SignalSockets) {
		t.Fatalf("onset %+v, want sockets at step 1", a.Onset)
	}
	if sg := a.Onset.Signals[0]; sg.Value != 30 || sg.Threshold != 32 || !strings.Contains(sg.Evidence, "socket limit") {
		t.Errorf("signal %+v, want 30 of 32 with evidence", sg)
	}
	if a.Steps[0].Relay == nil || a.Steps[0].Relay.SocketsMax != 30 || a.Steps[0].Relay.SocketLimit != 32 {
		t.Errorf("relay %+v, want sockets 30 of 32", a.Steps[0].Relay)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSummaryJSONGolden pins summary.json, the versioned schema other
// tools read: a field renamed or dropped shows here. Refresh with
// go test ./measure/ -update when the change is intended (and bump
// AnalysisVersion when a field changes meaning or goes away).
func TestSummaryJSONGolden(t *testing.T) {
	r := saturating(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)).run(t)
	r.Scenario.Thresholds.NoOverloadBeforeStep = new(int)
	*r.Scenario.Thresholds.NoOverloadBeforeStep = 4
	dir := t.TempDir()
	if err := WriteSummary(dir, Analyze(r)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "saturating.summary.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("summary.json differs from %s (run with -update if intended)", path)
	}
	var generic map[string]any
	if err := json.Unmarshal(got, &generic); err != nil || generic["version"] != float64(AnalysisVersion) {
		t.Errorf("summary.json version %v (%v), want %d", generic["version"], err, AnalysisVersion)
	}
}

// TestLatencyRulesNeedSamples: 1 MB requests at 1 MB/s give the first step
// 8 samples, whose p95 is their maximum. Latency ten times higher at the
// next step then fires nothing, and the rules say why.
func TestLatencyRulesNeedSamples(t *testing.T) {
	s := synth{t0: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), loads: []int{1, 2},
		perStream: func(int) float64 { return 1e6 },
		ttfb:      func(load int) time.Duration { return time.Duration(load*load*load) * 10 * time.Millisecond }}
	a := Analyze(s.run(t))
	if got := signalNames(a.Steps[1]); slices.Contains(got, SignalTTFB) || slices.Contains(got, SignalConnect) {
		t.Errorf("step 2 signals %v: a latency rule fired on a baseline of %d samples", got, a.Steps[0].TTFB.N)
	}
	if len(a.LatencyRules) != 2 {
		t.Fatalf("latency rules %+v, want connect and ttfb", a.LatencyRules)
	}
	for _, r := range a.LatencyRules {
		if r.BaselineN >= MinLatencySamples || !strings.Contains(r.Insufficient, "insufficient samples") ||
			!strings.Contains(r.Insufficient, fmt.Sprint(r.BaselineN)) {
			t.Errorf("rule %+v: want it to say the baseline's %d samples are too few", r, r.BaselineN)
		}
	}
}

// TestNoHealthyStep: requests fail from the first step on, so no step is
// healthy and there is no capacity to state, only why.
func TestNoHealthyStep(t *testing.T) {
	s := synth{t0: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), loads: []int{1, 2}, size: 2e5,
		perStream: func(int) float64 { return 1e6 }, ttfb: func(int) time.Duration { return 10 * time.Millisecond },
		failEvery: func(int) int { return 5 }}
	a := Analyze(s.run(t))
	if a.Onset == nil || a.Onset.Step != 0 || a.Onset.Cause != SignalErrors {
		t.Fatalf("onset %+v, want errors at step 1", a.Onset)
	}
	if a.Capacity != nil || !strings.Contains(a.NoCapacity, "no healthy step") {
		t.Errorf("capacity %+v (%q), want none, and why", a.Capacity, a.NoCapacity)
	}
}

// TestWaitingRequestsAreLowerBounds: a request cut while still connecting
// adds the time it waited to connect, one cut after its request was
// written adds the time since then to the time to first byte; a failed one
// adds neither (the errors rule counts it).
func TestWaitingRequestsAreLowerBounds(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	for _, tc := range []struct {
		name          string
		rec           rundir.Record
		connect, ttfb float64
	}{
		{"done", rundir.Record{ConnectNS: ms(300), WroteNS: ms(301), TTFBNS: ms(401), TTLBNS: ms(900)}, 0.3, 0.1},
		{"cut while connecting", rundir.Record{Error: rundir.ClassStepEnd, TTLBNS: ms(2000)}, 2, 0},
		{"cut waiting for the first byte", rundir.Record{Error: rundir.ClassStepEnd, ConnectNS: ms(300), WroteNS: ms(301), TTLBNS: ms(2001)}, 0.3, 1.7},
		{"old record cut waiting", rundir.Record{Error: rundir.ClassStepEnd, ConnectNS: ms(300), TTLBNS: ms(2000)}, 0.3, 1.7},
		{"timed out connecting", rundir.Record{Error: rundir.ClassTimeout, TTLBNS: ms(2000)}, 0, 0},
		{"stalled after the first byte", rundir.Record{Error: rundir.ClassStall, ConnectNS: ms(300), WroteNS: ms(301), TTFBNS: ms(351), TTLBNS: ms(9000)}, 0.3, 0.05},
	} {
		l := requestLatencies(tc.rec)
		if math.Abs(l.connect-tc.connect) > 1e-9 || math.Abs(l.ttfb-tc.ttfb) > 1e-9 {
			t.Errorf("%s: connect %v, ttfb %v; want %v, %v", tc.name, l.connect, l.ttfb, tc.connect, tc.ttfb)
		}
		// Measured when the connect completed or the first byte came, or
		// at the cut for a wait the step's end cut short.
		if l.connect > 0 && !l.connectAt.Equal(tc.rec.Start.Add(time.Duration(l.connect*1e9))) && !l.connectAt.Equal(tc.rec.End()) {
			t.Errorf("%s: connect measured at %v", tc.name, l.connectAt)
		}
	}
}
