package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
)

// lockedBuffer is a records sink the test can read while the run writes.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *lockedBuffer) records(t *testing.T) []rundir.Record {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	lines, err := rundir.ReadLines[rundir.Record](bytes.NewReader(b.buf.Bytes()), rundir.RequestsFile)
	recs := lines.Records
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != b.writes {
		t.Fatalf("%d records in %d writes: want one write per record", len(recs), b.writes)
	}
	return recs
}

func scenario(kind scenarios.WorkloadKind, size int64, stepDur, warmup time.Duration, steps ...int) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name:     "test",
		Payload:  scenarios.Payload{Size: scenarios.ByteSize(size)},
		Workload: scenarios.Workload{Kind: kind, Isolation: scenarios.IsolationStream, Timeout: scenarios.Duration(20 * time.Second), StallTimeout: scenarios.Duration(5 * time.Second)},
		Ramp:     scenarios.Ramp{Steps: steps, StepDuration: scenarios.Duration(stepDur), Warmup: scenarios.Duration(warmup)},
		Limits:   scenarios.Limits{MaxDuration: scenarios.Duration(time.Minute), MaxBytes: 20 << 30},
	}
}

type fixture struct {
	srv   *payload.Server
	socks []*testkit.SOCKSServer
	recs  *lockedBuffer
	plan  Plan
}

