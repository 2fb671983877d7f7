package runner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// stepTransport is the RoundTripper of one step. It finds the request's
// state by the id header, routes it to the transport of its isolation mode
// and wraps the body.
type stepTransport struct {
	e    *Engine
	st   *step
	rt   *http.Transport   // stream isolation, or worker isolation in the open loop
	slot []*http.Transport // worker isolation in the closed loop: one per worker

	// For the circuit-rate cap (see needsCircuit): whether rt keeps
	// connections alive, its open connections and the requests between
	// their start and their end; each slot's open connections.
	keepAlive bool
	conns     atomic.Int64
	inflight  atomic.Int64
	slotConns []atomic.Int64
}

func (e *Engine) newStepTransport(st *step) *stepTransport {
	d := dialer{eps: e.eps, loopbackOnly: e.plan.LoopbackOnly}
	if e.circuits != nil {
		d.circuit = e.takeCircuit
	}
	if e.readRate > 0 {
		// A slow reader with a large socket buffer is not slow for tor:
		// the kernel would soak up megabytes. Half a second of data makes
		// tor hold the rest.
		d.readBuffer = int(max(e.readRate/2, 16<<10))
	}
	// Each transport counts its own open connections.
	counting := func(open *atomic.Int64) *dialer {
		dd := d
		dd.open = open
		return &dd
	}
	newTr := func(d *dialer, keepAlive bool, perHost int) *http.Transport {
		return &http.Transport{
			Proxy:               nil, // never an environment proxy: the SOCKS dialer is the path
			DialContext:         d.DialContext,
			DisableKeepAlives:   !keepAlive,
			DisableCompression:  true,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: perHost,
			MaxConnsPerHost:     0,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 30 * time.Second,
			ReadBufferSize:      64 << 10,
			ForceAttemptHTTP2:   false,
			TLSClientConfig:     &tls.Config{NextProtos: []string{"http/1.1"}},
		}
	}
	t := &stepTransport{e: e, st: st}
	switch {
	case e.sc.Workload.Isolation != scenarios.IsolationWorker:
		t.rt = newTr(&d, false, 1)
	case st.open:
		// Open loop: workers are anonymous, so circuits are shared by
		// kept-alive connections, each dialled with its own credentials.
		t.keepAlive = true
		t.rt = newTr(counting(&t.conns), true, 100000)
	default:
		t.slot = make([]*http.Transport, st.load)
		t.slotConns = make([]atomic.Int64, st.load)
		for w := range t.slot {
			t.slot[w] = newTr(counting(&t.slotConns[w]), true, 1)
			t.slot[w].MaxConnsPerHost = 1
		}
	}
	return t
}

func (t *stepTransport) closeIdle() {
	if t.rt != nil {
		t.rt.CloseIdleConnections()
	}
	for _, rt := range t.slot {
		rt.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *stepTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id, _ := strconv.ParseUint(req.Header.Get(idHeader), 10, 64)
	v, ok := t.e.pending.LoadAndDelete(id)
	if !ok {
		return nil, fmt.Errorf("runner: request %q has no state (a bug): report it", req.Header.Get(idHeader))
	}
	r := v.(*request)
	r.start = time.Now()
	if !t.st.open {
		r.intended = r.start
	}
	t.inflight.Add(1)
	r.tr = t
	err := t.holdBack(r)
	if r.capWait.Load() > 0 {
		r.start = time.Now() // held back: the request starts now
	}
	if err != nil {
		r.finish(err)
		return nil, err
	}
	r.ctx, r.cancel = context.WithCancelCause(context.WithValue(t.st.ctx, requestKey{}, r))
	// The timeout bounds the wait for the first byte only: a body that
	// keeps arriving, however slowly, runs until the step's end. The
	// stall watchdog bounds the silence after the request was written.
	r.firstByte = time.AfterFunc(t.e.timeout, func() { r.cancel(ErrFirstByteTimeout) })
	trace := &httptrace.ClientTrace{
		GotConn: r.gotConn,
		WroteRequest: func(httptrace.WroteRequestInfo) {
			r.wrote.Store(int64(time.Since(r.start)))
			r.heard()
		},
		GotFirstResponseByte: func() {
			r.ttfb.Store(int64(time.Since(r.start)))
			r.firstByte.Stop()
			r.heard()
		},
	}
	out := req.Clone(httptrace.WithClientTrace(r.ctx, trace))
	out.Header.Del(idHeader)
	out.Header.Del("X-Vegeta-Seq")
	rt := t.rt
	if t.slot != nil {
		rt = t.slot[r.worker]
	}
	resp, err := rt.RoundTrip(out)
	if err != nil {
		r.finish(err)
		return nil, err
	}
	r.status = resp.StatusCode
	b := &body{rc: resp.Body, r: r, expected: resp.ContentLength, rate: t.e.readRate}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b.statusErr = &HTTPStatusError{Code: resp.StatusCode, Status: resp.Status}
	} else if seed, ok := payload.SeedOf(resp.Header); ok && (t.e.plan.Verify || t.e.plan.VerifySeeded) {
		b.v = payload.NewVerifier(seed)
	} else if t.e.plan.Verify {
		b.v = payload.NewVerifier(t.e.plan.Seed)
	}
	if b.rate > 0 {
		b.chunk = int(min(max(b.rate/20, 1<<10), 32<<10))
	}
	resp.Body = b
	return resp, nil
}

