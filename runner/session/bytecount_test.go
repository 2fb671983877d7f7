package session

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// ioSample is one reading of /proc/PID/io.
type ioSample struct {
	at    time.Time
	wchar float64 // bytes the process passed to write(2) and friends
}

// ioPoller reads a process's /proc/PID/io every interval until stopped:
// the kernel's count of the bytes the process wrote, which knows nothing
// of tor's MetricsPort. tor writes its TLS connections through OpenSSL's
// socket BIO, write(2), which wchar counts.
type ioPoller struct {
	mu      sync.Mutex
	samples []ioSample
	err     error
	stop    chan struct{}
	done    chan struct{}
}

func startIOPoller(pid int, interval time.Duration) *ioPoller {
	p := &ioPoller{stop: make(chan struct{}), done: make(chan struct{})}
	path := filepath.Join("/proc", strconv.Itoa(pid), "io")
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			data, err := os.ReadFile(path)
			at := time.Now()
			p.mu.Lock()
			if err != nil {
				p.err = err
				p.mu.Unlock()
				return
			}
			if w, ok := ioField(data, "wchar"); ok {
				p.samples = append(p.samples, ioSample{at: at, wchar: w})
			} else if p.err == nil {
				p.err = fmt.Errorf("%s has no wchar line:\n%s", path, data)
			}
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// Stop ends the polling and returns the samples.
func (p *ioPoller) Stop() ([]ioSample, error) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.samples, p.err
}

func ioField(data []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(name+":")); ok {
			n, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			return n, err == nil
		}
	}
	return 0, false
}

// at interpolates the count linearly between the samples around t; false
// when t is outside the samples.
func countAt(samples []ioSample, t time.Time) (float64, bool) {
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if t.Before(a.at) || t.After(b.at) {
			continue
		}
		span := b.at.Sub(a.at).Seconds()
		if span <= 0 {
			return a.wchar, true
		}
		return a.wchar + (b.wchar-a.wchar)*t.Sub(a.at).Seconds()/span, true
	}
	return 0, false
}

// targetPIDIn finds the target's PID in the one run directory under out,
// from the network.json the run's network wrote when it was up.
func targetPIDIn(out string) (int, error) {
	dirs, err := filepath.Glob(filepath.Join(out, "*", "testnet"))
	if err != nil || len(dirs) != 1 {
		return 0, fmt.Errorf("want one run's testnet directory under %s, found %v (%v)", out, dirs, err)
	}
	d, err := chutney.ReadDescription(dirs[0])
	if err != nil {
		return 0, err
	}
	if n := d.Node(chutney.RoleTarget); n != nil && n.PID > 0 {
		return n.PID, nil
	}
	return 0, fmt.Errorf("%s names no running target", dirs[0])
}