func newFixture(t *testing.T, sc *scenarios.Scenario, nSocks int, srvOpts ...payload.Option) *fixture {
	t.Helper()
	srv, err := payload.Listen("", srvOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &fixture{srv: srv, recs: &lockedBuffer{}}
	var eps []Endpoint
	for i := range nSocks {
		s := testkit.StartSOCKS(t)
		f.socks = append(f.socks, s)
		eps = append(eps, Endpoint{Name: fmt.Sprintf("socks%d", i), Addr: s.Addr()})
	}
	f.plan = Plan{Scenario: sc, Endpoints: eps, PayloadURL: srv.BytesURL, Verify: true, Seed: payload.DefaultSeed, Records: f.recs, LoopbackOnly: true}
	return f
}

func (f *fixture) users() []string {
	var all []string
	for _, s := range f.socks {
		all = append(all, s.Usernames()...)
	}
	return all
}

func classes(recs []rundir.Record) map[string]int {
	m := map[string]int{}
	for _, r := range recs {
		m[r.Error]++
	}
	return m
}

func TestBulkRamp(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 1<<20, time.Second, 200*time.Millisecond, 1, 2, 4)
	f := newFixture(t, sc, 2)
	var progress []Progress
	sum, err := Run(t.Context(), f.plan, WithProgress(func(p Progress) { progress = append(progress, p) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", sum.Table())
	if sum.StoppedBy != "completed" || len(sum.Steps) != 3 {
		t.Fatalf("stopped by %q after %d steps, want completed after 3", sum.StoppedBy, len(sum.Steps))
	}
	recs := f.recs.records(t)
	if int64(len(recs)) != sum.Requests {
		t.Errorf("%d records, summary says %d requests", len(recs), sum.Requests)
	}
	perStep := map[int]int{}
	endpoints := map[int]int{}
	for _, r := range recs {
		perStep[r.Step]++
		endpoints[r.Endpoint]++
		if r.Worker < 0 || r.Worker >= r.Load {
			t.Errorf("record worker %d outside 0..%d", r.Worker, r.Load-1)
		}
		if !r.Intended.Equal(r.Start) {
			t.Errorf("closed loop record intended %v != start %v", r.Intended, r.Start)
		}
		if r.Error == "" && (r.Bytes != 1<<20 || r.Status != 200 || r.ConnectNS <= 0 || r.TTFBNS < r.ConnectNS || r.TTLBNS < r.TTFBNS) {
			t.Errorf("successful record is inconsistent: %+v", r)
		}
		if r.Error != "" && r.Error != rundir.ClassStepEnd {
			t.Errorf("unexpected failure: %+v", r)
		}
	}
	for i, st := range sum.Steps {
		if st.Load != []int{1, 2, 4}[i] || st.OK == 0 || st.Goodput <= 0 || st.StreamGoodputP50 <= 0 || st.TTFBP50 <= 0 || st.TTLBP95 < st.TTLBP50 {
			t.Errorf("step %d: %+v", i, st)
		}
		if st.Requests+st.Warmup != perStep[i] || st.Requests != st.OK+st.Cut+st.ErrorCount() {
			t.Errorf("step %d: %d requests + %d warm-up, %d ok, %d cut; %d records", i, st.Requests, st.Warmup, st.OK, st.Cut, perStep[i])
		}
		if st.Cut > st.Load {
			t.Errorf("step %d: %d requests cut at step end, at most %d streams run", i, st.Cut, st.Load)
		}
	}
	if endpoints[0] == 0 || endpoints[1] == 0 {
		t.Errorf("requests per endpoint %v: want both endpoints used", endpoints)
	}
	// Stream isolation: new credentials for every request.
	users := f.users()
	if len(users) < len(recs)-sum.Steps[2].Load || len(slices.Compact(slices.Sorted(slices.Values(users)))) != len(users) {
		t.Errorf("%d SOCKS usernames (%d distinct) for %d requests: want one fresh username per request",
			len(users), len(slices.Compact(slices.Sorted(slices.Values(users)))), len(recs))
	}
	if len(progress) < 4 || progress[len(progress)-1].BytesTotal != sum.Bytes {
		t.Errorf("%d progress calls, last %+v; want about 6, ending at %d bytes", len(progress), progress[len(progress)-1], sum.Bytes)
	}
}

func TestWorkerIsolation(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 256<<10, time.Second, 0, 2)
	sc.Workload.Isolation = scenarios.IsolationWorker
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.recs.records(t)
	if sum.Steps[0].OK < 4 {
		t.Fatalf("only %d successful requests", sum.Steps[0].OK)
	}
	if users := f.users(); len(users) != 2 || users[0] == users[1] {
		t.Errorf("SOCKS usernames %v: want one per worker, 2 distinct", users)
	}
	connects := map[int]int{}
	for _, r := range recs {
		if r.ConnectNS > 0 {
			connects[r.Worker]++
		}
	}
	if connects[0] != 1 || connects[1] != 1 {
		t.Errorf("new connections per worker %v: want exactly 1 each (kept alive)", connects)
	}
}

func TestChurn(t *testing.T) {
	sc := scenario(scenarios.WorkloadChurn, 16<<10, 2*time.Second, 0, 20)
	f := newFixture(t, sc, 2)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	recs := f.recs.records(t)
	if len(recs) < 38 || len(recs) > 42 {
		t.Fatalf("%d requests at 20/s for 2s, want about 40", len(recs))
	}
	slices.SortFunc(recs, func(a, b rundir.Record) int { return a.Intended.Compare(b.Intended) })
	for i, r := range recs {
		if r.Worker != -1 {
			t.Errorf("open loop record has worker %d, want -1", r.Worker)
		}
		if i > 0 {
			if d := r.Intended.Sub(recs[i-1].Intended); d != 50*time.Millisecond {
				t.Errorf("intended times %d and %d are %v apart, want 50ms", i-1, i, d)
			}
		}
		if lag := r.Start.Sub(r.Intended); lag < -time.Millisecond || lag > 40*time.Millisecond {
			t.Errorf("request %d started %v after its intended time", i, lag)
		}
	}
	if sum.Steps[0].OK < 36 {
		t.Errorf("%d ok of %d", sum.Steps[0].OK, len(recs))
	}
	// A generator that keeps up sends every hit due in the step.
	if st := sum.Steps[0]; classes(recs)[rundir.ClassUnsent] != 0 || st.Offered != 39 || st.Sent != st.Offered {
		t.Errorf("offered %d, sent %d, classes %v: want the 39 hits due before the step's end sent, none unsent", st.Offered, st.Sent, classes(recs))
	}
}

func TestSlowReaders(t *testing.T) {
	const rate = 64 << 10
	sc := scenario(scenarios.WorkloadSlowReaders, 48<<10, 2*time.Second, 0, 2)
	sc.Workload.ReadRate = rate
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Steps[0]
	if got := st.StreamGoodputP50; got < 0.8*rate || got > 1.2*rate {
		t.Errorf("per-stream goodput p50 %.0f B/s, want %d ±20%%", got, rate)
	}
	if got := st.Goodput; got < 0.8*2*rate || got > 1.2*2*rate {
		t.Errorf("step goodput %.0f B/s for 2 streams, want %d ±20%%", got, 2*rate)
	}
	if st.OK < 4 {
		t.Errorf("%d successful requests, want at least 4 (2 streams, 0.75s each, 2s)", st.OK)
	}
}

func TestPayloadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  payload.Option
		want string
	}{
		{"corrupted", payload.WithCorruption(100000), rundir.ClassPayloadMismatch},
		{"truncated", payload.WithTruncation(100000), rundir.ClassShortRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(scenarios.WorkloadBulk, 256<<10, time.Second, 0, 2)
			f := newFixture(t, sc, 1, tc.opt)
			sum, err := Run(t.Context(), f.plan)
			if err != nil {
				t.Fatal(err)
			}
			recs := f.recs.records(t)
			got := classes(recs)
			if got[tc.want] < 2 || got[tc.want] < len(recs)-2 || got[""] != 0 {
				t.Errorf("error classes %v, want all %s", got, tc.want)
			}
			if sum.Steps[0].Errors[tc.want] == 0 || sum.Steps[0].OK != 0 {
				t.Errorf("summary %+v", sum.Steps[0])
			}
			for _, r := range recs {
				if r.Error == tc.want && (r.Detail == "" || r.Endpoint != 0) {
					t.Errorf("record %+v: want detail and endpoint 0", r)
				}
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	sc := scenario(scenarios.WorkloadChurn, 1024, time.Second, 0, 10)
	f := newFixture(t, sc, 1)
	f.plan.PayloadURL = func(int64) string { return f.srv.URL() + "/nope" }
	if _, err := Run(t.Context(), f.plan); err != nil {
		t.Fatal(err)
	}
	got := classes(f.recs.records(t))
	if got["http-404"] < 8 {
		t.Errorf("error classes %v, want http-404", got)
	}
}

func TestNotListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sc := scenario(scenarios.WorkloadBulk, 1024, time.Second, 0, 1)
	f := newFixture(t, sc, 1)
	f.plan.Endpoints = append(f.plan.Endpoints, Endpoint{Name: "gone", Addr: addr})
	start := time.Now()
	_, err = Run(t.Context(), f.plan)
	if err == nil || !strings.Contains(err.Error(), "SOCKS port "+addr+" (gone) is not listening") || !strings.Contains(err.Error(), "start tor") {
		t.Fatalf("error %v, want one naming %s", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to notice", d)
	}
	if len(f.recs.records(t)) != 0 {
		t.Error("records written before the preflight check passed")
	}
}

func TestEndpointDies(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 256<<10, time.Second, 0, 2, 2)
	f := newFixture(t, sc, 2)
	e, err := New(f.plan)
	if err != nil {
		t.Fatal(err)
	}
	var killed time.Time
	go func() {
		time.Sleep(700 * time.Millisecond)
		f.socks[1].Close() // tor client exits ...
		killed = time.Now()
		e.MarkDead(1) // ... and the caller notices
	}()
	sum, err := e.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs := f.recs.records(t)
	before, after := map[int]int{}, map[int]int{}
	for _, r := range recs {
		if r.Error != "" {
			continue
		}
		if r.Start.Before(killed) {
			before[r.Endpoint]++
		} else {
			after[r.Endpoint]++
		}
	}
	if before[1] == 0 || after[1] != 0 || after[0] == 0 {
		t.Errorf("ok requests per endpoint before the kill %v, after %v: want endpoint 1 only before", before, after)
	}
	if sum.Steps[1].OK == 0 || sum.StoppedBy != "completed" || e.Alive(1) || !e.Alive(0) {
		t.Errorf("stopped by %s, step 2 %+v", sum.StoppedBy, sum.Steps[1])
	}
}

func TestEndpointDiesUnnoticed(t *testing.T) {
	// Nobody calls MarkDead: refused connections take the endpoint out.
	sc := scenario(scenarios.WorkloadChurn, 1024, 2*time.Second, 0, 20)
	f := newFixture(t, sc, 2)
	e, err := New(f.plan)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(500*time.Millisecond, f.socks[1].Close)
	if _, err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := classes(f.recs.records(t))
	if n := got[rundir.ClassSocksUnreachable]; n < 3 || n > 6 || e.Alive(1) || got[""] < 30 {
		t.Errorf("classes %v; want 3 (a few more racing) socks-unreachable, then endpoint 1 dead", got)
	}
}

func TestAllEndpointsDie(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 256<<10, 2*time.Second, 0, 2, 4)
	f := newFixture(t, sc, 2)
	e, err := New(f.plan)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() {
		for i, s := range f.socks {
			s.Close()
			e.MarkDead(i)
		}
	})
	start := time.Now()
	sum, err := e.Run(t.Context())
	if !errors.Is(err, ErrNoEndpoints) || sum.StoppedBy != "no-endpoints" {
		t.Fatalf("err %v, stopped by %q; want ErrNoEndpoints", err, sum.StoppedBy)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("run went on for %v after all endpoints died", d)
	}
	if len(f.recs.records(t)) == 0 || sum.Steps[0].OK == 0 {
		t.Error("records of the requests before the deaths are missing")
	}
}

