package metricsport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lineWriter records every Write and Flush so tests can check that each
// record arrives as one complete, flushed line.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	flushes int
	partial int // writes that were not exactly one line
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if bytes.Count(p, []byte("\n")) != 1 || p[len(p)-1] != '\n' {
		w.partial++
	}
	return w.buf.Write(p)
}

func (w *lineWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
	return nil
}

func (w *lineWriter) records(t *testing.T) []ScrapeRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	recs, err := readMetricsLog(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatalf("read back the sampler's log: %v", err)
	}
	return recs
}

// closedPortURL returns a 127.0.0.1 URL nobody listens on.
func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/metrics"
}

func TestSamplerRecordsEveryOutcome(t *testing.T) {
	fixture := readFixture(t, "relay-bwrate-limited.prom")
	serve := func(h http.HandlerFunc) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL + "/metrics"
	}
	good := serve(func(w http.ResponseWriter, r *http.Request) { w.Write(fixture) })
	garbage := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><body>not metrics</body></html>\n"))
	})
	status500 := serve(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "tor is sad", http.StatusInternalServerError)
	})
	hang := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Write(fixture[:100]) // a head, then nothing: like a MetricsPort at fd exhaustion
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	closed := closedPortURL(t)
	// The relay restarts after its second scrape: counters drop.
	var resetN atomic.Int32
	restarted := bytes.Replace(fixture, []byte(`tor_relay_traffic_bytes{direction="written"} 30191596`), []byte(`tor_relay_traffic_bytes{direction="written"} 1000`), 1)
	reset := serve(func(w http.ResponseWriter, r *http.Request) {
		if resetN.Add(1) <= 2 {
			w.Write(fixture)
		} else {
			w.Write(restarted)
		}
	})

	out := &lineWriter{}
	s := &Sampler{
		URLs: []string{good, garbage, status500, hang, closed, reset},
		// Generous for a loopback server: CI machines here run at load
		// average ~9 on 2 cores, where 150 ms already timed out healthy
		// servers.
		Interval: 500 * time.Millisecond,
		Timeout:  400 * time.Millisecond,
		Out:      out,
	}
	const window = 2600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	start := time.Now()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > window+s.Timeout+time.Second {
		t.Errorf("Run took %v after a %v context; it must stop within Timeout of cancellation", took, window)
	}

	recs := out.records(t)
	byURL := map[string][]ScrapeRecord{}
	for _, r := range recs {
		byURL[r.URL] = append(byURL[r.URL], r)
	}
	if out.partial != 0 || out.writes != len(recs) || out.flushes != len(recs) {
		t.Errorf("%d writes, %d flushes, %d partial, for %d records; want one flushed line per record", out.writes, out.flushes, out.partial, len(recs))
	}
	want := []struct {
		url    string
		ok     bool
		kind   FailureKind
		status int
		text   string // in err or body_head
	}{
		{good, true, "", 200, ""},
		{garbage, false, FailParse, 200, "not metrics"},
		{status500, false, FailHTTPStatus, 500, "tor is sad"},
		{hang, false, FailTimeout, 200, "400ms"},
		{closed, false, FailConnect, 0, "refused"},
		{reset, true, "", 200, ""},
	}
	for _, w := range want {
		rs := byURL[w.url]
		// 2.6 s at 500 ms: a scrape at 0 and 5 more (fewer if the
		// machine is so loaded that ticks are dropped).
		if len(rs) < 3 || len(rs) > 7 {
			t.Errorf("%s: %d records, want 3-7 in 2.6 s at 500 ms", w.url, len(rs))
		}
		for _, r := range rs {
			if r.OK != w.ok || r.Kind != w.kind || r.HTTPStatus != w.status {
				t.Errorf("%s: ok=%v kind=%q status=%d err=%q, want ok=%v kind=%q status=%d", w.url, r.OK, r.Kind, r.HTTPStatus, r.Error, w.ok, w.kind, w.status)
			}
			if w.ok && (len(r.Families) != 24 || r.Error != "") {
				t.Errorf("%s: ok record with %d families, err %q", w.url, len(r.Families), r.Error)
			}
			if !w.ok && !strings.Contains(r.Error+r.BodyHead, w.text) {
				t.Errorf("%s: err %q body %q, want it to mention %q", w.url, r.Error, r.BodyHead, w.text)
			}
			if r.At.IsZero() || r.DurationMS <= 0 {
				t.Errorf("%s: record lacks time or duration: %+v", w.url, r)
			}
			if w.kind == FailTimeout && (r.DurationMS < 390 || r.DurationMS > 1400) {
				t.Errorf("%s: timed-out scrape took %.0f ms, want about the 400 ms timeout", w.url, r.DurationMS)
			}
		}
	}
	// The restart shows up in the rates as a reset interval, not a crash or a
	// negative rate.
	rates := RateSeries(Snapshots(recs, reset))
	var resets int
	for _, r := range rates {
		if r.Reset {
			resets++
			if r.Increase.TrafficWrittenBytes != 1000 {
				t.Errorf("reset interval increase %v, want 1000 (the new value)", r.Increase.TrafficWrittenBytes)
			}
		}
		if r.PerSecond.TrafficWrittenBytes < 0 {
			t.Errorf("negative rate %v", r.PerSecond.TrafficWrittenBytes)
		}
	}
	if resets != 1 {
		t.Errorf("%d reset intervals in %d, want exactly 1", resets, len(rates))
	}
	// Unreachable under load: the hang and the closed port both qualify.
	for _, u := range []string{hang, closed} {
		sigs := DetectOnsets(Observations(recs, u, func(time.Time) bool { return true }), SignalConfig{})
		if len(sigs) != 1 || sigs[0].Name != SignalMetricsPortUnreachable {
			t.Errorf("%s: signals %v, want metricsport-unreachable", u, names(sigs))
		}
	}
}

