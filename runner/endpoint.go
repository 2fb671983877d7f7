package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"golang.org/x/net/proxy"
)

// Endpoint is one SOCKS5 port that streams are sent through, normally a
// tor client's SocksPort with IsolateSOCKSAuth.
type Endpoint struct {
	// Name identifies the endpoint in messages, e.g. the tor client's name.
	Name string
	// Addr is the SocksPort as host:port.
	Addr string
}

// EndpointHealth reports whether endpoint i (an index into the run's
// endpoint list) may still be dialled. *Engine implements it.
type EndpointHealth interface {
	Alive(i int) bool
}

// endpoints is the live set of a run's endpoints, spread over round-robin.
type endpoints struct {
	list      []Endpoint
	deadAfter int // consecutive SocksPort connect failures that kill; 0: never

	mu      sync.Mutex
	dead    []bool
	fails   []int
	live    int
	next    int
	allDead chan struct{} // closed when live reaches 0
}

func newEndpoints(list []Endpoint, deadAfter int) *endpoints {
	return &endpoints{
		list:      list,
		deadAfter: deadAfter,
		dead:      make([]bool, len(list)),
		fails:     make([]int, len(list)),
		live:      len(list),
		allDead:   make(chan struct{}),
	}
}

// markDead takes endpoint i out of rotation. It reports whether i was alive.
func (e *endpoints) markDead(i int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.list) || e.dead[i] {
		return false
	}
	e.dead[i] = true
	e.live--
	if e.live == 0 {
		close(e.allDead)
	}
	return true
}

func (e *endpoints) alive(i int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return i >= 0 && i < len(e.list) && !e.dead[i]
}

// pick returns the next live endpoint, round-robin.
func (e *endpoints) pick() (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range len(e.list) {
		i := e.next
		e.next = (e.next + 1) % len(e.list)
		if !e.dead[i] {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: all %d SOCKS endpoints died: check the tor clients' logs, then run again", ErrNoEndpoints, len(e.list))
}

// report counts consecutive refused connections to endpoint i's SocksPort;
// ok resets the count. A SocksPort on which tor no longer listens refuses
// at once, so deadAfter refusals in a row mean the tor client is gone.
func (e *endpoints) report(i int, refused bool) {
	e.mu.Lock()
	if !refused {
		e.fails[i] = 0
		e.mu.Unlock()
		return
	}
	e.fails[i]++
	kill := e.deadAfter > 0 && e.fails[i] >= e.deadAfter
	e.mu.Unlock()
	if kill {
		e.markDead(i)
	}
}

// socksConn is a connection through endpoint; the transport's httptrace
// GotConn hands it back so the request learns its endpoint and connect time.
type socksConn struct {
	net.Conn
	endpoint int
	connect  time.Duration
	open     *atomic.Int64 // the dialer's open connections; nil: not counted
	closed   atomic.Bool
}

// dialer dials target addresses through the live endpoints, each dial with
// new random SOCKS credentials, so that tor gives each connection its own
// circuit.
type dialer struct {
	eps          *endpoints
	loopbackOnly bool
	readBuffer   int // SO_RCVBUF for the connection to the SocksPort; 0: default
	// circuit takes a token of the circuit-rate cap for each dial; nil:
	// no cap.
	circuit func(context.Context) error
	// open counts the connections dialled and not yet closed; nil: not
	// counted.
	open *atomic.Int64
}

// portDialer connects to the SocksPort and marks failures as SocksPortError.
type portDialer struct {
	readBuffer int
}

func (p portDialer) Dial(network, addr string) (net.Conn, error) {
	return p.DialContext(context.Background(), network, addr)
}

func (p portDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &SocksPortError{Addr: addr, Err: err}
	}
	if tc, ok := c.(*net.TCPConn); ok && p.readBuffer > 0 {
		_ = tc.SetReadBuffer(p.readBuffer) // best effort; the kernel may round it
	}
	return c, nil
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.circuit != nil {
		if err := d.circuit(ctx); err != nil {
			return nil, err
		}
	}
	i, err := d.eps.pick()
	if err != nil {
		return nil, err
	}
	ep := d.eps.list[i]
	fwd := portDialer{readBuffer: d.readBuffer}
	pd, err := proxy.SOCKS5("tcp", ep.Addr, chutney.RandomAuth(), fwd)
	if err != nil {
		return nil, &EndpointError{Endpoint: i, Name: ep.Name, Err: err}
	}
	cd := pd.(proxy.ContextDialer)
	if d.loopbackOnly {
		cd = chutney.LoopbackOnly(cd)
	}
	start := time.Now()
	c, err := cd.DialContext(ctx, network, addr)
	if err != nil {
		var port *SocksPortError
		if errors.As(err, &port) && ctx.Err() == nil {
			d.eps.report(i, errors.Is(err, syscall.ECONNREFUSED))
		}
		return nil, &EndpointError{Endpoint: i, Name: ep.Name, Err: err}
	}
	d.eps.report(i, false)
	if d.open != nil {
		d.open.Add(1)
	}
	return &socksConn{Conn: c, endpoint: i, connect: time.Since(start), open: d.open}, nil
}

// preflight checks that every endpoint listens and speaks SOCKS5: it opens
// a TCP connection and exchanges the SOCKS5 greeting (no circuit is built).
func preflight(ctx context.Context, list []Endpoint, timeout time.Duration) error {
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, ep := range list {
		wg.Go(func() { errs[i] = checkSocksPort(ctx, ep, timeout) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func checkSocksPort(ctx context.Context, ep Endpoint, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ep.Addr)
	if err != nil {
		return fmt.Errorf("SOCKS port %s (%s) is not listening: %w: start tor or fix target.socks.addresses", ep.Addr, ep.Name, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	// Greeting: version 5, two methods: no auth, username/password.
	if _, err := c.Write([]byte{5, 2, 0, 2}); err != nil {
		return fmt.Errorf("SOCKS port %s (%s) accepts connections but the greeting failed: %w: check that it is a tor SocksPort", ep.Addr, ep.Name, err)
	}
	var reply [2]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		return fmt.Errorf("SOCKS port %s (%s) did not answer the SOCKS5 greeting: %w: check that it is a tor SocksPort and not another service", ep.Addr, ep.Name, err)
	}
	if reply[0] != 5 || (reply[1] != 0 && reply[1] != 2) {
		return fmt.Errorf("SOCKS port %s (%s) answered the SOCKS5 greeting with %x: check that it is a tor SocksPort", ep.Addr, ep.Name, reply)
	}
	return nil
}
