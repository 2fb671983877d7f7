package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/scenarios"
)

// standIn is a setting a test may change: a file holding "original". A
// variant's setup tunes it (keeping the old value, as `sysctl -n` would)
// and its teardown restores it; both leave a line in a log so the test
// sees they ran, and in which order.
type standIn struct{ state, log string }

func newStandIn(t *testing.T) standIn {
	dir := t.TempDir()
	s := standIn{state: filepath.Join(dir, "state"), log: filepath.Join(dir, "log")}
	if err := os.WriteFile(s.state, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s standIn) variant(name string) scenarios.Variant {
	return scenarios.Variant{
		Name:        name,
		Repetitions: 1,
		Setup:       []string{`cp "` + s.state + `" "` + s.state + `.bak" && echo tuned-$RELAYBENCH_VARIANT > "` + s.state + `" && echo "setup $RELAYBENCH_VARIANT $(cat ` + s.state + `)" >> "` + s.log + `"`},
		Teardown:    []string{`mv "` + s.state + `.bak" "` + s.state + `" && echo "teardown $RELAYBENCH_VARIANT $(cat ` + s.state + `)" >> "` + s.log + `"`},
	}
}

func (s standIn) check(t *testing.T, wantLog string) {
	t.Helper()
	state, _ := os.ReadFile(s.state)
	if string(state) != "original\n" {
		t.Errorf("the setting is %q after the run, want it restored to \"original\"", state)
	}
	log, _ := os.ReadFile(s.log)
	if string(log) != wantLog {
		t.Errorf("setup/teardown log:\n%s\nwant:\n%s", log, wantLog)
	}
}

// TestVariantTeardownAfterFailedRun: the variant's run fails (its SocksPort
// does not listen) after the setup changed the setting; the teardown must
// still run and put it back, and the error must say both.
func TestVariantTeardownAfterFailedRun(t *testing.T) {
	port, err := chutney.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := newStandIn(t)
	sc := shortScenario(t, "local", 1)
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: []string{"127.0.0.1:" + strconv.Itoa(port)}}}
	sc.Clients = 0
	sc.Variants = []scenarios.Variant{s.variant("tuned")}
	_, err = Run(context.Background(), sc, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), "variant tuned") || !strings.Contains(err.Error(), "not listening") {
		t.Fatalf("err = %v, want the variant's run failure", err)
	}
	s.check(t, "setup tuned tuned-tuned\nteardown tuned original\n")
}

// TestVariantTeardownAfterFailedSetup: a setup command that fails part way
// still gets the teardown, and the run does not start.
func TestVariantTeardownAfterFailedSetup(t *testing.T) {
	s := newStandIn(t)
	sc := shortScenario(t, "local", 1)
	v := s.variant("broken")
	v.Setup = append(v.Setup, "echo about to fail; exit 7")
	sc.Variants = []scenarios.Variant{v}
	_, err := Run(context.Background(), sc, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), `setup[1] "echo about to fail; exit 7": exit status 7`) || !strings.Contains(err.Error(), "teardown ran") {
		t.Fatalf("err = %v, want the failing setup command named", err)
	}
	s.check(t, "setup broken tuned-broken\nteardown broken original\n")
}

// TestVariantTeardownAfterInterrupt: Ctrl-C while the variant's load runs
// through a real tor (the embedded network's own client): the teardown
// runs with a context of its own, the setting is restored, and the
// records measured so far are on disk.
func TestVariantTeardownAfterInterrupt(t *testing.T) {
	net := sharedNetwork(t)
	s := newStandIn(t)
	sc := shortScenario(t, "local", 1, 2, 4)
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: []string{net.Client.SocksAddr}}}
	sc.Clients = 0
	sc.Variants = []scenarios.Variant{s.variant("a"), s.variant("b")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testOptions(t)
	// Interrupt 3 s into variant a's ramp: the setup has run, load flows.
	cfg.Progress = cancelAfter{w: cfg.Progress, marker: "rep 1/1 step 1/3", after: 3 * time.Second, cancel: cancel}
	start := time.Now()
	res, err := Run(ctx, sc, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the run canceled", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the interrupted run took %s to stop", time.Since(start))
	}
	s.check(t, "setup a tuned-a\nteardown a original\n")
	recs, err := os.ReadFile(filepath.Join(res.Dir, "variants", "a", "requests.jsonl"))
	if err != nil || strings.Count(string(recs), "\n") == 0 {
		t.Errorf("variant a's requests were lost: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "variants", "b")); err == nil {
		t.Errorf("variant b ran after the interrupt")
	}
}

// cancelAfter cancels after a delay once marker was written.
type cancelAfter struct {
	w      interface{ Write([]byte) (int, error) }
	marker string
	after  time.Duration
	cancel context.CancelFunc
}

func (c cancelAfter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.marker) {
		time.AfterFunc(c.after, c.cancel)
	}
	return c.w.Write(p)
}

// TestVariantsRankBandwidthRate runs two variants on the embedded network,
// each repetition on a fresh network whose target has the variant's torrc:
// BandwidthRate 1 MBytes and 4 MBytes. The ranking must put 4 MBytes first
// with a drop of more than half for 1 MBytes, and call one repetition a
// side too few to test. (That the same config twice is never called
// different is TestCompareRuns' and the reports simulation's job: it needs
// no tor.)
func TestVariantsRankBandwidthRate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tor test networks; skipped with -short")
	}
	sc := shortScenario(t, "local", 2, 4)
	sc.Name = "ab"
	sc.Ramp.StepDuration = scenarios.Duration(7 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
	sc.Payload.Size = 1 << 20
	rate := func(name, r string) scenarios.Variant {
		return scenarios.Variant{Name: name, Repetitions: 1, Torrc: map[string]string{"BandwidthRate": r, "BandwidthBurst": r}}
	}
	sc.Variants = []scenarios.Variant{rate("slow", "1 MBytes"), rate("fast", "4 MBytes")}
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	r := res.Ranking
	if r == nil || len(r.Entries) != 2 {
		t.Fatalf("ranking %+v, want 2 entries", r)
	}
	var out strings.Builder
	r.Text(&out)
	t.Logf("\n%s", out.String())
	if r.Entries[0].Variant != "fast" {
		t.Fatalf("best variant %s, want fast (4 MBytes)", r.Entries[0].Variant)
	}
	// One repetition per variant: the drop shows, but is too few
	// repetitions to test.
	for _, e := range r.Entries[1:] {
		if e.VsBest == nil || e.VsBest.Verdict != reports.OutcomeTooFew || e.VsBest.Significant || e.VsBest.DeltaPct == nil || *e.VsBest.DeltaPct > -50 {
			t.Errorf("%s vs fast: %+v, want a drop of more than 50%%, too few repetitions to test", e.Variant, e.VsBest)
		}
	}
	if d := r.Entries[0].Differences; len(d) == 0 || !strings.Contains(fmt.Sprint(d), "4 MBytes") {
		t.Errorf("fast's differences from the baseline %v, want its BandwidthRate", d)
	}
	for _, name := range []string{"comparison.md", "comparison.json", "variants/fast/summary.json", "variants/slow/env.json"} {
		if _, err := os.Stat(filepath.Join(res.Dir, name)); err != nil {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	// Each variant's repetition ran on a network of its own, with its torrc.
	torrc, err := os.ReadFile(filepath.Join(res.Dir, "variants", "fast", "testnet", "nodes", "rbtarget", "torrc"))
	if err != nil || !strings.Contains(string(torrc), "BandwidthRate 4 MBytes") {
		t.Errorf("fast's target torrc lacks its BandwidthRate: %v\n%s", err, torrc)
	}
}