func TestSamplerKeepFamily(t *testing.T) {
	fixture := readFixture(t, "relay-idle.prom")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(fixture) }))
	defer srv.Close()
	out := &lineWriter{}
	s := &Sampler{URLs: []string{srv.URL}, Interval: 300 * time.Millisecond, Out: out,
		KeepFamily: func(n string) bool { return strings.HasPrefix(n, "tor_relay_load_") }}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	recs := out.records(t)
	if len(recs) < 2 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		if !r.OK || len(r.Families) != 5 {
			t.Errorf("ok=%v with %d families, want the 5 tor_relay_load_* families", r.OK, len(r.Families))
		}
	}
}

func TestSamplerRejectsBadConfig(t *testing.T) {
	out := &lineWriter{}
	u := "http://127.0.0.1:1/metrics"
	for name, s := range map[string]*Sampler{
		"no urls":           {Out: out},
		"no out":            {URLs: []string{u}},
		"bad url":           {URLs: []string{"127.0.0.1:9035"}, Out: out},
		"interval too fast": {URLs: []string{u}, Out: out, Interval: 50 * time.Millisecond},
		"timeout >= int":    {URLs: []string{u}, Out: out, Interval: time.Second, Timeout: time.Second},
		"negative timeout":  {URLs: []string{u}, Out: out, Timeout: -time.Second},
	} {
		if err := s.Run(context.Background()); err == nil {
			t.Errorf("%s: Run accepted the config", name)
		}
	}
	if out.writes != 0 {
		t.Errorf("a rejected config wrote %d lines", out.writes)
	}
}

type failingWriter struct{ n atomic.Int32 }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n.Add(1) > 2 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestSamplerStopsWhenTheLogCannotBeWritten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := (&Sampler{URLs: []string{srv.URL}, Interval: 100 * time.Millisecond, Out: &failingWriter{}}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Run = %v, want the write error", err)
	}
	if ctx.Err() != nil {
		t.Error("Run kept going until the context ended; it must stop at the first write error")
	}
}

// TestSamplerStampsAtTheResponse: a MetricsPort that takes 200 ms to
// answer read its counters about 200 ms after the scrape began. The record
// says when the response came, places the values at the midpoint, and
// marks the scrape slow (more than half the 300 ms interval).
func TestSamplerStampsAtTheResponse(t *testing.T) {
	fixture := readFixture(t, "relay-idle.prom")
	var delay atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		w.Write(fixture)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		delay time.Duration
		slow  bool
	}{{0, false}, {200 * time.Millisecond, true}} {
		delay.Store(int64(tc.delay))
		out := &lineWriter{}
		s := &Sampler{URLs: []string{srv.URL}, Interval: 300 * time.Millisecond, Timeout: 250 * time.Millisecond, Out: out}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		if err := s.Run(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		recs := out.records(t)
		if len(recs) != 1 || !recs[0].OK {
			t.Fatalf("delay %v: records %+v, want one successful scrape", tc.delay, recs)
		}
		r := recs[0]
		resp := time.Duration(r.ResponseMS * float64(time.Millisecond))
		if resp < tc.delay || r.DurationMS < r.ResponseMS || r.Slow != tc.slow {
			t.Errorf("delay %v: resp_ms %v, dur_ms %v, slow %v; want the response after the delay and slow %v", tc.delay, r.ResponseMS, r.DurationMS, r.Slow, tc.slow)
		}
		if got, want := r.Stamp().Sub(r.At), resp/2; (got - want).Abs() > time.Microsecond {
			t.Errorf("delay %v: stamped %v after the start, want %v (half the time to the response)", tc.delay, got, want)
		}
		if obs := Observations(recs, "", nil); !obs[0].At.Equal(r.Stamp()) || obs[0].Slow != tc.slow || !obs[0].Snapshot.At.Equal(r.Stamp()) {
			t.Errorf("delay %v: observation at %v (slow %v), want the stamp %v", tc.delay, obs[0].At, obs[0].Slow, r.Stamp())
		}
	}
}
