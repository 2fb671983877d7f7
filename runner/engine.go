package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/time/rate"
)

// Plan is what a run does: the scenario's workload and ramp, the payload
// and the SOCKS endpoints to send it through.
type Plan struct {
	// Repetition numbers this run of the ramp in the records; the caller
	// runs the ramp once per scenario repetition.
	Repetition int
	// Scenario supplies the workload, payload size, ramp and limits.
	// Required; pass a resolved scenario (scenarios.Parse/Load/Builtin).
	Scenario *scenarios.Scenario
	// Endpoints are the SOCKS5 ports to spread streams over. At least one.
	Endpoints []Endpoint
	// PayloadURL returns the URL of a payload of size bytes, e.g.
	// (*payload.Server).BytesURL. Nil means Scenario.Payload.URL.
	PayloadURL func(size int64) string
	// Verify checks every body byte against the payload package's content
	// as it streams in. Only for relaybench's own payload server.
	Verify bool
	// Seed is the payload seed verified against when the response carries
	// no payload.SeedHeader.
	Seed uint64
	// VerifySeeded verifies every response that shows itself to be
	// relaybench's content (payload.SeedOf: it carries payload.SeedHeader,
	// as every download of relaybench's payload server does, the built-in
	// one or `relaybench serve`) against the seed it names; a response
	// without the header is not verified. It is for a payload URL the
	// scenario gives, whose server relaybench did not start.
	VerifySeeded bool
	// Records receives one JSON line per request (requests.jsonl, a
	// rundir.Record each), written with a single Write call as the request
	// ends. Nil discards. The first failed write aborts the run: a record
	// that did not reach the disk is a hole in the measurement.
	Records io.Writer
	// LoopbackOnly refuses payload URLs and SOCKS destinations that are not
	// loopback addresses; switch it on for testnet and socks targets.
	LoopbackOnly bool
}

// Progress is a snapshot of a running run, passed to the WithProgress
// callback about every 500 ms.
type Progress struct {
	// Step is the 0-based index of the running step.
	Step int
	// Load is that step's load (streams or requests per second).
	Load int
	// Elapsed is the time since the step began.
	Elapsed time.Duration
	// RunElapsed is the time since the run began.
	RunElapsed time.Duration
	// BytesTotal is the body bytes received by the run so far.
	BytesTotal int64
	// MiBps is the goodput over about the last second, in MiB/s.
	MiBps float64
	// Requests is the number of requests ended so far in the run.
	Requests int64
	// Errors is the number of those that failed (step-end cuts excluded).
	Errors int64
}

// Option configures an Engine.
type Option func(*config)

type config struct {
	progress         func(Progress)
	progressInterval time.Duration
	maxWorkers       uint64
	deadAfter        int
	preflightTimeout time.Duration
	stepDone         func(rundir.StepSummary)
	stepStart        func(rundir.StepSummary)
	recordDone       func(*rundir.Record)
	startAt          time.Time // WithStartAt
}

// WithProgress sets a callback called about every 500 ms while the run
// goes, and once more at its end. It is called from one goroutine.
func WithProgress(f func(Progress)) Option { return func(c *config) { c.progress = f } }

// WithProgressInterval changes how often the progress callback is called
// (default 500 ms).
func WithProgressInterval(d time.Duration) Option {
	return func(c *config) { c.progressInterval = d }
}

// WithMaxWorkers caps the concurrent requests of the open loop (churn):
// when they are all busy the pacer waits, which shows as Start - Intended
// in the records. Default 10000.
func WithMaxWorkers(n uint64) Option { return func(c *config) { c.maxWorkers = n } }

// WithDeadAfter marks an endpoint dead after n consecutive refused
// connections to its SocksPort (tor is gone), in case the caller did not
// call MarkDead. 0 switches this off; default 3.
func WithDeadAfter(n int) Option { return func(c *config) { c.deadAfter = n } }

// WithStepDone sets a callback called with each step's summary as soon as
// the step has ended and its last request is recorded, so that a caller can
// stream step boundaries to disk before the run ends (a crash then still
// leaves them behind). It is called from Run's goroutine.
func WithStepDone(f func(rundir.StepSummary)) Option { return func(c *config) { c.stepDone = f } }

// WithStepStart sets a callback called as each step begins, with its
// Repetition, Step, Load, Start and WarmupEnd set (the counts are zero): a
// live view (package promexport) marks the step boundary with it. It is
// called from Run's goroutine before the step's first request.
func WithStepStart(f func(rundir.StepSummary)) Option { return func(c *config) { c.stepStart = f } }

