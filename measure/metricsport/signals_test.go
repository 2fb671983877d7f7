package metricsport

import (
	"strings"
	"testing"
	"time"
)

func names(sigs []OnsetSignal) []SignalName {
	var out []SignalName
	for _, s := range sigs {
		out = append(out, s.Name)
	}
	return out
}

func TestRateLimitFiresOnlyForBandwidthRate(t *testing.T) {
	snaps := seriesSnapshots(t, "relay-BandwidthRate-1MB")
	sigs := DetectOnsets(observationsOf(snaps), SignalConfig{})
	if len(sigs) != 1 || sigs[0].Name != SignalRateLimit {
		t.Fatalf("signals %v, want exactly rate-limit", names(sigs))
	}
	s := sigs[0]
	// The counters were already 4/11 at the first scrape (load had begun);
	// that is the baseline. The first rise is read 4->196, write 11->347 at
	// 08:26:37; write rose most.
	wantAt := time.Date(2025, 11, 23, 8, 26, 37, 0, time.UTC)
	if !s.At.Equal(wantAt) || !s.Since.Equal(wantAt.Add(-3*time.Second)) {
		t.Errorf("onset at %v since %v, want %v since 08:26:34", s.At, s.Since, wantAt)
	}
	if s.Series != FamilyRateLimitReached+`{side="write"}` || s.Before != 11 || s.After != 347 {
		t.Errorf("evidence %s %v->%v, want side=write 11->347", s.Series, s.Before, s.After)
	}
	for _, want := range []string{`{side="read"} 4 -> 196`, `{side="write"} 11 -> 347`} {
		if !strings.Contains(s.Evidence, want) {
			t.Errorf("evidence %q lacks %q", s.Evidence, want)
		}
	}

	if sigs := DetectOnsets(observationsOf(seriesSnapshots(t, "relay-RelayBandwidthRate-1MB")), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("RelayBandwidthRate run fired %v; RelayBandwidthRate does not feed the global rate-limit counter", names(sigs))
	}
}

// fixtureWith returns the rate-limited relay fixture with whole lines
// replaced (old line -> new line), as a snapshot at second sec.
func fixtureWith(t *testing.T, sec int, repl ...string) RelaySnapshot {
	t.Helper()
	body := string(readFixture(t, "relay-bwrate-limited.prom"))
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(body, repl[i]+"\n") {
			t.Fatalf("fixture has no line %q", repl[i])
		}
		body = strings.Replace(body, repl[i]+"\n", repl[i+1]+"\n", 1)
	}
	sc, err := ParseScrape(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return NewRelaySnapshot(sc, time.Date(2025, 11, 23, 9, 0, sec, 0, time.UTC))
}

func TestCounterSignals(t *testing.T) {
	base := fixtureWith(t, 0)
	cases := []struct {
		signal SignalName
		from   string
		to     string
		series string
	}{
		{SignalOnionskinsDropped, `tor_relay_load_onionskins_total{type="ntor_v3",action="dropped"} 0`, `tor_relay_load_onionskins_total{type="ntor_v3",action="dropped"} 3`, `tor_relay_load_onionskins_total{type="ntor_v3",action="dropped"}`},
		{SignalOOM, `tor_relay_load_oom_bytes_total{subsys="cell"} 0`, `tor_relay_load_oom_bytes_total{subsys="cell"} 524288`, `tor_relay_load_oom_bytes_total{subsys="cell"}`},
		{SignalTCPExhaustion, `tor_relay_load_tcp_exhaustion_total 0`, `tor_relay_load_tcp_exhaustion_total 1`, `tor_relay_load_tcp_exhaustion_total`},
		{SignalRateLimit, `tor_relay_load_global_rate_limit_reached_total{side="read"} 668`, `tor_relay_load_global_rate_limit_reached_total{side="read"} 670`, `tor_relay_load_global_rate_limit_reached_total{side="read"}`},
		{SignalDoS, `tor_relay_dos_total{type="circuit_rejected"} 0`, `tor_relay_dos_total{type="circuit_rejected"} 41`, `tor_relay_dos_total{type="circuit_rejected"}`},
		{SignalDoS, `tor_relay_dos_total{type="concurrent_conn_rejected"} 0`, `tor_relay_dos_total{type="concurrent_conn_rejected"} 2`, `tor_relay_dos_total{type="concurrent_conn_rejected"}`},
	}
	for _, c := range cases {
		t.Run(string(c.signal), func(t *testing.T) {
			quiet := fixtureWith(t, 2)
			rose := fixtureWith(t, 4, c.from, c.to)
			later := fixtureWith(t, 6, c.from, c.to)
			sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, quiet, rose, later}), SignalConfig{})
			if len(sigs) != 1 || sigs[0].Name != c.signal {
				t.Fatalf("signals %v, want only %s", names(sigs), c.signal)
			}
			if !sigs[0].At.Equal(rose.At) || !sigs[0].Since.Equal(quiet.At) || sigs[0].Series != c.series {
				t.Errorf("got %+v, want onset at the third snapshot on %s", sigs[0], c.series)
			}
		})
	}
}

