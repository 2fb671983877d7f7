package chutney

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The embedded network's loopback addresses besides the relays' 127.0.0.1.
// On the live network a load machine, the relays and the payload server
// have addresses of their own, and a relay's DoS defences count circuits
// and connections per client address: with everything on 127.0.0.1, a
// relay would lump its load clients together with the other relays (whose
// connections tor 0.4.8.4 and later track from the moment it accepts them;
// older tors skip any address of a relay in the consensus altogether), and
// an address marked by the connection defence would cut the relays off
// each other. Linux answers on all of 127.0.0.0/8 without any setup.
const (
	// ClientAddress is where every load client of a test network connects
	// to relays from, all of them together like one load machine (see
	// ClientConfig.SourceAddress). Their SocksPort, ControlPort and
	// MetricsPort stay on 127.0.0.1.
	ClientAddress = "127.0.0.2"
	// PayloadAddress is where the payload servers of test network runs
	// listen: the exits reach it like any destination of the exit policy.
	PayloadAddress = "127.0.0.3"
	// RelayAddress is the address of every relay and authority.
	RelayAddress = "127.0.0.1"
	// ownClientAddress is the network's own client's (Network.Client),
	// which holds a connection to the target for the network's lifetime:
	// on ClientAddress it would count as a load client towards the
	// target's DoSCircuitCreationMinConnections.
	ownClientAddress = "127.0.0.4"
)

// egress is an HTTP CONNECT proxy through which a test network client's
// tor makes its connections to relays (HTTPSProxy), so that they come from
// source. tor itself cannot: it ignores OutboundBindAddress for loopback
// destinations (connection_connect, since tor 0.2.2.8), and for any
// destination in 127.0.0.0/8 Linux picks 127.0.0.1 as the source. The
// proxy only connects to loopback addresses, and the kernel moves the
// bytes (io.Copy between TCP connections splices).
type egress struct {
	ln     net.Listener
	srv    *http.Server
	dialer net.Dialer

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// startEgress listens on 127.0.0.1 for a client's tor and connects to
// relays from source.
func startEgress(source string) (*egress, error) {
	ip := net.ParseIP(source)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("source address %q: use a loopback address such as %s", source, ClientAddress)
	}
	ln, err := net.Listen("tcp", RelayAddress+":0")
	if err != nil {
		return nil, fmt.Errorf("client egress proxy: %w", err)
	}
	e := &egress{
		ln:     ln,
		dialer: net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second},
		conns:  map[net.Conn]struct{}{},
	}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.connect), ReadHeaderTimeout: 10 * time.Second}
	go e.srv.Serve(ln)
	return e, nil
}

// Addr is the proxy's address, for tor's HTTPSProxy.
func (e *egress) Addr() string { return e.ln.Addr().String() }

// connect handles one CONNECT request: dial the relay from the source
// address, answer 200 and copy both ways until either side closes.
func (e *egress) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err == nil {
		err = CheckLoopback(host)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	up, err := e.dialer.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		// tor counts it as a failed connection to the relay, as it would
		// a refusal of the relay itself.
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !e.track(up, down) {
		return
	}
	defer e.untrack(up, down)
	if _, err := down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	// tor waits for the answer before it starts TLS, so nothing should be
	// buffered; pass on whatever is.
	if n := buf.Reader.Buffered(); n > 0 {
		if _, err := io.CopyN(up, buf.Reader, int64(n)); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// One side ended: tor holds no half-open OR connection, so end
		// both.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
}

// track registers a proxied pair so that close can end it; it closes the
// pair and returns false once the proxy is closed.
func (e *egress) track(conns ...net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		e.conns[c] = struct{}{}
	}
	return true
}

func (e *egress) untrack(conns ...net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range conns {
		delete(e.conns, c)
	}
}

// close stops the proxy and ends every connection through it (hijacked
// connections are the handler's, not the http.Server's, to close).
func (e *egress) close() error {
	e.mu.Lock()
	e.closed = true
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	err := e.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
