package runner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// The tests of this file check the circuit-rate cap (limits.circuit_rate):
// the circuits opened stay within the token bucket's bound, and every
// wait for a token is recorded, before the request's start.

// circuitTimes returns when the fake SocksPorts read each connection's
// credentials: one circuit each (IsolateSOCKSAuth), in time order.
func (f *fixture) circuitTimes() []time.Time {
	var out []time.Time
	for _, s := range f.socks {
		for _, c := range s.Creds() {
			out = append(out, c.At)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// checkBucket checks the token bucket's promise on circuit times ts: any
// k circuits in a row span at least (k - burst) / rate seconds, that is
// k <= burst + rate·span. slack covers the time between the token and
// the SOCKS server reading the credentials (scheduling on a busy machine).
func checkBucket(t *testing.T, ts []time.Time, perSecond float64, burst int, slack time.Duration) {
	t.Helper()
	worst, at := 0.0, 0
	for i := range ts {
		for j := i; j < len(ts); j++ {
			k := float64(j - i + 1)
			allowed := float64(burst) + perSecond*(ts[j].Sub(ts[i])+slack).Seconds()
			if k-allowed > worst {
				worst, at = k-allowed, i
			}
		}
	}
	if worst > 0 {
		t.Errorf("circuits from %d on exceed the bucket (rate %g/s, burst %d) by %.1f: times %v", at, perSecond, burst, worst, ts)
	}
}

// TestCircuitCapHoldsTheRate: with stream isolation every request opens a
// circuit; the cap lets burst of them open at once, then rate per second,
// across all endpoints, and the requests it held back record the wait
// between Intended and Start.
func TestCircuitCapHoldsTheRate(t *testing.T) {
	const perSecond, burst = 10.0, 5
	sc := scenario(scenarios.WorkloadBulk, 16<<10, 2*time.Second, 500*time.Millisecond, 8)
	sc.Limits.CircuitRate, sc.Limits.CircuitBurst = perSecond, burst
	f := newFixture(t, sc, 2)
	began := time.Now()
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	ts := f.circuitTimes()
	checkBucket(t, ts, perSecond, burst, 30*time.Millisecond)
	// Not starved either: 8 streams of 16 KiB want hundreds a second, so
	// the bucket runs dry and the cap paces them at its rate.
	if want := float64(burst) + perSecond*sum.End.Sub(began).Seconds(); float64(len(ts)) < 0.8*want {
		t.Errorf("%d circuits in %v, want about %.0f (burst + rate × time)", len(ts), sum.End.Sub(began), want)
	}
	recs := f.recs.records(t)
	waited, window := 0, 0
	for _, r := range recs {
		if r.CapWaitNS > 0 {
			if lag := r.Start.Sub(r.Intended); lag < time.Duration(r.CapWaitNS) {
				t.Errorf("record waited %v for a token but started %v after its intended start", time.Duration(r.CapWaitNS), lag)
			}
		} else if !r.Start.Equal(r.Intended) {
			t.Errorf("record without a wait starts %v after its intended start", r.Start.Sub(r.Intended))
		}
		if r.Error != "" && r.Error != rundir.ClassStepEnd {
			t.Errorf("unexpected failure: %+v", r)
		}
		if !r.End().Before(sum.Steps[0].WarmupEnd) {
			window++
			if r.CapWaitNS > 0 {
				waited++
			}
		}
	}
	st := sum.Steps[0]
	if st.Requests != window || st.CapWaited != waited || waited < window/2 {
		t.Errorf("step: %d requests, %d waited for a token; the records: %d and %d; want most of them held back", st.Requests, st.CapWaited, window, waited)
	}
	if st.CapWait <= 0 || st.CapWaitMean != st.CapWait/time.Duration(st.CapWaited) {
		t.Errorf("step: total wait %v, mean %v over %d", st.CapWait, st.CapWaitMean, st.CapWaited)
	}
	// Every circuit is a request's: stream isolation dials once per
	// request, and a held-back request that never dialled has no circuit.
	if dialled := len(recs) - classes(recs)[rundir.ClassStepEnd]; len(ts) < dialled {
		t.Errorf("%d circuits for %d requests that went out", len(ts), dialled)
	}
}

// TestCircuitCapChurnHoldsBack: the open loop offers more requests than
// the cap admits. A request waits for its token before it starts, so its
// latency from the intended start includes the wait; one still waiting at
// the step's end was never sent (unsent, a failure of the load generator
// that the analysis attributes to the cap).
func TestCircuitCapChurnHoldsBack(t *testing.T) {
	const perSecond, burst = 5.0, 2
	sc := scenario(scenarios.WorkloadChurn, 16<<10, 2*time.Second, 0, 20)
	sc.Limits.CircuitRate, sc.Limits.CircuitBurst = perSecond, burst
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	ts := f.circuitTimes()
	checkBucket(t, ts, perSecond, burst, 30*time.Millisecond)
	recs := f.recs.records(t)
	st := sum.Steps[0]
	heldBack := 0
	for _, r := range recs {
		switch {
		case r.Error == rundir.ClassUnsent && r.CapWaitNS > 0:
			heldBack++
			if !strings.Contains(r.Detail, "circuit-rate cap") || r.TTLBNS > int64(time.Millisecond) {
				t.Errorf("held-back record %+v: want a detail naming the cap and no time of its own", r)
			}
		case r.Error == rundir.ClassUnsent:
		case r.Start.Sub(r.Intended) < time.Duration(r.CapWaitNS):
			t.Errorf("record waited %v but started %v after its intended start", time.Duration(r.CapWaitNS), r.Start.Sub(r.Intended))
		}
	}
	// 39 hits due, about 2 + 5 × 2 admitted; the rest held back (or never
	// handed out by the pacer): all accounted for. A hit admitted as the
	// step ends may be cut before its circuit.
	if st.Offered != 39 || st.Sent < len(ts) || st.Sent > len(ts)+2 || st.Sent > burst+int(perSecond*2)+1 || heldBack == 0 {
		t.Errorf("offered %d, sent %d, %d circuits, %d held back (classes %v): want 39 offered, about 12 sent, one circuit each, the rest held back",
			st.Offered, st.Sent, len(ts), heldBack, classes(recs))
	}
	if n := classes(recs)[rundir.ClassUnsent]; st.Sent+n != st.Offered {
		t.Errorf("sent %d + unsent %d != offered %d", st.Sent, n, st.Offered)
	}
}

// TestCircuitCapWorkerIsolation: with worker isolation a circuit serves a
// worker's requests one after another, so only a worker's first request
// takes a token; a worker still waiting at the step's end is cut, not
// failed, and dials nothing.
func TestCircuitCapWorkerIsolation(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 64<<10, 1500*time.Millisecond, 0, 4)
	sc.Workload.Isolation = scenarios.IsolationWorker
	// Two circuits at once, the third a second later, the fourth after
	// the step's end.
	sc.Limits.CircuitRate, sc.Limits.CircuitBurst = 1, 2
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.recs.records(t)
	if users := f.users(); len(users) != 3 {
		t.Errorf("%d circuits (%v), want 3: the fourth worker's token is due after the step", len(users), users)
	}
	waited, cut := 0, 0
	for _, r := range recs {
		if r.CapWaitNS == 0 {
			continue
		}
		waited++
		switch {
		case r.ConnectNS > 0:
		case r.Error == rundir.ClassStepEnd && r.TTLBNS < int64(time.Millisecond) && r.Bytes == 0:
			cut++
		default:
			t.Errorf("record %+v waited for a token, then neither connected nor was cut at the step's end", r)
		}
	}
	// net/http drops a kept-alive connection now and then (a request
	// write not confirmed within 50 ms on a busy machine); its worker then
	// needs a new circuit and waits like a first request, so the counts
	// are bounds.
	if cut < 1 || waited < 2 || len(recs) < 10*len(f.users()) {
		t.Errorf("%d records waited for a token, %d of them cut while waiting, %d records for %d circuits: want the third and fourth worker held back, the fourth to the step's end, and circuits kept alive",
			waited, cut, len(recs), len(f.users()))
	}
	if st := sum.Steps[0]; st.CapWaited != waited || st.ErrorCount() != 0 {
		t.Errorf("step %+v: want %d requests that waited and no failure", st, waited)
	}
}

// TestCircuitCapChurnWorkerIsolation: in the open loop with worker
// isolation requests share kept-alive connections, so after the first few
// circuits they need no token: a cap far below the request rate holds the
// circuits to its bound and still lets nearly every request through.
func TestCircuitCapChurnWorkerIsolation(t *testing.T) {
	const perSecond, burst = 1.0, 2
	sc := scenario(scenarios.WorkloadChurn, 4<<10, 2*time.Second, 0, 20)
	sc.Workload.Isolation = scenarios.IsolationWorker
	sc.Limits.CircuitRate, sc.Limits.CircuitBurst = perSecond, burst
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	ts := f.circuitTimes()
	checkBucket(t, ts, perSecond, burst, 30*time.Millisecond)
	recs := f.recs.records(t)
	if st := sum.Steps[0]; st.OK < 30 || len(ts) > burst+2 {
		t.Errorf("%d of 39 requests ok over %d circuits (classes %v): want nearly all through a few kept-alive circuits", st.OK, len(ts), classes(recs))
	}
}