func TestSocketsSignal(t *testing.T) {
	// 0.90 * 19968 = 17971.2
	near := fixtureWith(t, 2, `tor_relay_load_socket_total{state="opened"} 19`, `tor_relay_load_socket_total{state="opened"} 17972`)
	below := fixtureWith(t, 2, `tor_relay_load_socket_total{state="opened"} 19`, `tor_relay_load_socket_total{state="opened"} 17971`)
	base := fixtureWith(t, 0)

	sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, near}), SignalConfig{})
	if len(sigs) != 1 || sigs[0].Name != SignalSockets || sigs[0].After != 17972 || sigs[0].Limit != 19968 || sigs[0].Before != 19 {
		t.Errorf("at 17972/19968: %+v, want sockets with 19 -> 17972 of 19968", sigs)
	}
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, below}), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("at 17971/19968 (below 90%%) fired %v", names(sigs))
	}
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, below}), SignalConfig{SocketFraction: 0.5}); len(sigs) != 1 {
		t.Errorf("with fraction 0.5, 17971/19968 should fire; got %v", names(sigs))
	}
	// No limit sample: cannot judge, must not fire (or divide by zero).
	noLimit := fixtureWith(t, 2, `tor_relay_load_socket_total 19968`, `tor_relay_load_socket_total 0`)
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{noLimit}), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("without a limit fired %v", names(sigs))
	}
}

func TestMetricsPortUnreachableNeedsLoad(t *testing.T) {
	base := fixtureWith(t, 0)
	failIdle := Observation{At: base.At.Add(time.Second), Err: "connection refused"}
	failLoad := Observation{At: base.At.Add(2 * time.Second), Err: "no complete answer within 800ms", UnderLoad: true}
	failLoad2 := Observation{At: base.At.Add(3 * time.Second), Err: "no complete answer within 800ms", UnderLoad: true}
	good := Observation{At: base.At.Add(4 * time.Second), Snapshot: &base, UnderLoad: true}
	if sigs := DetectOnsets([]Observation{{At: base.At, Snapshot: &base}, failIdle}, SignalConfig{}); len(sigs) != 0 {
		t.Errorf("failure while idle fired %v", names(sigs))
	}
	// One slow scrape under load is a busy machine as often as a relay out
	// of descriptors: not yet a signal.
	if sigs := DetectOnsets([]Observation{{At: base.At, Snapshot: &base}, failLoad, good}, SignalConfig{}); len(sigs) != 0 {
		t.Errorf("a single failed scrape under load fired %v", names(sigs))
	}
	sigs := DetectOnsets([]Observation{failLoad2, failLoad, {At: base.At, Snapshot: &base}, failIdle}, SignalConfig{})
	if len(sigs) != 1 || sigs[0].Name != SignalMetricsPortUnreachable || !sigs[0].At.Equal(failLoad2.At) ||
		!sigs[0].Since.Equal(base.At) || !strings.Contains(sigs[0].Evidence, "800ms") || !strings.Contains(sigs[0].Evidence, "2 scrapes in a row") {
		t.Errorf("got %+v, want metricsport-unreachable at the second loaded failure, since the last good scrape", sigs)
	}
}

