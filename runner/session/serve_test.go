package session

import (
	"context"
	"testing"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// testRelayPayloadFromServe is a `relay` target run whose payload.url
// points at relaybench's public payload server (what `relaybench serve`
// runs), standing in for a public host: every download leaves the test
// network at its exit, and every body is verified byte for byte although
// the run did not start the server.
//
// The server listens on 127.0.0.3, the payload address of the embedded
// network: an address no relay has, so the exit connects to it as to a
// host on the internet (its policy accepts 127.0.0.0/8).
func testRelayPayloadFromServe(t *testing.T, net *chutney.Network, relayScenario func(scenarios.Role, ...int) *scenarios.Scenario) {
	srv, err := payload.Listen("127.0.0.3:0", payload.WithPublic(payload.Public{
		Token: "relay-test-token-0123456789", MaxBytes: 1 << 30,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc := relayScenario(scenarios.RoleEntry, 2)
	sc.Payload.URL = srv.BytesURL(int64(sc.Payload.Size))
	cfg := testOptions(t)
	cfg.DirAuthorities = net.DirAuthorities
	res, err := Run(context.Background(), sc, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkRamp(t, res, false)
	lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, r := range lines.Records {
		if r.Error != "" {
			continue
		}
		ok++
		if !r.Verified || r.Bytes != int64(sc.Payload.Size) {
			t.Errorf("download %+v: want all %d bytes, verified", r, int64(sc.Payload.Size))
		}
	}
	st := srv.Stats()
	t.Logf("%d verified downloads; server: %+v", ok, st)
	if ok == 0 || st.Downloads < int64(ok) || st.BytesServed < int64(ok)*int64(sc.Payload.Size) || st.WrongToken != 0 {
		t.Errorf("%d verified downloads, server stats %+v: want the server to have sent at least every verified byte, all with the token", ok, st)
	}
}