// WithRecordDone sets a callback that sees each request's record right after
// it was written to Plan.Records, for a live view (package promexport). It
// is called from many goroutines at once, must not keep rec, and must be
// quick: it runs on the request's own goroutine.
func WithRecordDone(f func(rec *rundir.Record)) Option {
	return func(c *config) { c.recordDone = f }
}

// WithPreflightTimeout sets how long the start-up check of each SocksPort
// may take (default 3 s).
func WithPreflightTimeout(d time.Duration) Option {
	return func(c *config) { c.preflightTimeout = d }
}

// Engine runs one Plan once. Create it with New, then call Run; MarkDead
// and Abort may be called from other goroutines at any time.
type Engine struct {
	plan     Plan
	cfg      config
	sc       *scenarios.Scenario
	eps      *endpoints
	url      string
	size     int64
	timeout  time.Duration
	readRate int64
	records  *rundir.Writer[rundir.Record] // nil discards
	started  atomic.Bool

	// circuits is the circuit-rate cap's bucket (limits.circuit_rate),
	// shared by every endpoint and step; nil without a cap.
	circuits *rate.Limiter

	// stallTimeout ends a stream silent that long (see ErrStall); timeout
	// (above) bounds the wait for the first byte only.
	stallTimeout time.Duration

	abortOnce sync.Once
	aborted   chan struct{}
	abortErr  error

	// Run state.
	stopMu    sync.Mutex
	stoppedBy string
	stopErr   error
	cancelRun context.CancelCauseFunc

	pending  sync.Map // request id (uint64) -> *request
	nextID   atomic.Uint64
	total    atomic.Int64 // body bytes
	requests atomic.Int64
	errors   atomic.Int64
	cur      atomic.Pointer[step]
}

