package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// fakeScenario is a socks-target scenario through fake SocksPorts and a
// fake MetricsPort (runner/testkit), tor-free: steps of 3 s after a 1 s
// warm-up, 256 KiB objects at 1 MiB/s a stream, sampling every 200 ms.
func fakeScenario(t *testing.T, steps ...int) (*scenarios.Scenario, []*testkit.SOCKSServer, *testkit.MetricsPort) {
	t.Helper()
	var socks []*testkit.SOCKSServer
	var addrs []string
	for range 2 {
		s := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{Rate: 1 << 20, ReplyDelay: 20 * time.Millisecond}))
		socks = append(socks, s)
		addrs = append(addrs, s.Addr())
	}
	mp := testkit.StartMetricsPort(t)
	mp.FollowSOCKS(socks...)
	sc := shortScenario(t, "local", steps...)
	sc.Ramp.StepDuration = scenarios.Duration(3 * time.Second)
	sc.Payload.Size = 256 << 10
	sc.Sampling.Interval = scenarios.Duration(200 * time.Millisecond)
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: addrs, MetricsURLs: []string{mp.URL()}}}
	sc.Clients = 0
	return sc, socks, mp
}

// diskFull fails every write after the first limit bytes, as a full disk
// does, and notes when it first failed.
type diskFull struct {
	w     io.Writer
	limit int
	mu    sync.Mutex
	n     int
	at    time.Time
}

func (d *diskFull) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n+len(p) > d.limit {
		if d.at.IsZero() {
			d.at = time.Now()
		}
		return 0, &os.PathError{Op: "write", Path: "raw", Err: syscall.ENOSPC}
	}
	d.n += len(p)
	return d.w.Write(p)
}

func (d *diskFull) failedAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at
}

