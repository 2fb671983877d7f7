package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"golang.org/x/time/rate"
)

// The circuit-rate cap (limits.circuit_rate): a token bucket that every
// new circuit of the run takes a token from. A new circuit is a new SOCKS
// connection: the dialer gives each fresh credentials, and tor's
// IsolateSOCKSAuth builds a circuit for each. All tor clients of a run
// leave from one address, which is what relays count circuit creations by,
// so one bucket serves every endpoint and step.
//
// The engine takes the token before a request starts whenever it knows
// the request will dial (stream isolation: every request; worker
// isolation: a worker without a live connection), so that the wait is the
// load generator holding back, like a pacer behind its schedule: it lies
// between Intended and Start, and the request's timeouts do not run while
// it waits. The dialer takes one itself for a dial the engine did not
// foresee, so the cap holds for every circuit whatever the prediction.

// ErrHeldBack is the cause of an open-loop request that the circuit-rate
// cap held back until its step ended: it was never sent, like a hit the
// pacer never sent (class unsent).
var ErrHeldBack = errors.New("held back by the circuit-rate cap (limits.circuit_rate) until the step ended: never sent")

// errCapCut is the cause of a closed-loop request still waiting for a
// circuit token when its step ended: cut by the step's end, no failure.
var errCapCut = fmt.Errorf("%w: it was still waiting for a token of the circuit-rate cap (limits.circuit_rate)", ErrStepEnd)

// newCircuitLimiter returns the run's bucket, nil without a cap.
func newCircuitLimiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
}

// waitCircuit takes a token from lim, waiting until it is due or ctx is
// done (the token then goes back), and returns how long it waited: 0 when
// a token was there.
func waitCircuit(ctx context.Context, lim *rate.Limiter) (time.Duration, error) {
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	res := lim.Reserve()
	d := res.Delay()
	if d == 0 {
		return 0, nil
	}
	from := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return time.Since(from), nil
	case <-ctx.Done():
		res.Cancel()
		return time.Since(from), context.Cause(ctx)
	}
}

// requestKey finds a request's state from its context, as the dialer sees
// it: net/http dials with the request's context values.
type requestKey struct{}

// needsCircuit reports whether r's round trip will open a new connection,
// and with it a new circuit.
func (t *stepTransport) needsCircuit(r *request) bool {
	switch {
	case t.slot != nil:
		return t.slotConns[r.worker].Load() == 0
	case t.keepAlive:
		// Open loop with worker isolation: kept-alive connections are
		// shared, so a request dials when no connection is idle.
		// inflight counts r itself.
		return t.conns.Load() < t.inflight.Load()
	}
	return true // stream isolation: a new connection for every request
}

// holdBack makes r wait for a circuit token when its round trip will open
// a circuit, before r starts. It returns the cause to end r with when its
// step (or the run) ended during the wait.
func (t *stepTransport) holdBack(r *request) error {
	if t.e.circuits == nil || t.st.ctx.Err() != nil || !t.needsCircuit(r) {
		// A request handed out as its step ends goes on to be cut.
		return nil
	}
	wait, err := waitCircuit(t.st.ctx, t.e.circuits)
	r.capWait.Add(int64(wait))
	if err == nil {
		r.token.Store(true)
		return nil
	}
	cause := context.Cause(t.st.ctx)
	switch {
	case !errors.Is(cause, ErrStepEnd):
		return cause // the run stopped: canceled
	case t.st.open && r.intended.Sub(t.st.start) < t.st.dur:
		// Due within the step (see recordUnsent): offered, never sent.
		t.st.heldBack.Add(1)
		return ErrHeldBack
	}
	return errCapCut
}

// takeCircuit takes the token for a dial with context ctx: the one its
// request took before it started, or a new one, waited for here.
func (e *Engine) takeCircuit(ctx context.Context) error {
	if e.circuits == nil {
		return nil
	}
	r, _ := ctx.Value(requestKey{}).(*request)
	if r != nil && r.token.CompareAndSwap(true, false) {
		return nil
	}
	// net/http dials detached from the request's cancellation; the step's
	// end still ends the wait.
	if r != nil {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(r.step.ctx, stop)()
	}
	wait, err := waitCircuit(ctx, e.circuits)
	if r != nil {
		r.capWait.Add(int64(wait))
	}
	if err != nil {
		return fmt.Errorf("waiting for a token of the circuit-rate cap (limits.circuit_rate): %w", err)
	}
	return nil
}

// Close closes the connection and counts it out of its transport's open
// connections (needsCircuit asks whether one is free).
func (c *socksConn) Close() error {
	if c.open != nil && c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// capTally adds r's circuit-token wait to the step's, as observe counts
// requests.
func (s *step) capTally(rec *rundir.Record) {
	if rec.CapWaitNS > 0 {
		s.capWaited++
		s.capWait += time.Duration(rec.CapWaitNS)
	}
}