// request is the state of one request from Targeter to its record.
type request struct {
	e        *Engine
	step     *step
	worker   int
	intended time.Time
	start    time.Time
	ctx      context.Context
	cancel   context.CancelCauseFunc
	status   int

	// firstByte fires ErrFirstByteTimeout unless stopped by the first
	// byte; stall fires ErrStall when no byte arrived for the stall
	// timeout after the request was written (nil until it was).
	firstByte *time.Timer
	stall     atomic.Pointer[time.Timer]

	// tr is the transport the request went to (nil before RoundTrip).
	tr *stepTransport
	// capWait is the time spent waiting for circuit tokens; token is set
	// while a token taken before the start awaits its dial.
	capWait atomic.Int64
	token   atomic.Bool

	endpoint atomic.Int64 // set by gotConn; -1 until then (see init in targeter)
	connect  atomic.Int64
	wrote    atomic.Int64
	ttfb     atomic.Int64
	done     atomic.Bool

	// Set by the body, read by finish in the same goroutine.
	verified bool // the whole body was verified
	bytes    int64
	winBytes int64     // bytes received after the step's warm-up
	winStart time.Time // start of the request's part of the measured window
}

// netConner is implemented by *tls.Conn.
type netConner interface{ NetConn() net.Conn }

func (r *request) gotConn(info httptrace.GotConnInfo) {
	c := info.Conn
	if nc, ok := c.(netConner); ok {
		c = nc.NetConn()
	}
	sc, ok := c.(*socksConn)
	if !ok {
		return
	}
	r.endpoint.Store(int64(sc.endpoint))
	if !info.Reused {
		r.connect.Store(int64(sc.connect))
	}
}

// heard restarts the stall watchdog: the stream was written to or
// delivered a byte. The first call (the request written) starts it.
func (r *request) heard() {
	if r.done.Load() {
		return
	}
	if t := r.stall.Load(); t != nil {
		t.Reset(r.e.stallTimeout)
		return
	}
	t := time.AfterFunc(r.e.stallTimeout, func() { r.cancel(ErrStall) })
	if !r.stall.CompareAndSwap(nil, t) {
		t.Stop()
		r.stall.Load().Reset(r.e.stallTimeout)
	}
}

// quiet pauses the stall watchdog while the reader itself holds back (slow
// readers): silence the reader chose is no stall.
func (r *request) quiet() {
	if t := r.stall.Load(); t != nil {
		t.Stop()
	}
}

