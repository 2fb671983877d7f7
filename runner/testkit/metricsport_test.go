package testkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/testkit"
)

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

// scrape gets the port's body and parses it the way relaybench does.
func scrape(t *testing.T, url string) metricsport.RelaySnapshot {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %s, %v", resp.Status, err)
	}
	sc, err := metricsport.ParseScrapeBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	return metricsport.NewRelaySnapshot(sc, time.Now())
}

// TestMetricsPortServesTorsShape: untouched, the fake serves the real scrape
// it embeds, every family and value (the file is that scrape's copy).
func TestMetricsPortServesTorsShape(t *testing.T) {
	m := testkit.StartMetricsPort(t)
	real, err := os.ReadFile("testdata/relay-idle.prom")
	if err != nil {
		t.Fatal(err)
	}
	want, err := metricsport.ParseScrapeBytes(real)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(m.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got, err := metricsport.ParseScrapeBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Families) != len(want.Families) || got.SampleCount() != want.SampleCount() || len(want.Families) < 20 {
		t.Fatalf("%d families, %d samples; the real scrape has %d, %d", len(got.Families), got.SampleCount(), len(want.Families), want.SampleCount())
	}
	for i, f := range want.Families {
		g := got.Families[i]
		if g.Name != f.Name || g.Type != f.Type || g.Help != f.Help || len(g.Samples) != len(f.Samples) {
			t.Errorf("family %s %s: got %s %s with %d samples, want %d", f.Name, f.Type, g.Name, g.Type, len(g.Samples), len(f.Samples))
		}
	}
	if snap := metricsport.NewRelaySnapshot(got, time.Now()); len(snap.Missing) != 0 || snap.Counters.TrafficWrittenBytes != 3932034 || snap.Gauges.SocketLimit != 19968 {
		t.Errorf("snapshot %+v: want every mapped family and the real values", snap)
	}
	if strings.Contains(string(body), "# EOF") || m.Scrapes() != 1 || m.Requests() != 1 {
		t.Errorf("scrapes %d, requests %d, body ends %q", m.Scrapes(), m.Requests(), body[max(len(body)-40, 0):])
	}
}

func TestMetricsPortCountersAdvance(t *testing.T) {
	m := testkit.StartMetricsPort(t)
	before := scrape(t, m.URL())
	m.AddTraffic(1000, 2000)
	m.AddRateLimitReached(3, 4)
	m.Update(func(s *testkit.RelayState) {
		s.CircuitsOpened = 7
		s.OnionskinsDropped += 5
		s.OOMBytes += 6
		s.TCPExhaustion += 8
		s.SocketsOpened = 9
		s.SocketLimit = 10
		s.DoS["circuit_rejected"] += 11
	})
	after := scrape(t, m.URL())
	inc, gauges := after.Counters, after.Gauges
	for name, c := range map[string][2]float64{
		"traffic read":    {inc.TrafficReadBytes - before.Counters.TrafficReadBytes, 1000},
		"traffic written": {inc.TrafficWrittenBytes - before.Counters.TrafficWrittenBytes, 2000},
		"rate limit read": {inc.RateLimitReachedRead, 3},
		"rate limit wr":   {inc.RateLimitReachedWrite, 4},
		"onions dropped":  {inc.OnionskinsDropped["ntor_v3"], 5},
		"oom cell":        {inc.OOMBytes["cell"], 6},
		"tcp exhaustion":  {inc.TCPExhaustion, 8},
		"dos":             {inc.DoS["circuit_rejected"], 11},
		"circuits":        {gauges.CircuitsOpened, 7},
		"sockets":         {gauges.SocketsOpened, 9},
		"socket limit":    {gauges.SocketLimit, 10},
	} {
		if c[0] != c[1] {
			t.Errorf("%s: %v, want %v", name, c[0], c[1])
		}
	}
	// With MetricsPort signals: the rate limit fires between the scrapes.
	obs := []metricsport.Observation{
		{At: before.At, Snapshot: &before, UnderLoad: true},
		{At: before.At.Add(time.Second), Snapshot: &after, UnderLoad: true},
	}
	var names []string
	for _, s := range metricsport.DetectOnsets(obs, metricsport.SignalConfig{}) {
		names = append(names, string(s.Name))
	}
	if !strings.Contains(strings.Join(names, " "), "rate-limit") {
		t.Errorf("signals %v, want rate-limit among them", names)
	}
}

