package session

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// TestRelayTargetUnderLiveLikeDoSDefences is issue 14's end-to-end check on
// real tor, with the embedded network standing in for the live one: its
// authorities vote the live-like DoS parameters (chutney.LiveConsensusParams:
// 3 circuits a second, burst 90, once an address holds 3 connections),
// relaybench's three clients connect from chutney.ClientAddress and the
// payload comes from a public-mode payload server (relaybench serve) on
// chutney.PayloadAddress. A `relay` target with the embedded target as
// guard and a fresh circuit per request:
//   - with the relay target's default circuit-rate cap (2/s, burst 60), the
//     defence stays quiet, the downloads are verified and the cap, not the
//     relay, is named as the limit of the step it held back;
//   - the same scenario with the cap off (limits.circuit_rate: 0) trips the
//     defence, and the run reports a dos onset with tor's counters.
//
// The capped run goes first: tor marks an address for an hour
// (DoSCircuitCreationDefenseTimePeriod), so after the uncapped run the
// client address could not be measured again on this network.
func TestRelayTargetUnderLiveLikeDoSDefences(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a tor test network; skipped with -short")
	}
	tnet, err := chutney.Start(context.Background(), filepath.Join(t.TempDir(), "net"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tnet.Stop)
	target := tnet.Target()
	srv, err := payload.Listen(net.JoinHostPort(chutney.PayloadAddress, "0"), payload.WithPublic(payload.Public{
		Token: "live-like-dos-test-token-0123", MaxBytes: 1 << 30,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	// 5 then 20 new circuits a second, 8 s steps: uncapped, the target's
	// bucket (90 + 3/s) empties about 12 s in, in step 2's measured
	// window; capped at 2/s with 60 in the bucket, relaybench opens at
	// most 60 + 2·16 = 92 circuits in the 16 s, well inside tor's 138.
	scenario := func() *scenarios.Scenario {
		sc := shortScenario(t, "local-churn", 5, 20)
		sc.Name = "live-like-dos"
		sc.Ramp.StepDuration = scenarios.Duration(8 * time.Second)
		sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
		sc.Workload.Isolation = scenarios.IsolationStream
		sc.Clients = 3 // DoSCircuitCreationMinConnections
		sc.Target = scenarios.Target{Kind: scenarios.TargetRelay, Role: scenarios.RoleEntry,
			Relay: &scenarios.RelayTarget{Fingerprint: target.Fingerprint, MetricsURL: target.MetricsURL()}}
		sc.Payload.URL = srv.BytesURL(int64(sc.Payload.Size))
		// shortScenario resolved a testnet scenario; these are the relay
		// target's defaults (scenarios.Parse would fill them in).
		sc.Limits.CircuitRate = 2
		sc.Limits.CircuitBurst = scenarios.DefaultCircuitBurst(2)
		return sc
	}
	run := func(t *testing.T, sc *scenarios.Scenario) (*Result, string) {
		t.Helper()
		opts := testOptions(t)
		opts.DirAuthorities = tnet.DirAuthorities
		res, err := Run(context.Background(), sc, opts)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		verdict := reports.Verdict(res.Analysis)
		t.Logf("\n%s", verdict)
		return res, verdict
	}
	dosTotal := func(t *testing.T) map[string]float64 {
		t.Helper()
		sc, err := metricsport.ProbeScrape(context.Background(), target.MetricsURL(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return metricsport.NewRelaySnapshot(sc, time.Now()).Counters.DoS
	}

	t.Run("with the relay target's circuit-rate cap", func(t *testing.T) {
		before := dosTotal(t)
		res, verdict := run(t, scenario())
		after := dosTotal(t)
		t.Logf("target tor_relay_dos_total before %v, after %v", before, after)
		if after["marked_address"] != before["marked_address"] || after["circuit_rejected"] != before["circuit_rejected"] {
			t.Fatalf("the capped run tripped the target's DoS defence: %v before, %v after", before, after)
		}
		for _, s := range res.Analysis.Steps {
			for _, sig := range s.Signals {
				if sig.Name == string(metricsport.SignalDoS) {
					t.Errorf("step %d: dos signal %+v in a run that did not trip the defence", s.Step+1, sig)
				}
			}
		}
		verified, ok := 0, 0
		lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range lines.Records {
			if r.Error == "" {
				ok++
				if r.Verified {
					verified++
				}
			}
		}
		if ok == 0 || verified != ok {
			t.Errorf("%d downloads, %d verified: want every download from the public payload server verified", ok, verified)
		}
		top := res.Analysis.Steps[1]
		if top.CircuitCap == nil || top.CircuitCap.Waited == 0 {
			t.Errorf("step 2 (20/s against a cap of 2/s): cap %+v, want requests that waited for a token", top.CircuitCap)
		}
		if !strings.Contains(verdict, "circuit-rate-cap") {
			t.Errorf("the verdict does not say the circuit-rate cap limited the load")
		}
	})

	// Without the target's MetricsPort (or ControlPort) the run refuses
	// before any tor client starts, unless --skip-relay-proof says so.
	t.Run("without proof of operating the relay", func(t *testing.T) {
		sc := scenario()
		sc.Ramp.Steps = []int{2}
		sc.Ramp.StepDuration = scenarios.Duration(4 * time.Second)
		sc.Ramp.Warmup = scenarios.Duration(time.Second)
		sc.Clients = 1
		sc.Target.Relay.MetricsURL = ""
		opts := testOptions(t)
		opts.DirAuthorities = tnet.DirAuthorities
		opts.OnClients = func([]*chutney.Client) { t.Error("tor clients started without proof of operating the relay") }
		_, err := Run(context.Background(), sc, opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "--skip-relay-proof") {
			t.Fatalf("err = %v; want a ConfigError naming --skip-relay-proof", err)
		}
		opts.OnClients = nil
		opts.SkipRelayProof = true
		res, err := Run(context.Background(), sc, opts)
		if err != nil {
			t.Fatalf("with --skip-relay-proof: %v", err)
		}
		info, err := rundir.ReadRunInfo(res.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if info.RelayProof == nil || info.RelayProof.Kind != rundir.ProofSkipped {
			t.Errorf("run.json relay_proof %+v, want skipped", info.RelayProof)
		}
		if st := res.Reps[0].Steps[0]; st.OK == 0 {
			t.Errorf("with --skip-relay-proof: step %+v, want downloads", st)
		}
	})

	t.Run("without a cap", func(t *testing.T) {
		before := dosTotal(t)
		sc := scenario()
		sc.Limits.CircuitRate, sc.Limits.CircuitBurst = 0, 0
		res, verdict := run(t, sc)
		after := dosTotal(t)
		t.Logf("target tor_relay_dos_total before %v, after %v", before, after)
		if after["marked_address"] <= before["marked_address"] {
			t.Fatalf("%v before, %v after: the uncapped run did not trip the target's DoS defence, so the test shows nothing", before, after)
		}
		var dos *struct{ step int }
		for _, s := range res.Analysis.Steps {
			for _, sig := range s.Signals {
				if sig.Name == string(metricsport.SignalDoS) && dos == nil {
					dos = &struct{ step int }{s.Step}
					if !strings.Contains(sig.Evidence, "marked_address +") && !strings.Contains(sig.Evidence, "circuit_rejected +") {
						t.Errorf("dos evidence %q, want tor's counters", sig.Evidence)
					}
				}
			}
		}
		if dos == nil {
			t.Fatalf("no step has a dos signal although the target marked relaybench's address")
		}
		if o := res.Analysis.Onset; o == nil || o.Step > dos.step || (o.Step == dos.step && o.Cause != string(metricsport.SignalDoS)) {
			t.Errorf("onset %+v, want the dos onset at step %d (or an earlier one)", o, dos.step+1)
		}
		if !strings.Contains(verdict, "dos") {
			t.Errorf("the verdict does not name the dos signal")
		}
	})
}
