package chutney

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func showDescription() *Description {
	return &Description{Dir: "/tmp/net", TorVersion: "Tor 0.4.8.1", ReadySeconds: 12.345, OwnerPID: 7, TargetTorVersion: "Tor 0.5",
		Nodes: []NodeDescription{
			{Role: RoleExit, Nickname: "exit", PID: 4, ORPort: 5001, Fingerprint: "BBBB", TorBinary: "tor", MetricsURL: "http://127.0.0.1:9/metrics"},
			{Role: RoleTarget, Nickname: "target", PID: 5, ORPort: 5002, Fingerprint: "CCCC", TorBinary: "tor",
				MetricsURL: "http://127.0.0.1:10/metrics", BridgeLine: "127.0.0.1:5002 CCCC", ControlAddr: "127.0.0.1:11", CookiePath: "/c"},
			{Role: RoleClient, Nickname: "client", PID: 6, SocksAddr: "127.0.0.1:9050"},
		}}
}

func TestWriteReady(t *testing.T) {
	d := showDescription()
	var b bytes.Buffer
	if err := d.WriteReady(&b); err != nil {
		t.Fatal(err)
	}
	want := `test network ready in 12.3 s (Tor 0.4.8.1, dir /tmp/net)

relay under test           target
  fingerprint              CCCC
  MetricsPort              http://127.0.0.1:10/metrics
  bridge line              Bridge 127.0.0.1:5002 CCCC
  control port             127.0.0.1:11 (cookie /c)
client (target as bridge)  SocksPort 127.0.0.1:9050
  try                      curl --proxy socks5h://$RANDOM:x@127.0.0.1:9050 http://127.0.0.1:PORT/ (loopback destinations only)
network.json               /tmp/net/network.json

stop it with: relaybench testnet down --dir /tmp/net
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteStatus: an absent value is a dash, and a confined target with
// its own tor gets the lines that say so after the table.
func TestWriteStatus(t *testing.T) {
	d := showDescription()
	status := []NodeStatus{
		{NodeDescription: d.Nodes[0], Running: true, Metrics: "http://127.0.0.1:9/metrics (200 OK)"},
		{NodeDescription: d.Nodes[1], Running: false, Metrics: "http://127.0.0.1:10/metrics"},
		{NodeDescription: d.Nodes[2], Running: true},
	}
	d.Nodes[1].TorBinary, d.Nodes[1].Cgroups, d.Nodes[1].CPUQuotaCores = "/opt/tor", []string{"/sys/fs/cgroup/rb"}, 0.25
	var b bytes.Buffer
	if err := d.WriteStatus(&b, StateOrphaned, status); err != nil {
		t.Fatal(err)
	}
	want := `network in /tmp/net: state orphaned, owner pid 7, Tor 0.4.8.1
ROLE    NICKNAME  PID  RUNNING  ORPORT  SOCKS           METRICSPORT                          FINGERPRINT
exit    exit      4    true     5001    -               http://127.0.0.1:9/metrics (200 OK)  BBBB
target  target    5    false    5002    -               http://127.0.0.1:10/metrics          CCCC
client  client    6    true     -       127.0.0.1:9050  -                                    -
relay under test target
  tor          /opt/tor (Tor 0.5)
  confined to  0.25 cores in cgroup /sys/fs/cgroup/rb
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTeardownWrite(t *testing.T) {
	for _, tc := range []struct {
		td   Teardown
		want string
	}{
		{Teardown{Dir: "/tmp/net", Ran: 7}, "test network in /tmp/net stopped (7 tor processes ended)\n"},
		{Teardown{Dir: "/tmp/net", Ran: 7, Killed: 2, RemovedCgroups: []string{"/sys/fs/cgroup/a", "/sys/fs/cgroup/b"}},
			"removed cgroup /sys/fs/cgroup/a left by a stopped network\nremoved cgroup /sys/fs/cgroup/b left by a stopped network\n" +
				"test network in /tmp/net stopped (7 tor processes ended, 2 of them killed)\n"},
	} {
		var b bytes.Buffer
		if err := tc.td.Write(&b); err != nil || b.String() != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.td, b.String(), err, tc.want)
		}
	}
}

// TestShowStatus: status writes the network as it is now and returns its
// problem: a ready network whose owner is gone is orphaned; a stopped one
// has none.
func TestShowStatus(t *testing.T) {
	d := showDescription()
	d.State = StateReady
	var b bytes.Buffer
	err := d.ShowStatus(&b)
	if err == nil || !strings.Contains(err.Error(), "owner process 7 is gone") || !strings.HasPrefix(b.String(), "network in /tmp/net: state orphaned, owner pid 7") {
		t.Errorf("ready without its owner: %v, said %q; want orphaned", err, b.String())
	}
	d.State = StateStopped
	b.Reset()
	if err := d.ShowStatus(&b); err != nil || !strings.HasPrefix(b.String(), "network in /tmp/net: state stopped") || !strings.Contains(b.String(), "target  target    5    false") {
		t.Errorf("stopped: %v, said %q", err, b.String())
	}
}

// TestShowDown: down says what it stopped, and nothing when the network
// still holds its dir.
func TestShowDown(t *testing.T) {
	dir := t.TempDir()
	d := &Description{Dir: dir, State: StateReady}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.ShowDown(dir, &b); !errors.Is(err, ErrInUse) || b.Len() != 0 {
		t.Errorf("a held dir: %v, said %q; want ErrInUse and nothing said", err, b.String())
	}
	lock.Close()
	// Stale cgroups of other stopped networks may be removed and said first.
	if err := d.ShowDown(dir, &b); err != nil || !strings.HasSuffix(b.String(), "test network in "+dir+" stopped (0 tor processes ended)\n") {
		t.Errorf("a stopped network: %v, said %q", err, b.String())
	}
}