func TestCancel(t *testing.T) {
	sc := scenario(scenarios.WorkloadSlowReaders, 1<<20, 10*time.Second, 0, 4)
	sc.Workload.ReadRate = 64 << 10
	f := newFixture(t, sc, 1)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(500*time.Millisecond, cancel)
	sum, err := Run(ctx, f.plan)
	if !errors.Is(err, context.Canceled) || sum.StoppedBy != "canceled" {
		t.Fatalf("err %v, stopped by %q; want context.Canceled", err, sum.StoppedBy)
	}
	if d := sum.End.Sub(sum.Start); d > 1500*time.Millisecond {
		t.Errorf("run took %v, want it to stop about 1s after the cancel at 0.5s", d)
	}
	recs := f.recs.records(t)
	if got := classes(recs); got[rundir.ClassCanceled] != 4 || len(recs) != 4 {
		t.Errorf("classes %v, want 4 canceled", got)
	}
	for _, r := range recs {
		if r.Bytes < 16<<10 {
			t.Errorf("canceled record kept %d bytes, want the ~32KiB read before the cancel", r.Bytes)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 1<<20, 5*time.Second, 0, 2)
	sc.Limits.MaxBytes = 4 << 20
	f := newFixture(t, sc, 1)
	sum, err := Run(t.Context(), f.plan)
	if !errors.Is(err, ErrLimit) || sum.StoppedBy != "max-bytes" {
		t.Fatalf("err %v, stopped by %q; want max-bytes", err, sum.StoppedBy)
	}
	if sum.Bytes <= 4<<20 || sum.Bytes > 7<<20 || sum.End.Sub(sum.Start) > 3*time.Second {
		t.Errorf("stopped after %d bytes and %v", sum.Bytes, sum.End.Sub(sum.Start))
	}
}

func TestLoopbackOnly(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 1024, time.Second, 0, 1)
	f := newFixture(t, sc, 1)
	f.plan.PayloadURL = func(int64) string { return "http://192.0.2.1/bytes/1024" }
	if _, err := New(f.plan); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback payload URL accepted: %v", err)
	}
	f.plan.LoopbackOnly = false
	if _, err := New(f.plan); err != nil {
		t.Errorf("without LoopbackOnly: %v", err)
	}
}

