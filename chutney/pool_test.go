package chutney

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/scenarios"
)

// TestStartPoolWithAClientThatCannotBootstrap: one client of the pool uses
// a bridge nobody listens on. All-or-nothing, the pool fails and nothing
// is left running; with AllowPartial, the good client is kept and the bad
// one is reported, within the straggler timeout rather than forever.
func TestStartPoolWithAClientThatCannotBootstrap(t *testing.T) {
	net := sharedNetwork(t)
	deadPort, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfgs := func(tag string) []ClientConfig {
		good := net.ClientConfig("good-"+tag, scenarios.RoleBridge, 0)
		bad := net.ClientConfig("bad-"+tag, scenarios.RoleBridge, 0)
		bad.BridgeLine = fmt.Sprintf("127.0.0.1:%d %s", deadPort, net.Target().Fingerprint)
		return []ClientConfig{good, bad}
	}
	opts := PoolOptions{BootstrapTimeout: time.Minute, StragglerTimeout: 5 * time.Second}

	start := time.Now()
	clients, failures, err := StartPool(context.Background(), cfgs("strict"), opts)
	if err == nil || clients != nil || len(failures) != 1 || !strings.Contains(err.Error(), "bad-strict") {
		t.Fatalf("strict pool: clients %v, failures %v, err %v; want an error naming bad-strict and no clients", clients, failures, err)
	}
	if took := time.Since(start); took > 45*time.Second {
		t.Errorf("the strict pool took %s to give up, want the straggler timeout (5 s) after the good client", took)
	}

	opts.AllowPartial = true
	clients, failures, err = StartPool(context.Background(), cfgs("partial"), opts)
	if err != nil {
		t.Fatalf("partial pool: %v", err)
	}
	defer StopClients(clients)
	if len(clients) != 1 || clients[0].Name != "good-partial" || len(failures) != 1 ||
		!strings.Contains(failures[0].Error(), "bad-partial") || !strings.Contains(failures[0].Error(), "after the first client") {
		t.Fatalf("partial pool: clients %d, failures %v; want good-partial ready and bad-partial reported", len(clients), failures)
	}
	url, stop, err := serveZeros(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if n, _, err := clients[0].Get(context.Background(), url, io.Discard); err != nil || n != 1<<20 {
		t.Errorf("the kept client does not work: %d bytes, %v", n, err)
	}
}