// TestRunStopsWhenARawFileCannotBeWritten: the first record that does not
// reach its raw file stops the run at once, whichever file it is: the
// error names the file and what to check, run.json says stopped_by
// write-failed, what was written is kept, no temporary file is left, and
// the analysis of what is there judges no gate.
func TestRunStopsWhenARawFileCannotBeWritten(t *testing.T) {
	for _, tc := range []struct {
		file  string
		limit int
	}{
		{rundir.RequestsFile, 2 << 10},
		{rundir.StepsFile, 0}, // the first step's line
		{rundir.MetricsFile, 60 << 10},
		{rundir.ProcessesFile, 4 << 10},
	} {
		t.Run(tc.file, func(t *testing.T) {
			sc, _, _ := fakeScenario(t, 1, 2, 2, 2)
			opts := testOptions(t)
			full := &diskFull{limit: tc.limit}
			opts.WrapRaw = func(name string, w io.Writer) io.Writer {
				if name != tc.file {
					return w
				}
				full.w = w
				return full
			}
			start := time.Now()
			res, err := Run(context.Background(), sc, opts)
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			path := filepath.Join(res.Dir, tc.file)
			if !errors.Is(err, rundir.ErrWrite) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "df -h "+res.Dir) {
				t.Fatalf("err %v; want a write error naming %s and the file system to check", err, path)
			}
			failed := full.failedAt()
			if n := len(res.Reps); n == 0 || res.Reps[n-1].End.Sub(failed) > 2*time.Second {
				t.Errorf("the run went on after %s could not be written (failed %v after the start)", tc.file, failed.Sub(start).Round(time.Millisecond))
			}
			if planned := 12 * time.Second; time.Since(start) > planned {
				t.Errorf("the run took %v, its whole ramp", time.Since(start))
			}
			info, rerr := rundir.ReadRunInfo(res.Dir)
			if rerr != nil || info.StoppedBy != "write-failed" || !strings.Contains(info.Error, tc.file) {
				t.Errorf("run.json: %+v, %v; want stopped by write-failed and the error", info, rerr)
			}
			if st, err := os.Stat(filepath.Join(res.Dir, rundir.RequestsFile)); err != nil || st.Size() == 0 {
				t.Errorf("requests.jsonl lost what was written before the failure: %v", err)
			}
			for _, e := range must(os.ReadDir(res.Dir)) {
				if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
			if a := res.Analysis; a == nil || len(a.Unjudged()) == 0 {
				t.Errorf("the analysis of a run stopped by a write error judges its gates: %+v", a)
			} else {
				t.Logf("not judged: %s", strings.Join(a.Unjudged(), "; "))
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMetricsPortThatNeverAnswers: a MetricsPort that does not answer
// before the load is a configuration error naming the URL, the scenario
// field and what to check; nothing is loaded.
func TestMetricsPortThatNeverAnswers(t *testing.T) {
	defer func(d time.Duration) { metricsProbeFor = d }(metricsProbeFor)
	metricsProbeFor = time.Second
	for _, tc := range []struct {
		name    string
		failure testkit.MetricsFailure
		field   string
		want    string
	}{
		{"connection refused", testkit.MetricsRefuse, "target.socks.metrics_urls", "connection refused"},
		{"policy rejects", testkit.MetricsHangUp, "sampling.metrics_urls", "MetricsPortPolicy"},
		{"HTTP 500", testkit.MetricsStatus500, "target.socks.metrics_urls", "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, socks, mp := fakeScenario(t, 1)
			if err := mp.SetFailure(tc.failure); err != nil {
				t.Fatal(err)
			}
			if tc.field == "sampling.metrics_urls" {
				sc.Sampling.MetricsURLs, sc.Target.Socks.MetricsURLs = sc.Target.Socks.MetricsURLs, nil
			}
			res, err := Run(context.Background(), sc, testOptions(t))
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), mp.URL()) || !strings.Contains(err.Error(), tc.field) ||
				!strings.Contains(err.Error(), "before the load started") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want a ConfigError naming %s, %s and saying %q", err, mp.URL(), tc.field, tc.want)
			}
			if _, err := os.Stat(filepath.Join(res.Dir, rundir.RequestsFile)); err == nil {
				t.Error("requests.jsonl was created: the load started")
			}
			for _, s := range socks {
				if n := s.Stats().Streams; n > 0 {
					t.Errorf("a fake SocksPort saw %d streams", n)
				}
			}
		})
	}
}

// TestScrapeWarnings: a MetricsPort that stops answering during the run
// is warned about at once and counted, and the warning reaches run.json
// and summary.json.
func TestScrapeWarnings(t *testing.T) {
	sc, _, mp := fakeScenario(t, 1, 2)
	opts := testOptions(t)
	var progress bytes.Buffer
	var mu sync.Mutex
	opts.Progress = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return progress.Write(p) })
	opts.OnClients = func([]*chutney.Client) {
		time.AfterFunc(2*time.Second, func() { mp.SetFailure(testkit.MetricsStatus500) })
	}
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	info := must(rundir.ReadRunInfo(res.Dir))
	first := fmt.Sprintf("MetricsPort %s: a scrape failed (http-status): HTTP 500", mp.URL())
	total := fmt.Sprintf("MetricsPort %s: ", mp.URL())
	has := func(ws []string, s string) bool {
		return slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, s) })
	}
	if !has(info.Warnings, first) || !has(info.Warnings, "scrapes failed") || !has(info.Warnings, total) {
		t.Errorf("run.json warnings %q: want the first failed scrape and their count", info.Warnings)
	}
	if res.Analysis == nil || !slices.Equal(res.Analysis.Warnings, info.Warnings) {
		t.Errorf("summary.json warnings differ from run.json's: %q", res.Analysis.Warnings)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(progress.String(), "a scrape failed"); n != 1 {
		t.Errorf("the failed scrape was said %d times, want once:\n%s", n, progress.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestServerErrorsAreCountedNotRepeated: relaybench's payload server out
// of file descriptors logs an Accept error every few milliseconds; the run
// says it once, with what it means, and counts the rest.
func TestServerErrorsAreCountedNotRepeated(t *testing.T) {
	var progress bytes.Buffer
	var saved []string
	w := newRunWarnings(&progress, []string{"earlier"}, func(ws []string) { saved = ws })
	log := w.serverErrors()
	for range 105 {
		log("http: Accept error: accept tcp 127.0.0.1:41000: accept4: too many open files; retrying in 5ms")
	}
	log("http: TLS handshake error from 127.0.0.1:1: EOF")
	final := w.final()
	if n := strings.Count(progress.String(), "warning: "); n != 2 {
		t.Errorf("%d warnings said, want 2 (one per kind):\n%s", n, progress.String())
	}
	if !strings.Contains(progress.String(), "relaybench ran out of file descriptors") || !strings.Contains(progress.String(), "ulimit -n") {
		t.Errorf("the fd exhaustion warning does not say what it is and what to do:\n%s", progress.String())
	}
	want := "relaybench's payload server could not accept a connection 105 times for want of file descriptors"
	if len(final) != 4 || final[0] != "earlier" || final[3] != want {
		t.Errorf("final warnings %q; want the earlier one, the two first ones and %q", final, want)
	}
	if len(saved) != 3 {
		t.Errorf("run.json was last saved with %q, want the earlier warning and one per kind", saved)
	}
	log("after the end")
	if len(w.final()) != 4 {
		t.Error("a warning after final was recorded")
	}
}

// TestOpenFilesLimit: a scenario whose streams relaybench's open-files
// limit cannot hold is refused before anything starts, saying what to
// set; one within it is not.
func TestOpenFilesLimit(t *testing.T) {
	bulk := func(streams int) *scenarios.Scenario {
		sc := shortScenario(t, "local", 1, streams)
		sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: []string{"127.0.0.1:9050"}}}
		sc.Clients = 0
		return sc
	}
	churn := shortScenario(t, "local-churn", 2, 10)
	churn.Workload.Timeout = scenarios.Duration(30 * time.Second)
	external := bulk(100)
	external.Payload.URL = "http://127.0.0.1:8080/x"
	for _, tc := range []struct {
		name string
		sc   *scenarios.Scenario
		soft uint64
		need int // 0: accepted
	}{
		{"bulk within", bulk(100), 1024, 0},
		{"bulk beyond", bulk(500), 1024, 500*2 + 64},
		{"bulk at the edge", bulk(100), 100*2 + 64, 0},
		{"bulk one short", bulk(100), 100*2 + 63, 100*2 + 64},
		{"payload elsewhere: one per stream", external, 160, 100 + 64},
		{"churn: requests open within the timeout", churn, 256, 10*30*2 + 64 + 5*4 + 2*4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := openFilesError(tc.sc, tc.soft, 4096)
			if tc.need == 0 {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), fmt.Sprintf("needs about %d open files", tc.need)) ||
				!strings.Contains(err.Error(), fmt.Sprintf("`ulimit -n %d`", tc.need)) || !strings.Contains(err.Error(), fmt.Sprintf("limit is %d (hard limit 4096)", tc.soft)) {
				t.Errorf("err %v; want a ConfigError saying %d files are needed and what to set", err, tc.need)
			}
		})
	}
}