// New checks plan and returns an Engine for it.
func New(plan Plan, opts ...Option) (*Engine, error) {
	cfg := config{progressInterval: 500 * time.Millisecond, maxWorkers: 10000, deadAfter: 3, preflightTimeout: 3 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	sc := plan.Scenario
	if sc == nil {
		return nil, errors.New("runner: plan has no scenario: load one with scenarios.Load")
	}
	if len(sc.Ramp.Steps) == 0 || sc.Ramp.StepDuration <= 0 {
		return nil, fmt.Errorf("runner: scenario %s has no ramp steps or no step duration: resolve it with scenarios.Parse or Load", sc.Name)
	}
	if len(plan.Endpoints) == 0 {
		return nil, errors.New("runner: plan has no SOCKS endpoints: start tor clients or set target.socks.addresses")
	}
	for i, ep := range plan.Endpoints {
		if ep.Addr == "" {
			return nil, fmt.Errorf("runner: endpoint %d (%s) has no address: give it the SocksPort as host:port", i, ep.Name)
		}
		if ep.Name == "" {
			plan.Endpoints[i].Name = ep.Addr
		}
	}
	e := &Engine{plan: plan, cfg: cfg, sc: sc, aborted: make(chan struct{})}
	e.size = int64(sc.Payload.Size)
	if e.size <= 0 {
		e.size = 10 << 20
		if sc.Workload.Kind == scenarios.WorkloadChurn {
			e.size = 64 << 10
		}
	}
	switch sc.Workload.Kind {
	case scenarios.WorkloadBulk, scenarios.WorkloadChurn:
	case scenarios.WorkloadSlowReaders:
		e.readRate = int64(sc.Workload.ReadRate)
		if e.readRate <= 0 {
			return nil, fmt.Errorf("runner: scenario %s: slow-readers needs workload.read_rate, e.g. 64KiB/s", sc.Name)
		}
	default:
		return nil, fmt.Errorf("runner: scenario %s: workload kind %q: use bulk, churn or slow-readers", sc.Name, sc.Workload.Kind)
	}
	e.timeout = sc.Workload.Timeout.Std()
	if e.timeout <= 0 {
		e.timeout = sc.Ramp.DefaultTimeout().Std()
	}
	e.stallTimeout = sc.Workload.StallTimeout.Std()
	if e.stallTimeout <= 0 {
		e.stallTimeout = sc.Ramp.DefaultStallTimeout().Std()
	}
	if plan.PayloadURL != nil {
		e.url = plan.PayloadURL(e.size)
	} else {
		e.url = sc.Payload.URL
	}
	u, err := url.Parse(e.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("runner: payload URL %q is not an http(s) URL: set payload.url, or leave it empty to use the built-in payload server", e.url)
	}
	if plan.LoopbackOnly {
		if err := chutney.CheckLoopback(u.Hostname()); err != nil {
			return nil, fmt.Errorf("runner: payload URL %s: %w: use the built-in payload server (leave payload.url empty) or a loopback URL", e.url, err)
		}
	}
	e.circuits = newCircuitLimiter(sc.Limits.CircuitRate, sc.Limits.CircuitBurst)
	e.eps = newEndpoints(plan.Endpoints, cfg.deadAfter)
	if plan.Records != nil {
		e.records = rundir.NewWriter[rundir.Record](plan.Records, rundir.RequestsFile)
	}
	return e, nil
}

// Run runs plan once; see Engine.Run.
func Run(ctx context.Context, plan Plan, opts ...Option) (Summary, error) {
	e, err := New(plan, opts...)
	if err != nil {
		return Summary{}, err
	}
	return e.Run(ctx)
}

// MarkDead tells the engine that endpoint i (index into Plan.Endpoints)
// died, e.g. its tor client exited. The engine stops dialling it and sends
// new streams to the rest; streams running through it fail on their own.
// When no endpoint is left the run stops with ErrNoEndpoints. Safe to call
// at any time, from any goroutine, more than once.
func (e *Engine) MarkDead(i int) { e.eps.markDead(i) }

// Alive reports whether endpoint i is still in rotation.
func (e *Engine) Alive(i int) bool { return e.eps.alive(i) }

// Abort stops the run because of err (e.g. a test network node died):
// in-flight requests are recorded as canceled and Run returns an error
// wrapping err, with Summary.StoppedBy "aborted". Safe to call at any
// time, from any goroutine; only the first call counts.
func (e *Engine) Abort(err error) {
	e.abortOnce.Do(func() {
		if err == nil {
			err = errors.New("aborted")
		}
		e.abortErr = err
		close(e.aborted)
	})
}

// abortReason is Summary.StoppedBy for an Abort with err: "write-failed"
// when a raw file could not be written, "onset-abort" at the relay's
// overload onset (ErrOnsetAbort), "aborted" for anything else.
func abortReason(err error) string {
	switch {
	case errors.Is(err, rundir.ErrWrite):
		return "write-failed"
	case errors.Is(err, ErrOnsetAbort):
		return "onset-abort"
	}
	return "aborted"
}

// stop ends the run for reason; the first reason wins.
func (e *Engine) stop(reason string, err error) {
	e.stopMu.Lock()
	defer e.stopMu.Unlock()
	if e.stoppedBy != "" {
		return
	}
	e.stoppedBy, e.stopErr = reason, err
	if e.cancelRun != nil {
		e.cancelRun(fmt.Errorf("%w: %w", ErrStopped, err))
	}
}

// Run runs the ramp's steps back to back and returns the summary. It
// first checks that every SocksPort listens, and fails fast if one does
// not. It stops early when ctx is canceled (in-flight requests are
// recorded as canceled and ctx.Err() is returned with what was measured),
// at limits.max_duration or limits.max_bytes (an error wrapping ErrLimit),
// when no endpoint is left (ErrNoEndpoints) or on Abort. Summary.StoppedBy
// says which. An Engine runs once.
func (e *Engine) Run(ctx context.Context) (Summary, error) {
	if !e.started.CompareAndSwap(false, true) {
		return Summary{}, errors.New("runner: this Engine already ran: create a new one with New for every run")
	}
	var live []Endpoint
	for i, ep := range e.plan.Endpoints {
		if e.eps.alive(i) {
			live = append(live, ep)
		}
	}
	if len(live) == 0 {
		return Summary{StoppedBy: "no-endpoints"}, fmt.Errorf("%w: every endpoint was marked dead before the run started: check the tor clients", ErrNoEndpoints)
	}
	if err := preflight(ctx, live, e.cfg.preflightTimeout); err != nil {
		return Summary{StoppedBy: "no-endpoints"}, err
	}
	if stoppedBy, err := e.waitForStart(ctx); err != nil {
		return Summary{StoppedBy: stoppedBy}, err
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.stopMu.Lock()
	e.cancelRun = cancel
	e.stopMu.Unlock()

	sum := Summary{Start: time.Now()}
	var watchers sync.WaitGroup
	watchDone := make(chan struct{})
	if d := e.sc.Limits.MaxDuration.Std(); d > 0 {
		t := time.AfterFunc(d, func() {
			e.stop("max-duration", fmt.Errorf("%w: the run took limits.max_duration %s: raise it or shorten the ramp", ErrLimit, d))
		})
		defer t.Stop()
	}
	watchers.Go(func() {
		select {
		case <-e.eps.allDead:
			e.stop("no-endpoints", fmt.Errorf("%w: all %d SOCKS endpoints died during the run: check the tor clients' logs", ErrNoEndpoints, len(e.plan.Endpoints)))
		case <-e.aborted:
			e.stop(abortReason(e.abortErr), fmt.Errorf("run aborted: %w", e.abortErr))
		case <-watchDone:
		}
	})
	if e.cfg.progress != nil {
		watchers.Go(func() { e.progressLoop(sum.Start, watchDone) })
	}

	steps := make([]*step, 0, len(e.sc.Ramp.Steps))
	for i, load := range e.sc.Ramp.Steps {
		if runCtx.Err() != nil {
			break
		}
		st := e.runStep(runCtx, i, load)
		steps = append(steps, st)
		if e.cfg.stepDone != nil {
			e.cfg.stepDone(st.summary())
		}
	}
	close(watchDone)
	watchers.Wait()
	sum.End = time.Now()
	for _, st := range steps {
		sum.Steps = append(sum.Steps, st.summary())
	}
	sum.Requests, sum.Errors, sum.Bytes = e.requests.Load(), e.errors.Load(), e.total.Load()

	e.stopMu.Lock()
	var err error
	sum.StoppedBy, err = e.stoppedBy, e.stopErr
	e.stopMu.Unlock()
	switch {
	case sum.StoppedBy != "":
	case ctx.Err() != nil:
		sum.StoppedBy, err = "canceled", ctx.Err()
	default:
		sum.StoppedBy = "completed"
	}
	if e.records != nil {
		if werr := e.records.Err(); werr != nil && !errors.Is(err, werr) {
			err = errors.Join(err, werr)
		}
	}
	return sum, err
}

// progressLoop calls the progress callback until done is closed.
func (e *Engine) progressLoop(began time.Time, done <-chan struct{}) {
	type sample struct {
		t time.Time
		n int64
	}
	hist := []sample{{began, 0}}
	tick := time.NewTicker(e.cfg.progressInterval)
	defer tick.Stop()
	for {
		final := false
		select {
		case <-tick.C:
		case <-done:
			final = true
		}
		now := time.Now()
		n := e.total.Load()
		hist = append(hist, sample{now, n})
		for len(hist) > 2 && now.Sub(hist[1].t) >= time.Second {
			hist = hist[1:]
		}
		p := Progress{RunElapsed: now.Sub(began), BytesTotal: n, Requests: e.requests.Load(), Errors: e.errors.Load()}
		if dt := now.Sub(hist[0].t).Seconds(); dt > 0 {
			p.MiBps = units.InMiB(n-hist[0].n) / dt
		}
		if st := e.cur.Load(); st != nil {
			p.Step, p.Load, p.Elapsed = st.key.Step, st.load, now.Sub(st.start)
		}
		e.cfg.progress(p)
		if final {
			return
		}
	}
}

// idHeader carries the request id from the Targeter to the RoundTripper,
// which strips it before the request leaves.
const idHeader = "X-Relaybench-Request"

// runStep runs one ramp step to its end (or the run's).
func (e *Engine) runStep(runCtx context.Context, index, load int) *step {
	dur := e.stepLength(index)
	stepCtx, cancelStep := context.WithCancelCause(runCtx)
	defer cancelStep(ErrStepEnd)
	st := &step{key: rundir.StepKey{Repetition: e.plan.Repetition, Step: index}, load: load, ctx: stepCtx, open: e.sc.Workload.Kind == scenarios.WorkloadChurn, dur: dur}
	if load <= 0 || dur <= 0 {
		return e.idleStep(st, dur)
	}
	if st.open {
		st.interval = time.Second / time.Duration(load)
	} else {
		st.slots = make(chan int, load)
		for w := range load {
			st.slots <- w
		}
	}
	tr := e.newStepTransport(st)
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var opts []func(*vegeta.Attacker)
	var pacer vegeta.Pacer
	if st.open {
		pacer = vegeta.ConstantPacer{Freq: load, Per: time.Second}
		opts = append(opts, vegeta.Workers(uint64(min(load, 64))), vegeta.MaxWorkers(max(e.cfg.maxWorkers, 1)))
	} else {
		// Rate 0 with Workers == MaxWorkers is vegeta's closed loop: each
		// worker takes the next tick as soon as its request ended.
		pacer = vegeta.ConstantPacer{}
		opts = append(opts, vegeta.Workers(uint64(load)), vegeta.MaxWorkers(uint64(load)))
	}
	// MaxBody(0): vegeta keeps no body bytes; it drains the body with
	// io.Copy, which uses our body's WriteTo. Client goes last: it replaces
	// the http.Client (and with it the transport) the other options edit.
	opts = append(opts, vegeta.MaxBody(0), vegeta.Client(client))
	atk := vegeta.NewAttacker(opts...)
	stopAtk := context.AfterFunc(stepCtx, func() { atk.Stop() })
	defer stopAtk()

	// A second more than the step lasts: the last bytes may arrive just
	// after the timer fired.
	st.secondBytes = make([]atomic.Int64, int(dur/time.Second)+2)
	st.start = time.Now()
	st.warmEnd = st.start.Add(e.sc.Ramp.Warmup.Std())
	e.cur.Store(st)
	if e.cfg.stepStart != nil {
		e.cfg.stepStart(rundir.StepSummary{StepKey: st.key, Load: load, Start: st.start, WarmupEnd: st.warmEnd})
	}
	timer := time.AfterFunc(dur, func() { cancelStep(ErrStepEnd) })
	defer timer.Stop()
	for range atk.Attack(e.targeter(st), pacer, dur, "") {
		// Records are written by the transport; vegeta's results carry nothing more.
	}
	// The step ran to its end unless the run stopped first: then its
	// context's cause is the run's, not ErrStepEnd.
	st.interrupted = stepCtx.Err() != nil && !errors.Is(context.Cause(stepCtx), ErrStepEnd)
	cancelStep(ErrStepEnd)
	st.end = time.Now()
	tr.closeIdle()
	if st.open {
		e.recordUnsent(st, dur)
	}
	return st
}

// recordUnsent compares the open loop's schedule with what was sent: the
// pacer's hits due by the step's end (or the run's, if it stopped early)
// that the load generator never sent, because all its workers were busy,
// are recorded as failed (class unsent) instead of vanishing. Dropping them
// would hide exactly the load the relay could not take.
func (e *Engine) recordUnsent(st *step, dur time.Duration) {
	// Hit n (1-based) is due at n × interval (see targeter). One due
	// exactly at the end races with it and is not counted: offered are
	// the hits due before the end.
	until := min(st.end.Sub(st.start), dur)
	offered := int((until - 1) / st.interval)
	// Hits handed out but held back by the circuit-rate cap until the
	// end were recorded unsent as they ended; the rest never left the
	// pacer.
	handed := min(int(st.seq.Load()), offered)
	sent := max(handed-int(st.heldBack.Load()), 0)
	st.mu.Lock()
	st.offered, st.sent = offered, sent
	st.mu.Unlock()
	workers := max(e.cfg.maxWorkers, 1)
	for n := handed + 1; n <= offered; n++ {
		due := time.Duration(n) * st.interval
		rec := rundir.Record{
			StepKey: st.key, Load: st.load, Worker: -1, Endpoint: -1,
			Intended: st.start.Add(due), Start: st.end, Error: rundir.ClassUnsent,
			Detail: fmt.Sprintf("due %s into the step, never sent before the step ended after %s: the load generator (at most %d concurrent requests) fell behind its schedule",
				due.Round(time.Millisecond), st.end.Sub(st.start).Round(time.Millisecond), workers),
		}
		e.record(st, &rec, 0)
	}
}

// targeter hands vegeta the next request of step st.
func (e *Engine) targeter(st *step) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		if st.ctx.Err() != nil {
			return vegeta.ErrNoTargets
		}
		r := &request{e: e, step: st, worker: -1}
		r.endpoint.Store(-1)
		if st.open {
			// vegeta's ConstantPacer schedules hit n (1-based) at n/R.
			n := st.seq.Add(1)
			r.intended = st.start.Add(time.Duration(n) * st.interval)
		} else {
			select {
			case r.worker = <-st.slots:
			case <-st.ctx.Done():
				return vegeta.ErrNoTargets
			}
		}
		id := e.nextID.Add(1)
		e.pending.Store(id, r)
		t.Method = http.MethodGet
		t.URL = e.url
		t.Header = http.Header{idHeader: []string{strconv.FormatUint(id, 10)}}
		return nil
	}
}