func TestSignalsAcrossRestart(t *testing.T) {
	before := fixtureWith(t, 0)
	// Restart: rate-limit counters back to 0 — no rise.
	zero := fixtureWith(t, 2,
		`tor_relay_load_global_rate_limit_reached_total{side="read"} 668`, `tor_relay_load_global_rate_limit_reached_total{side="read"} 0`,
		`tor_relay_load_global_rate_limit_reached_total{side="write"} 2266`, `tor_relay_load_global_rate_limit_reached_total{side="write"} 0`)
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{before, zero}), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("restart to 0 fired %v", names(sigs))
	}
	// Restart and already limited again: the new process did hit the limit.
	five := fixtureWith(t, 2, `tor_relay_load_global_rate_limit_reached_total{side="write"} 2266`, `tor_relay_load_global_rate_limit_reached_total{side="write"} 5`)
	sigs := DetectOnsets(observationsOf([]RelaySnapshot{before, five}), SignalConfig{})
	if len(sigs) != 1 || sigs[0].After != 5 || !strings.Contains(sigs[0].Evidence, "relay restarted") {
		t.Errorf("restart to 5: %+v, want rate-limit noting the restart", sigs)
	}
}

func TestSignalsIgnoreMissingFamilies(t *testing.T) {
	sc, err := ParseScrape(strings.NewReader("# TYPE tor_relay_traffic_bytes counter\ntor_relay_traffic_bytes{direction=\"read\"} 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	bare := NewRelaySnapshot(sc, time.Date(2025, 11, 23, 9, 0, 0, 0, time.UTC))
	full := fixtureWith(t, 2) // has rate-limit 668/2266, oom 0, ...
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{bare, full}), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("family appearing fired %v; absence is not zero", names(sigs))
	}
}

// TestDoSSignalIgnoresOnionServiceTypes: single_hop_refused and
// introduce2_rejected count onion-service traffic, never relaybench's
// load; a rise of either is no dos signal. Several types rising at once
// are all in the evidence, the one that rose most named.
func TestDoSSignalIgnoresOnionServiceTypes(t *testing.T) {
	base := fixtureWith(t, 0)
	hs := fixtureWith(t, 2, `tor_relay_dos_total{type="single_hop_refused"} 0`, `tor_relay_dos_total{type="single_hop_refused"} 9`,
		`tor_relay_dos_total{type="introduce2_rejected"} 0`, `tor_relay_dos_total{type="introduce2_rejected"} 30`)
	if sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, hs}), SignalConfig{}); len(sigs) != 0 {
		t.Errorf("onion-service DoS counters fired %v", names(sigs))
	}
	both := fixtureWith(t, 2, `tor_relay_dos_total{type="circuit_rejected"} 0`, `tor_relay_dos_total{type="circuit_rejected"} 120`,
		`tor_relay_dos_total{type="marked_address"} 0`, `tor_relay_dos_total{type="marked_address"} 1`)
	sigs := DetectOnsets(observationsOf([]RelaySnapshot{base, both}), SignalConfig{})
	if len(sigs) != 1 || sigs[0].Name != SignalDoS || sigs[0].Series != `tor_relay_dos_total{type="circuit_rejected"}` || sigs[0].After != 120 {
		t.Fatalf("signals %+v, want dos on circuit_rejected 0 -> 120", sigs)
	}
	for _, want := range []string{`{type="circuit_rejected"} 0 -> 120`, `{type="marked_address"} 0 -> 1`} {
		if !strings.Contains(sigs[0].Evidence, want) {
			t.Errorf("evidence %q lacks %q", sigs[0].Evidence, want)
		}
	}
}