// finish records the request; only the first call counts.
func (r *request) finish(err error) {
	if !r.done.CompareAndSwap(false, true) {
		return
	}
	end := time.Now()
	st := r.step
	if r.firstByte != nil {
		r.firstByte.Stop()
	}
	if t := r.stall.Load(); t != nil {
		t.Stop()
	}
	if err != nil && r.ctx != nil && r.ctx.Err() != nil {
		if cause := context.Cause(r.ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	if r.cancel != nil {
		r.cancel(nil)
	}
	if r.tr != nil {
		r.tr.inflight.Add(-1)
	}
	ep := int(r.endpoint.Load())
	var epErr *EndpointError
	if errors.As(err, &epErr) && ep < 0 {
		ep = epErr.Endpoint
	}
	if r.start.IsZero() {
		r.start, r.intended = end, end
	}
	rec := rundir.Record{
		StepKey: st.key, Load: st.load, Worker: r.worker, Endpoint: ep,
		Intended: r.intended, Start: r.start,
		ConnectNS: r.connect.Load(), WroteNS: r.wrote.Load(), TTFBNS: r.ttfb.Load(), TTLBNS: int64(end.Sub(r.start)),
		Bytes: r.bytes, Status: r.status, Warmup: r.start.Before(st.warmEnd),
		Verified:  err == nil && r.verified,
		CapWaitNS: r.capWait.Load(),
	}
	if err != nil {
		rec.Error, rec.Detail = ClassifyError(err), err.Error()
	}
	var rate float64
	if (rec.Error == "" || rec.Error == rundir.ClassStepEnd) && r.winBytes > 0 {
		if d := end.Sub(r.winStart).Seconds(); d > 0 {
			rate = float64(r.winBytes) / d
		}
	}
	r.e.record(st, &rec, rate)
	if r.worker >= 0 && st.slots != nil {
		st.slots <- r.worker
	}
}

// record counts, writes and tallies one ended request.
func (e *Engine) record(st *step, rec *rundir.Record, streamRate float64) {
	e.requests.Add(1)
	if rec.Error != "" && rec.Error != rundir.ClassStepEnd && rec.Error != rundir.ClassCanceled {
		e.errors.Add(1)
	}
	if e.records != nil {
		if err := e.records.Write(*rec); err != nil {
			e.Abort(err)
		}
	}
	if f := e.cfg.recordDone; f != nil {
		f(rec)
	}
	st.observe(rec, streamRate)
}

// body wraps a response body: it counts, verifies and throttles what it
// reads and finishes the request at EOF, on error or on Close.
type body struct {
	rc        io.ReadCloser
	r         *request
	v         *payload.Verifier
	statusErr error
	expected  int64 // Content-Length, -1 if unknown
	rate      int64 // bytes/s; 0: unlimited
	chunk     int
	readStart time.Time
	err       error // sticky
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.rate > 0 && len(p) > b.chunk {
		p = p[:b.chunk]
	}
	k, err := b.rc.Read(p)
	if k > 0 {
		if verr := b.account(p[:k]); verr != nil {
			return k, b.fail(verr)
		}
	}
	if err == io.EOF {
		return k, b.eof()
	}
	if err != nil {
		return k, b.fail(err)
	}
	return k, nil
}

// account counts, verifies and, for slow readers, waits until the bytes
// read so far are due at the read rate.
func (b *body) account(p []byte) error {
	now := time.Now()
	r := b.r
	st := r.step
	n := int64(len(p))
	r.bytes += n
	r.heard()
	if i := int(now.Sub(st.start) / time.Second); i >= 0 && i < len(st.secondBytes) {
		st.secondBytes[i].Add(n)
	}
	if !now.Before(st.warmEnd) {
		if r.winBytes == 0 {
			r.winStart = r.start
			if r.winStart.Before(st.warmEnd) {
				r.winStart = st.warmEnd
			}
		}
		r.winBytes += n
		st.windowBytes.Add(n)
	}
	r.e.addBytes(n)
	if b.v != nil {
		if _, err := b.v.Write(p); err != nil {
			return err
		}
	}
	if b.rate > 0 {
		if b.readStart.IsZero() {
			b.readStart = now
		}
		due := b.readStart.Add(time.Duration(float64(r.bytes) / float64(b.rate) * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			r.quiet()
			defer r.heard()
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.ctx.Done():
				return r.ctx.Err()
			}
		}
	}
	return nil
}

// eof ends a body that reached its end.
func (b *body) eof() error {
	var err error
	switch {
	case b.statusErr != nil:
		err = b.statusErr
	case b.v != nil && b.expected >= 0:
		err = b.v.Finish(b.expected)
	case b.expected >= 0:
		err = payload.CheckLength(b.expected, b.r.bytes, nil)
	}
	if err != nil {
		return b.fail(err)
	}
	b.err = io.EOF
	b.r.verified = b.v != nil
	b.r.finish(nil)
	return io.EOF
}

func (b *body) fail(err error) error {
	b.err = err
	b.r.finish(err)
	return err
}

// WriteTo implements io.WriterTo, so that vegeta's io.Copy reads the body
// in 64 KiB chunks instead of io.Discard's 8 KiB.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	// A plain reader and writer, so that CopyBuffer uses the buffer rather
	// than this WriteTo or io.Discard's ReadFrom.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{b}, *bufp)
	if err != nil && b.err == nil {
		return n, b.fail(err) // the write failed; a failed Read has failed b already
	}
	return n, err
}

// Close implements io.Closer. Closing before the end records the request
// as ended early.
func (b *body) Close() error {
	if b.err == nil {
		b.fail(fmt.Errorf("response body closed after %d bytes, before its end", b.r.bytes))
	}
	return b.rc.Close()
}

// addBytes counts body bytes for the whole run and enforces max_bytes.
func (e *Engine) addBytes(n int64) {
	total := e.total.Add(n)
	if lim := int64(e.sc.Limits.MaxBytes); lim > 0 && total > lim && total-n <= lim {
		e.stop("max-bytes", fmt.Errorf("%w: downloaded %d bytes, over limits.max_bytes %s: raise it or shorten the ramp", ErrLimit, total, e.sc.Limits.MaxBytes))
	}
}