// testSeed is RELAYBENCH_TEST_SEED when set (to replay a failure), else
// the clock; the test logs it.
func testSeed(t *testing.T) uint64 {
	if v := os.Getenv("RELAYBENCH_TEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RELAYBENCH_TEST_SEED=%q: %v", v, err)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestRelayWrittenAgreesWithTheTargetsWrites checks the relay-side rate
// summary.json reports against a count that shares nothing with it: the
// kernel's wchar of the target process (/proc/PID/io), polled by the test
// every 100 ms, over the measured windows of two steps as steps.jsonl
// records them.
// The target runs at a BandwidthRate drawn at random (1 to 4 MiB/s, seed
// logged; RELAYBENCH_TEST_SEED replays it), so neither number can be right
// by knowing the rate in advance. They must agree within 5 %, and both must
// stay under the drawn rate, the same at both steps (the limit bound, so
// the flow in the window was steady).
func TestRelayWrittenAgreesWithTheTargetsWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	seed := testSeed(t)
	rate := 1<<20 + rand.New(rand.NewPCG(seed, 0)).Int64N(3<<20)
	t.Logf("seed %d (RELAYBENCH_TEST_SEED replays it): BandwidthRate %d bytes (%.2f MiB/s)", seed, rate, float64(rate)/(1<<20))

	// The third step only keeps the target running past the second's end:
	// the run stops it within milliseconds of its last step, before the
	// poller's next read.
	sc := shortScenario(t, "local", 2, 4, 6)
	sc.Name = "bytecount"
	sc.Ramp.StepDuration = scenarios.Duration(10 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(3 * time.Second)
	sc.Payload.Size = 1 << 20
	fitTimeouts(sc)
	limit := fmt.Sprintf("%d bytes", rate)
	sc.Target.Testnet.Torrc = map[string]string{"BandwidthRate": limit, "BandwidthBurst": limit}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	var (
		poller  *ioPoller
		pollErr error
	)
	opts.OnClients = func([]*chutney.Client) {
		pid, err := targetPIDIn(opts.OutDir)
		if err != nil {
			pollErr = err
			return
		}
		poller = startIOPoller(pid, 100*time.Millisecond)
	}
	res, err := Run(context.Background(), sc, opts)
	var samples []ioSample
	if poller != nil {
		samples, pollErr = poller.Stop()
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if pollErr != nil && len(samples) == 0 {
		t.Fatalf("polling the target's /proc/PID/io: %v", pollErr)
	}

	sum, err := measure.ReadSummary(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	windows, err := rundir.ReadFile[rundir.StepSummary](res.Dir, rundir.StepsFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(windows.Records) != len(sum.Steps) || len(sum.Steps) != 3 {
		t.Fatalf("%d windows in steps.jsonl, %d steps in summary.json; want 3", len(windows.Records), len(sum.Steps))
	}
	var rates []float64
	for i, w := range windows.Records[:2] {
		st := sum.Steps[i]
		if st.Relay == nil || st.Relay.WrittenBps <= 0 {
			t.Errorf("step %d: no relay-side written rate in summary.json: %+v", i+1, st.Relay)
			continue
		}
		from, to := w.WarmupEnd, w.End
		a, okA := countAt(samples, from)
		b, okB := countAt(samples, to)
		if !okA || !okB {
			t.Errorf("step %d: the /proc samples (%d) do not cover its window %s–%s", i+1, len(samples), from.Format(time.StampMilli), to.Format(time.StampMilli))
			continue
		}
		wrote := (b - a) / to.Sub(from).Seconds()
		ratio := st.Relay.WrittenBps / wrote
		t.Logf("step %d (%d streams), window %s: summary.json relay written %.3f MiB/s, the target's wchar %.3f MiB/s (ratio %.4f), BandwidthRate %.3f MiB/s, goodput %.3f MiB/s",
			i+1, st.Load, to.Sub(from).Round(time.Millisecond), st.Relay.WrittenBps/(1<<20), wrote/(1<<20), ratio, float64(rate)/(1<<20), st.Goodput.Mean/(1<<20))
		if math.Abs(ratio-1) > 0.05 {
			t.Errorf("step %d: relay written %.0f B/s and the target's wchar %.0f B/s differ by %+.1f%% (limit 5%%)", i+1, st.Relay.WrittenBps, wrote, (ratio-1)*100)
		}
		// The drawn rate caps what the target writes (tor keeps it somewhat
		// below: 79-81 % in our runs), so neither count can be right by
		// knowing it, and the flow is steady, which leaves the window's
		// edges nothing to cut differently.
		if r := wrote / float64(rate); r < 0.5 || r > 1.05 {
			t.Errorf("step %d: the target wrote %.0f B/s, %.0f%% of its BandwidthRate %d: the rate limit did not bind", i+1, wrote, r*100, rate)
		}
		rates = append(rates, wrote)
	}
	if len(rates) == 2 && math.Abs(rates[1]/rates[0]-1) > 0.10 {
		t.Errorf("the target wrote %.0f B/s at 2 streams and %.0f B/s at 4: the rate limit should hold both at the same rate", rates[0], rates[1])
	}
}
