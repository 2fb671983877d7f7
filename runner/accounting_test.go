package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// The tests of this file check how requests are accounted for: what is a
// failure (a stall, a first-byte timeout, a hit never sent), what is not
// (a slow stream cut by the step's end), and in which window each counts.
// The fake SocksPort (testkit) makes every fault happen by construction.

// withSOCKS replaces the fixture's endpoints with one fake SocksPort.
func (f *fixture) withSOCKS(t *testing.T, opts ...testkit.SOCKSOption) *testkit.SOCKSServer {
	t.Helper()
	s := testkit.StartSOCKS(t, opts...)
	f.socks = []*testkit.SOCKSServer{s}
	f.plan.Endpoints = []Endpoint{{Name: "fake", Addr: s.Addr()}}
	return s
}

func TestStalledStreamIsEndedAndFailed(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 1<<20, 3*time.Second, 500*time.Millisecond, 2)
	sc.Workload.StallTimeout = scenarios.Duration(300 * time.Millisecond)
	f := newFixture(t, sc, 1)
	// The first two streams start in the 500 ms warm-up, deliver 100 kB/s
	// and fall silent at 700 ms, the connection open: a stuck circuit. The
	// streams after them are healthy.
	f.withSOCKS(t, testkit.WithPolicy(testkit.Schedule(testkit.Rule{From: 0, To: 2, Behavior: testkit.Behavior{Rate: 100_000, StallAfter: 700 * time.Millisecond}})))
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.recs.records(t)
	stalls := 0
	for _, r := range recs {
		if r.Error != rundir.ClassStall {
			continue
		}
		stalls++
		// Ended by the watchdog 300 ms after the last byte (at 1 s), not
		// by the step's end (3 s) or the 20 s timeout.
		if ttlb := time.Duration(r.TTLBNS); ttlb < 900*time.Millisecond || ttlb > 1500*time.Millisecond || r.Bytes < 50_000 || !r.Warmup || !strings.Contains(r.Detail, "stall") {
			t.Errorf("stalled record %+v: want a warm-up start, some bytes, ended about 1 s after its start, detail naming the stall", r)
		}
	}
	if stalls != 2 {
		t.Fatalf("%d stall records, want 2 (classes %v)", stalls, classes(recs))
	}
	// They started in the warm-up and failed after it: failures of the
	// measured window.
	if st := sum.Steps[0]; st.Errors[rundir.ClassStall] != 2 || st.OK == 0 {
		t.Errorf("step summary %+v: want both stalls counted as failures, and later streams ok", st)
	}
}

func TestSlowStreamIsCutNotFailed(t *testing.T) {
	// 1 MiB at 40 kB/s takes 26 s: every stream is still moving when the
	// 1.5 s step ends. Slow is not stalled.
	sc := scenario(scenarios.WorkloadBulk, 1<<20, 1500*time.Millisecond, 300*time.Millisecond, 2)
	sc.Workload.StallTimeout = scenarios.Duration(400 * time.Millisecond)
	f := newFixture(t, sc, 1)
	f.withSOCKS(t, testkit.WithBehavior(testkit.Behavior{Rate: 40_000}))
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	if got := classes(f.recs.records(t)); got[rundir.ClassStepEnd] != 2 || len(got) != 1 {
		t.Fatalf("classes %v, want 2 step-end cuts and nothing else", got)
	}
	// They started in the warm-up and ended after it: they count.
	if st := sum.Steps[0]; st.Requests != 2 || st.Cut != 2 || st.Warmup != 0 || st.ErrorCount() != 0 {
		t.Errorf("step summary %+v: want 2 cut requests counted in the measured window", st)
	}
}

func TestFirstByteTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    testkit.Behavior
	}{
		{"slow circuit build", testkit.Behavior{ReplyDelay: 3 * time.Second}},
		{"no response on the attached stream", testkit.Behavior{FirstByteDelay: 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(scenarios.WorkloadBulk, 64<<10, 1500*time.Millisecond, 0, 1)
			sc.Workload.Timeout = scenarios.Duration(300 * time.Millisecond)
			f := newFixture(t, sc, 1)
			f.withSOCKS(t, testkit.WithBehavior(tc.b))
			if _, err := Run(t.Context(), f.plan); err != nil {
				t.Fatal(err)
			}
			recs := f.recs.records(t)
			for _, r := range recs {
				if r.Error == rundir.ClassStepEnd {
					continue
				}
				if r.Error != rundir.ClassTimeout || r.TTLBNS < int64(300*time.Millisecond) || r.TTLBNS > int64(time.Second) {
					t.Errorf("record %+v: want a timeout about 300 ms after the start", r)
				}
			}
			if got := classes(recs)[rundir.ClassTimeout]; got < 2 {
				t.Errorf("classes %v: want the requests to time out one after the other", classes(recs))
			}
		})
	}
}

func TestWroteSplitsConnectFromFirstByte(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 64<<10, time.Second, 0, 1)
	f := newFixture(t, sc, 1)
	f.withSOCKS(t, testkit.WithBehavior(testkit.Behavior{ReplyDelay: 200 * time.Millisecond, FirstByteDelay: 100 * time.Millisecond}))
	if _, err := Run(t.Context(), f.plan); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.recs.records(t) {
		if r.Error != "" {
			continue
		}
		// The fake holds the first byte back 100 ms from its SOCKS reply,
		// the end of the connect; the request is written just after it.
		attached, ok := r.AttachedTTFB()
		sinceConnect := time.Duration(r.TTFBNS - r.ConnectNS)
		if !ok || r.ConnectNS < int64(200*time.Millisecond) || r.WroteNS < r.ConnectNS || attached != time.Duration(r.TTFBNS-r.WroteNS) ||
			sinceConnect < 100*time.Millisecond || sinceConnect > 190*time.Millisecond {
			t.Errorf("record %+v (first byte %v after the request was written): want connect >= 200 ms, the request written after it, the first byte about 100 ms after the connect", r, attached)
		}
	}
}

func TestChurnUnsentHitsAreFailures(t *testing.T) {
	// 20 req/s for 3 s is 59 hits due before the step's end (at 50 ms to
	// 2950 ms; the one due at 3 s races with the end and is not counted).
	// A server that takes 300 ms and 2 workers send about 7 per second:
	// the rest never leave.
	sc := scenario(scenarios.WorkloadChurn, 1024, 3*time.Second, 0, 20)
	f := newFixture(t, sc, 1)
	f.withSOCKS(t, testkit.WithBehavior(testkit.Behavior{FirstByteDelay: 300 * time.Millisecond}))
	sum, err := Run(t.Context(), f.plan, WithMaxWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Steps[0]
	recs := f.recs.records(t)
	unsent := classes(recs)[rundir.ClassUnsent]
	if st.Offered != 59 || st.Sent+unsent != 59 || st.Sent > 25 || unsent != st.Errors[rundir.ClassUnsent] {
		t.Fatalf("offered %d, sent %d, %d unsent records (step errors %v): want 59 offered, at most 25 sent, the rest unsent",
			st.Offered, st.Sent, unsent, st.Errors)
	}
	due := map[time.Duration]bool{}
	for _, r := range recs {
		d := r.Intended.Sub(st.Start)
		if due[d] {
			t.Errorf("two records due %v into the step", d)
		}
		due[d] = true
		if r.Error == rundir.ClassUnsent && (r.Start.Before(st.End) || r.Worker != -1 || r.Endpoint != -1 || r.TTLBNS != 0) {
			t.Errorf("unsent record %+v: want it placed at the step's end, with no worker or endpoint", r)
		}
	}
	for n := 1; n <= 59; n++ {
		if !due[time.Duration(n)*50*time.Millisecond] {
			t.Errorf("no record for the hit due at %v", time.Duration(n)*50*time.Millisecond)
		}
	}
}