func TestMetricsPortFollowsSOCKS(t *testing.T) {
	const size = 200_000
	src := startSource(t, size)
	srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{StallAfterBytes: size / 2}))
	m := testkit.StartMetricsPort(t)
	m.FollowSOCKS(srv)
	before := m.State()
	c, err := dial(t, srv, src.addr(), someAuth)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, size/2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return srv.Stats().Stalled == 1 })
	after := scrape(t, m.URL())
	if d := after.Counters.TrafficWrittenBytes - before.TrafficWritten; d != size/2 {
		t.Errorf("relay wrote %v more bytes, want the %d forwarded", d, size/2)
	}
	if d := after.Counters.TrafficReadBytes - before.TrafficRead; d != size/2 {
		t.Errorf("relay read %v more bytes, want the %d forwarded", d, size/2)
	}
	if d := after.Gauges.CircuitsOpened - before.CircuitsOpened; d != 1 {
		t.Errorf("open circuits rose by %v, want 1 for the open stream", d)
	}
	if d := after.Counters.OnionskinsProcessed["ntor_v3"] - before.OnionskinsProcessed; d != 1 {
		t.Errorf("onionskins processed rose by %v, want 1", d)
	}
}

func TestMetricsPortFailures(t *testing.T) {
	m := testkit.StartMetricsPort(t)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	get := func() (int, error) {
		resp, err := client.Get(m.URL())
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(); code != 200 || err != nil {
		t.Fatalf("healthy: %d, %v", code, err)
	}
	m.SetFailure(testkit.MetricsRefuse)
	if _, err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("refusing: %v, want connection refused", err)
	}
	m.SetFailure(testkit.MetricsHangUp)
	if _, err := get(); err == nil || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("hanging up: %v, want EOF", err)
	}
	m.SetFailure(testkit.MetricsStatus500)
	if code, err := get(); code != 500 || err != nil {
		t.Errorf("status 500: %d, %v", code, err)
	}
	m.SetFailure(testkit.MetricsHealthy)
	m.SetDelay(time.Second)
	var ne net.Error
	if _, err := get(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("slow: %v, want a client timeout", err)
	}
	m.SetDelay(0)
	if code, err := get(); code != 200 || err != nil {
		t.Errorf("healthy again: %d, %v", code, err)
	}
	if m.Scrapes() != 2 || m.Requests() != 5 {
		t.Errorf("%d scrapes of %d requests, want 2 of 5 (the refused one never arrived)", m.Scrapes(), m.Requests())
	}
	start := time.Now()
	m.SetDelay(time.Hour)
	go get()
	waitFor(t, func() bool { return m.Requests() == 6 })
	m.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close with a slow scrape in flight took %v", took)
	}
}

// authenticate opens a connection to the fake SocksPort and sends new
// credentials, which is where tor would begin a new circuit.
func authenticate(t *testing.T, addr, user string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := append([]byte{5, 1, testkit.MethodUserPass, 1, byte(len(user))}, user...)
	msg = append(msg, 1, 'p')
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(c, reply); err != nil || reply[1] != testkit.MethodUserPass || reply[3] != 0 {
		t.Fatalf("SOCKS auth reply %v, %v", reply, err)
	}
}

// TestMetricsPortDoSCounters: AddDoS bumps a tor_relay_dos_total type;
// DefendCircuits counts the followed servers' circuits against a bucket as
// tor's circuit creation defence does: with a burst of 3 at 1/s, 5
// circuits at once mark the address on the 4th and refuse the 4th and 5th.
func TestMetricsPortDoSCounters(t *testing.T) {
	m := testkit.StartMetricsPort(t)
	socks := testkit.StartSOCKS(t)
	m.FollowSOCKS(socks)
	m.DefendCircuits(1, 3)
	if dos := scrape(t, m.URL()).Counters.DoS; dos["circuit_rejected"] != 0 || dos["marked_address"] != 0 {
		t.Fatalf("before any circuit: %v", dos)
	}
	for i := range 3 {
		authenticate(t, socks.Addr(), fmt.Sprint("u", i))
	}
	if dos := scrape(t, m.URL()).Counters.DoS; dos["circuit_rejected"] != 0 || dos["marked_address"] != 0 {
		t.Fatalf("3 circuits within the burst: %v", dos)
	}
	for i := range 2 {
		authenticate(t, socks.Addr(), fmt.Sprint("v", i))
	}
	m.AddDoS("stream_rejected", 2)
	dos := scrape(t, m.URL()).Counters.DoS
	if dos["circuit_rejected"] != 2 || dos["marked_address"] != 1 || dos["stream_rejected"] != 2 || dos["conn_rejected"] != 0 {
		t.Errorf("after 5 circuits at once and 2 streams refused: %v; want circuit_rejected 2, marked_address 1, stream_rejected 2", dos)
	}
}
