package chutney

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/scenarios"
)

// TestConsensusCarriesLiveParams: the target itself holds a consensus
// with every parameter the authorities vote, so it enforces the DoS
// defences, and network.json says which.
func TestConsensusCarriesLiveParams(t *testing.T) {
	net := sharedNetwork(t)
	held, err := net.Target().Process().ConsensusParams()
	if err != nil {
		t.Fatal(err)
	}
	if err := missingParams(held, LiveConsensusParams); err != nil {
		t.Errorf("the target's consensus: %v", err)
	}
	d, err := ReadDescription(net.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := missingParams(d.ConsensusParams, LiveConsensusParams); err != nil || len(d.ConsensusParams) != len(LiveConsensusParams) {
		t.Errorf("network.json consensus_params %v: %v", d.ConsensusParams, err)
	}
}

// dosCounters reads the target's tor_relay_dos_total by type.
func dosCounters(t *testing.T, n *Network) map[string]float64 {
	t.Helper()
	return metricsport.NewRelaySnapshot(scrapeTarget(t, n), time.Now()).Counters.DoS
}

// connectedFrom counts the established TCP connections to port on
// 127.0.0.1 by source address (/proc/net/tcp).
func connectedFrom(t *testing.T, port int) map[string]int {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st ...: addresses are hex
		// little-endian IPv4 with a hex port; st 01 is ESTABLISHED.
		fld := strings.Fields(sc.Text())
		if len(fld) < 4 || fld[3] != "01" {
			continue
		}
		local, lport, ok1 := hexAddr(fld[1])
		remote, _, ok2 := hexAddr(fld[2])
		if ok1 && ok2 && local == RelayAddress && lport == port {
			out[remote]++
		}
	}
	return out
}

func hexAddr(s string) (string, int, bool) {
	ip, port, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(ip)
	p, perr := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil || perr != nil || len(b) != 4 {
		return "", 0, false
	}
	return net.IPv4(b[3], b[2], b[1], b[0]).String(), int(p), true
}

// targetExemptsRelayAddresses says whether tor version v (`tor --version`)
// skips DoS accounting for addresses of relays in the consensus: up to
// 0.4.8.3; tor 0.4.8.4 counts them (tor#40821).
func targetExemptsRelayAddresses(t *testing.T, v string) bool {
	m := regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("no version number in %q", v)
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n[0] == 0 && (n[1] < 4 || n[1] == 4 && (n[2] < 8 || n[2] == 8 && n[3] < 4))
}

// TestDoSDefenceTripsOnClientAddress is what the live network does to a
// load generator: three clients on ClientAddress use the target as their
// entry guard (three connections from one address, tor's
// DoSCircuitCreationMinConnections) and open streams with new SOCKS
// credentials each, so every stream builds a circuit; after the burst of
// 90 CREATE cells the target marks the address and refuses its circuits.
// Then three clients on the relays' own 127.0.0.1 do the same: tor up to
// 0.4.8.3 exempts relay addresses, 0.4.8.4 and later mark it too (the
// embedded network used to give every client that address).
func TestDoSDefenceTripsOnClientAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	// A network of its own: the defence marks an address for an hour and
	// more, which would starve the shared network's later tests.
	n, err := Start(context.Background(), filepath.Join(testRoot, "dos"), WithProgress(testLog{}))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	url, closeServer, err := serveZeros(1 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer closeServer()

	var cfgs []ClientConfig
	for i := range 3 {
		cfgs = append(cfgs, n.ClientConfig(fmt.Sprintf("dos-load%d", i), scenarios.RoleEntry, 0))
	}
	for i := range 3 {
		cfg := n.ClientConfig(fmt.Sprintf("dos-relayaddr%d", i), scenarios.RoleEntry, 0)
		cfg.SourceAddress = RelayAddress
		cfgs = append(cfgs, cfg)
	}
	clients, err := StartClients(context.Background(), cfgs)
	if err != nil {
		t.Fatal(err)
	}
	defer StopClients(clients)
	if from := connectedFrom(t, n.Target().ORPort); from[ClientAddress] < 3 {
		t.Fatalf("connections to the target's ORPort by source %v: want at least 3 from %s, one per load client", from, ClientAddress)
	}

	before := dosCounters(t, n)
	if before["marked_address"] != 0 || before["circuit_rejected"] != 0 {
		t.Fatalf("the target's DoS counters moved before the load: %v", before)
	}

	// load opens streams on new circuits through clients until the
	// target has marked want addresses or the time is up, and returns how
	// many streams it tried and the counters at the end.
	load := func(clients []*Client, want float64, limit time.Duration) (int64, time.Duration, map[string]float64) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		var tried atomic.Int64
		var wg sync.WaitGroup
		for _, c := range clients {
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						tried.Add(1)
						gctx, gcancel := context.WithTimeout(ctx, 5*time.Second)
						c.Get(gctx, url, io.Discard)
						gcancel()
					}
				})
			}
		}
		start := time.Now()
		var got map[string]float64
		for {
			got = dosCounters(t, n)
			if got["marked_address"] >= want && got["circuit_rejected"] > 0 || ctx.Err() != nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		took := time.Since(start)
		cancel()
		wg.Wait()
		return tried.Load(), took, got
	}

	tried, took, got := load(clients[:3], 1, 30*time.Second)
	t.Logf("%s: %d streams in %s; target's tor_relay_dos_total: %v", ClientAddress, tried, took.Round(time.Millisecond), got)
	if got["marked_address"] < 1 || got["circuit_rejected"] == 0 {
		t.Fatalf("the target did not mark %s and refuse its circuits after %d streams (tor_relay_dos_total %v)", ClientAddress, tried, got)
	}

	exempt := targetExemptsRelayAddresses(t, n.TargetTorVersion)
	want := 2.0 // a second address marked
	if exempt {
		want = 3 // unreachable: run the whole limit, then check nothing moved
	}
	tried, took, after := load(clients[3:], want, 20*time.Second)
	t.Logf("%s: %d streams in %s; target's tor_relay_dos_total: %v", RelayAddress, tried, took.Round(time.Millisecond), after)
	switch marked := after["marked_address"] - got["marked_address"]; {
	case exempt && marked != 0:
		t.Errorf("%s exempts relay addresses, yet the target marked %g more addresses under load from %s", n.TargetTorVersion, marked, RelayAddress)
	case !exempt && marked != 1:
		t.Errorf("%s counts relay addresses, yet the target marked %g more addresses after %d streams from %s, want 1", n.TargetTorVersion, marked, tried, RelayAddress)
	}
}