func TestAbort(t *testing.T) {
	// Slow readers (1 MiB at 64 KiB/s: 16 s a request) are certainly in
	// flight at the abort; fast bulk workers may both be between two
	// requests, which made this test flaky.
	sc := scenario(scenarios.WorkloadSlowReaders, 1<<20, 2*time.Second, 0, 2)
	sc.Workload.ReadRate = 64 << 10
	f := newFixture(t, sc, 1)
	e, err := New(f.plan)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("relay under test died")
	time.AfterFunc(300*time.Millisecond, func() { e.Abort(boom) })
	sum, err := e.Run(t.Context())
	if !errors.Is(err, boom) || sum.StoppedBy != "aborted" || sum.End.Sub(sum.Start) > time.Second {
		t.Fatalf("err %v, stopped by %q after %v; want the abort error at once", err, sum.StoppedBy, sum.End.Sub(sum.Start))
	}
	// Both streams were running: both are recorded, as canceled.
	if got := classes(f.recs.records(t)); got[rundir.ClassCanceled] != 2 || len(got) != 1 {
		t.Errorf("classes %v: want the 2 running requests recorded as canceled", got)
	}
}

type brokenDisk struct{}

func (brokenDisk) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A request record that cannot be written stops the run at once with the
// write error: a record missing from requests.jsonl is a hole in the
// measurement, not something to find out after a 30-minute run.
func TestRecordWriteFailureAbortsTheRun(t *testing.T) {
	sc := scenario(scenarios.WorkloadBulk, 64<<10, 5*time.Second, 0, 2)
	f := newFixture(t, sc, 1)
	f.plan.Records = brokenDisk{}
	sum, err := Run(t.Context(), f.plan)
	if err == nil || !strings.Contains(err.Error(), "write requests.jsonl: no space left on device") || sum.StoppedBy != "aborted" {
		t.Fatalf("err %v, stopped by %q; want the write error and an aborted run", err, sum.StoppedBy)
	}
	if strings.Count(err.Error(), "no space left") != 1 {
		t.Errorf("error %q repeats the write error", err)
	}
	if d := sum.End.Sub(sum.Start); d > 3*time.Second {
		t.Errorf("run went on for %v after the first failed write", d)
	}
}
