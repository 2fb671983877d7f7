package chutney

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/scenarios"
)

func TestParseTorrcOption(t *testing.T) {
	for in, want := range map[string]TorrcOption{
		"BandwidthRate=2MBytes":     {"BandwidthRate", "2MBytes"},
		"BandwidthRate 2 MBytes":    {"BandwidthRate", "2 MBytes"},
		" MaxMemInQueues = 64 MB ":  {"MaxMemInQueues", "64 MB"},
		"ExitPolicy=accept *:80":    {"ExitPolicy", "accept *:80"},
		"ConnLimit=1000":            {"ConnLimit", "1000"},
		"NumCPUs=1":                 {"NumCPUs", "1"},
		"BandwidthBurst=4 MBytes  ": {"BandwidthBurst", "4 MBytes"},
	} {
		got, err := ParseTorrcOption(in)
		if err != nil || got != want {
			t.Errorf("ParseTorrcOption(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "BandwidthRate", "=2MBytes", "Bandwidth#Rate=1", "A=b\nSocksPort 9050"} {
		if _, err := ParseTorrcOption(bad); err == nil {
			t.Errorf("ParseTorrcOption(%q) accepted", bad)
		}
	}
}

func TestTorrcSetReplacesCaseInsensitively(t *testing.T) {
	tc := &torrc{}
	tc.add("ExitPolicy", "reject *:*")
	tc.add("ConnLimit", "1000")
	tc.add("exitpolicy", "reject 1.2.3.4")
	tc.set(TorrcOption{"ExitPolicy", "accept *:*"})
	got := tc.String()
	if strings.Contains(got, "reject") || !strings.Contains(got, "ExitPolicy accept *:*\n") || !strings.Contains(got, "ConnLimit 1000\n") {
		t.Errorf("set did not replace every ExitPolicy line and keep the rest:\n%s", got)
	}
}

func TestClientTorrcModes(t *testing.T) {
	base := ClientConfig{Name: "c", DataDir: "/tmp/x", Fingerprint: "AB", BridgeLine: "127.0.0.1:1 AB", DirAuthorities: []string{"a"}}
	for mode, want := range map[scenarios.Role]string{
		scenarios.RoleBridge: "UseBridges 1\nBridge 127.0.0.1:1 AB\n",
		scenarios.RoleEntry:  "EntryNodes AB\n",
		scenarios.RoleMiddle: "MiddleNodes AB\n",
	} {
		cfg := base
		cfg.Mode = mode
		tc, err := clientTorrc(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		s := tc.String()
		if !strings.Contains(s, want) || !strings.Contains(s, "SocksPort 127.0.0.1:auto IsolateSOCKSAuth\n") || !strings.Contains(s, "TestingTorNetwork 1\n") {
			t.Errorf("%s client torrc lacks %q or the isolated auto SocksPort:\n%s", mode, want, s)
		}
	}
	cfg := base
	cfg.Mode = "guard"
	if _, err := clientTorrc(cfg, ""); err == nil {
		t.Error("unknown mode accepted")
	}
	cfg.Mode, cfg.BridgeLine = scenarios.RoleBridge, ""
	if _, err := clientTorrc(cfg, ""); err == nil {
		t.Error("bridge mode without a bridge line accepted")
	}
	// A client of the real network gets no testing options.
	cfg = base
	cfg.Mode, cfg.DirAuthorities = scenarios.RoleEntry, nil
	tc, _ := clientTorrc(cfg, "")
	if strings.Contains(tc.String(), "TestingTorNetwork") || strings.Contains(tc.String(), "DirAuthority") {
		t.Errorf("real-network client has test network options:\n%s", tc)
	}
}

// TestClientTorrcPathNodes: the scenario's exit_nodes and middle_nodes
// become one ExitNodes and one MiddleNodes line with StrictNodes 1, none
// of them without a list, and middle mode refuses other middles.
func TestClientTorrcPathNodes(t *testing.T) {
	cfg := ClientConfig{Name: "c", DataDir: "/tmp/x", Mode: scenarios.RoleEntry, Fingerprint: "AB",
		ExitNodes: []string{"E1", "E2"}, MiddleNodes: []string{"M1"}}
	tc, err := clientTorrc(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	s := tc.String()
	for _, want := range []string{"EntryNodes AB\n", "ExitNodes E1,E2\n", "MiddleNodes M1\n", "StrictNodes 1\n"} {
		if strings.Count(s, want) != 1 {
			t.Errorf("client torrc has %q %d times, want once:\n%s", want, strings.Count(s, want), s)
		}
	}
	cfg.ExitNodes, cfg.MiddleNodes = nil, nil
	tc, err = clientTorrc(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := tc.String(); strings.Contains(s, "ExitNodes") || strings.Contains(s, "MiddleNodes") || strings.Contains(s, "StrictNodes") {
		t.Errorf("client torrc without path nodes has some:\n%s", s)
	}
	cfg.Mode, cfg.ExitNodes = scenarios.RoleMiddle, []string{"E1"}
	tc, err = clientTorrc(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := tc.String(); !strings.Contains(s, "MiddleNodes AB\n") || !strings.Contains(s, "ExitNodes E1\n") || strings.Count(s, "MiddleNodes") != 1 {
		t.Errorf("middle-mode client torrc with exit nodes:\n%s", s)
	}
	cfg.MiddleNodes = []string{"M1"}
	if _, err := clientTorrc(cfg, ""); err == nil {
		t.Error("middle mode with other middle nodes accepted")
	}
}

// A client of a test network connects to relays from ClientAddress through
// its egress proxy unless told to use the relays' own address; a client of
// the real network connects directly.
func TestClientSourceAddress(t *testing.T) {
	for _, tc := range []struct {
		dirAuthorities []string
		source, want   string
	}{
		{[]string{"a"}, "", ClientAddress},
		{[]string{"a"}, "127.0.0.9", "127.0.0.9"},
		{[]string{"a"}, RelayAddress, ""},
		{nil, "", ""},
		{nil, "127.0.0.9", ""},
	} {
		cfg := ClientConfig{DirAuthorities: tc.dirAuthorities, SourceAddress: tc.source}
		if got := cfg.sourceAddress(); got != tc.want {
			t.Errorf("DirAuthorities %v, SourceAddress %q: source %q, want %q", tc.dirAuthorities, tc.source, got, tc.want)
		}
	}
	cfg := ClientConfig{Name: "c", DataDir: "/tmp/x", Mode: scenarios.RoleEntry, Fingerprint: "AB", DirAuthorities: []string{"a"}}
	tc, err := clientTorrc(cfg, "127.0.0.1:4567")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tc.String(), "HTTPSProxy 127.0.0.1:4567\n") {
		t.Errorf("client torrc does not send its connections through the egress proxy:\n%s", tc)
	}
	if tc, _ = clientTorrc(cfg, ""); strings.Contains(tc.String(), "HTTPSProxy") {
		t.Errorf("client torrc without an egress proxy names one:\n%s", tc)
	}
}

func TestParseCircuitStatus(t *testing.T) {
	status := "7 BUILT $AAAA~rbtarget,$BBBB~rbmiddle0,$CCCC~rbexit0 BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL TIME_CREATED=2026-11-23T09:11:48.160000 SOCKS_USERNAME=\"u\"\n" +
		"8 LAUNCHED BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL"
	got := parseCircuitStatus(status)
	if len(got) != 2 {
		t.Fatalf("parsed %d circuits, want 2", len(got))
	}
	if c := got[0]; c.ID != "7" || c.Status != "BUILT" || c.Purpose != "GENERAL" || strings.Join(c.Path, ",") != "AAAA,BBBB,CCCC" || c.SocksUsername != "u" {
		t.Errorf("first circuit = %+v", c)
	}
	if c := got[1]; c.Status != "LAUNCHED" || len(c.Path) != 0 || c.Reason != "" {
		t.Errorf("second circuit = %+v", c)
	}
	// A CIRC event of a circuit that failed before it was built.
	failed := parseCircuitStatus("9 FAILED $AAAA~rbtarget BUILD_FLAGS=NEED_CAPACITY PURPOSE=GENERAL TIME_CREATED=2026-11-23T09:11:48.160000 REASON=TIMEOUT")
	if len(failed) != 1 || failed[0].Status != "FAILED" || failed[0].Reason != "TIMEOUT" || strings.Join(failed[0].Path, ",") != "AAAA" {
		t.Errorf("failed circuit = %+v", failed)
	}
}

type recordingDialer struct{ addrs []string }

func (r *recordingDialer) DialContext(_ context.Context, _, addr string) (net.Conn, error) {
	r.addrs = append(r.addrs, addr)
	return nil, errors.New("recorded")
}

func TestLoopbackOnlyRefusesBeforeDialling(t *testing.T) {
	rec := &recordingDialer{}
	d := LoopbackOnly(rec)
	for _, addr := range []string{"93.184.216.34:80", "10.0.0.1:80", "192.168.1.1:443", "example.com:80", "[2001:db8::1]:80", "0.0.0.0:80"} {
		_, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil || !strings.Contains(err.Error(), "only carries traffic to loopback") {
			t.Errorf("%s: err = %v, want a loopback refusal", addr, err)
		}
	}
	if len(rec.addrs) != 0 {
		t.Fatalf("refused addresses reached the SOCKS dialer: %v", rec.addrs)
	}
	for _, addr := range []string{"127.0.0.1:80", "127.8.9.10:80", "[::1]:80", "localhost:80"} {
		d.DialContext(context.Background(), "tcp", addr)
	}
	want := []string{"127.0.0.1:80", "127.8.9.10:80", "[::1]:80", "127.0.0.1:80"}
	if strings.Join(rec.addrs, " ") != strings.Join(want, " ") {
		t.Errorf("loopback addresses dialled as %v, want %v", rec.addrs, want)
	}
}

func TestPortReservationHoldsPorts(t *testing.T) {
	r := newPortReservation()
	defer r.releaseAll()
	seen := map[int]bool{}
	for range 20 {
		p, err := r.pick()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || p < portRangeLow || p >= portRangeHigh {
			t.Fatalf("port %d picked twice or out of range", p)
		}
		seen[p] = true
		// While held, nobody else can bind it.
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			t.Fatalf("port %d is reserved but another listener could bind it", p)
		}
	}
	for p := range seen {
		r.release(p)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("released port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}
