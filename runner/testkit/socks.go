package testkit

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SOCKS5 reply codes (RFC 1928, section 6). tor answers a failed stream
// with one of the first six (general failure for most circuit and exit
// failures, TTL expired when the circuit timed out).
const (
	ReplySucceeded          byte = 0x00
	ReplyGeneralFailure     byte = 0x01
	ReplyNotAllowed         byte = 0x02
	ReplyNetworkUnreachable byte = 0x03
	ReplyHostUnreachable    byte = 0x04
	ReplyConnectionRefused  byte = 0x05
	ReplyTTLExpired         byte = 0x06
)

// SOCKS5 authentication methods the fake accepts.
const (
	MethodNoAuth   byte = 0x00
	MethodUserPass byte = 0x02
)

// Creds is the authentication a client sent for a stream.
type Creds struct {
	// Method is the method the server chose: MethodUserPass when the
	// client offered it (relaybench always does), else MethodNoAuth.
	Method   byte
	Username string
	Password string
	// At is when the server had read them: when tor would begin to
	// attach the stream, and with new credentials build a circuit.
	At time.Time
}

// Behavior is what the fake does with one stream (one CONNECT request).
// The zero Behavior proxies at full speed. Times count from the SOCKS
// reply (the stream attached), byte counts are bytes sent to the client.
type Behavior struct {
	// ReplyDelay is waited before the SOCKS reply, as tor waits for a
	// circuit to be built and the stream attached.
	ReplyDelay time.Duration
	// Reply, when not ReplySucceeded, is sent instead of success and the
	// connection closed; the target is never dialled.
	Reply byte
	// FirstByteDelay holds back the target's first byte this long after
	// the reply.
	FirstByteDelay time.Duration
	// Rate caps the bytes per second sent to the client; 0: no cap. The
	// pace is kept from the first byte on, so a stream of B bytes takes
	// about B/Rate seconds.
	Rate int64
	// StallAfterBytes and StallAfter stop forwarding to the client after
	// that many bytes or that long, whichever comes first (0: never). The
	// connection stays open, silent, until the client gives up or the
	// server closes: a stuck circuit.
	StallAfterBytes int64
	StallAfter      time.Duration
	// ResetAfterBytes and ResetAfter close the client connection with a
	// TCP reset (SO_LINGER 0) after that many bytes or that long (0:
	// never): a circuit torn down mid-stream.
	ResetAfterBytes int64
	ResetAfter      time.Duration
}

// Policy chooses the Behavior of a stream from its index (0 for the
// server's first CONNECT request, counting every one it received) and its
// credentials. It is called once per stream, from the stream's goroutine,
// so from several at once when streams overlap.
type Policy func(stream int, c Creds) Behavior

// Always is the Policy that gives every stream b.
func Always(b Behavior) Policy {
	return func(int, Creds) Behavior { return b }
}

// Rule gives streams From to To-1 a Behavior; To 0 means every stream from
// From on.
type Rule struct {
	From, To int
	Behavior Behavior
}

// Schedule is the Policy that gives a stream the Behavior of the first
// rule that covers its index, and the zero Behavior when none does. For
// example, streams 0-7 die 6 s after they attach:
//
//	Schedule(Rule{From: 0, To: 8, Behavior: Behavior{ResetAfter: 6 * time.Second}})
func Schedule(rules ...Rule) Policy {
	rules = append([]Rule(nil), rules...)
	return func(stream int, _ Creds) Behavior {
		for _, r := range rules {
			if stream >= r.From && (r.To <= 0 || stream < r.To) {
				return r.Behavior
			}
		}
		return Behavior{}
	}
}

// SOCKSOption configures a SOCKSServer.
type SOCKSOption func(*SOCKSServer)

// WithPolicy chooses each stream's Behavior with p.
func WithPolicy(p Policy) SOCKSOption { return func(s *SOCKSServer) { s.policy = p } }

// WithBehavior gives every stream b.
func WithBehavior(b Behavior) SOCKSOption { return WithPolicy(Always(b)) }

// WithSilence makes the server accept connections and never answer, not
// even the SOCKS greeting: a port held by something that is not a SocksPort,
// or a wedged tor.
func WithSilence() SOCKSOption { return func(s *SOCKSServer) { s.silent = true } }

// SOCKSStats counts what a SOCKSServer did.
type SOCKSStats struct {
	// Conns counts accepted TCP connections, greeting-only checks included.
	Conns int
	// Streams counts CONNECT requests; Succeeded and Failed those answered
	// with success and with an error reply.
	Streams   int
	Succeeded int
	Failed    int
	// Active counts streams open now.
	Active int
	// Stalled and Reset count streams that stalled and were reset.
	Stalled int
	Reset   int
	// BytesUp counts bytes forwarded from clients to targets, BytesDown
	// from targets to clients.
	BytesUp   int64
	BytesDown int64
}

// Forwarded is every byte forwarded, both ways: what a relay would have
// read, and written.
func (s SOCKSStats) Forwarded() int64 { return s.BytesUp + s.BytesDown }

// SOCKSServer is a fake tor SocksPort on 127.0.0.1: SOCKS5 with
// username/password or no authentication, CONNECT to loopback addresses
// only, each stream shaped by the server's Policy.
//
// The protocol is written out here rather than taken from a SOCKS library
// because the faults live between its bytes: a reply held back, an error
// code chosen per stream, a connection reset after exactly N bytes.
type SOCKSServer struct {
	ln      *net.TCPListener
	policy  Policy
	silent  bool
	closing chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{}
	creds   []Creds
	streams int
	stats   SOCKSStats

	bytesUp, bytesDown atomic.Int64
}

// StartSOCKS starts a fake SocksPort on 127.0.0.1:0, closed when the test
// ends.
func StartSOCKS(t testing.TB, opts ...SOCKSOption) *SOCKSServer {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("testkit: listen for the fake SocksPort: %v", err)
	}
	s := &SOCKSServer{ln: ln, policy: Always(Behavior{}), closing: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *SOCKSServer) Addr() string { return s.ln.Addr().String() }

// Stats returns the counts so far.
func (s *SOCKSServer) Stats() SOCKSStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.BytesUp, st.BytesDown = s.bytesUp.Load(), s.bytesDown.Load()
	return st
}

// Creds returns the credentials of every authenticated connection, in
// order.
func (s *SOCKSServer) Creds() []Creds {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Creds(nil), s.creds...)
}

// Usernames returns the usernames clients sent, in order: tor's
// IsolateSOCKSAuth gives each distinct one a circuit of its own.
func (s *SOCKSServer) Usernames() []string {
	var out []string
	for _, c := range s.Creds() {
		if c.Method == MethodUserPass {
			out = append(out, c.Username)
		}
	}
	return out
}

// Close stops listening and cuts every connection, like a tor that exits,
// and returns once every goroutine of the server has ended. It is safe to
// call more than once.
func (s *SOCKSServer) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *SOCKSServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.mu.Lock()
		s.stats.Conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			if s.silent {
				io.Copy(io.Discard, c)
				return
			}
			s.handle(c)
		}()
	}
}

// track registers c so that Close cuts it; false once the server closed.
func (s *SOCKSServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *SOCKSServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// handle speaks SOCKS5 on c up to the reply, then runs the stream.
func (s *SOCKSServer) handle(c *net.TCPConn) {
	creds, ok := s.negotiate(c)
	if !ok {
		return
	}
	addr, ok := readConnect(c)
	if !ok {
		return
	}
	s.mu.Lock()
	index := s.streams
	s.streams++
	s.stats.Streams++
	s.mu.Unlock()
	b := s.policy(index, creds)
	if !sleep(b.ReplyDelay, s.closing) {
		return
	}
	code := b.Reply
	var target *net.TCPConn
	if code == ReplySucceeded {
		target, code = s.dial(addr)
	}
	if code != ReplySucceeded {
		s.mu.Lock()
		s.stats.Failed++
		s.mu.Unlock()
		writeReply(c, code)
		return
	}
	defer s.untrack(target)
	if writeReply(c, ReplySucceeded) != nil {
		return
	}
	s.mu.Lock()
	s.stats.Succeeded++
	s.stats.Active++
	s.mu.Unlock()
	st := &stream{s: s, b: b, client: c, target: target, attached: time.Now(), done: make(chan struct{}), stall: make(chan struct{})}
	st.run()
	s.mu.Lock()
	s.stats.Active--
	s.mu.Unlock()
}

// negotiate reads the greeting, picks a method and, for username/password,
// reads the credentials.
func (s *SOCKSServer) negotiate(c net.Conn) (Creds, bool) {
	if v, err := readByte(c); err != nil || v != 5 {
		return Creds{}, false
	}
	methods, err := readField(c)
	if err != nil {
		return Creds{}, false
	}
	method := byte(0xff) // no acceptable method
	for _, m := range methods {
		if m == MethodUserPass {
			method = MethodUserPass
		} else if m == MethodNoAuth && method == 0xff {
			method = MethodNoAuth
		}
	}
	if _, err := c.Write([]byte{5, method}); err != nil || method == 0xff {
		return Creds{}, false
	}
	creds := Creds{Method: method}
	if method == MethodUserPass {
		// RFC 1929: version 1, ulen, user, plen, password.
		if v, err := readByte(c); err != nil || v != 1 {
			return Creds{}, false
		}
		user, err := readField(c)
		if err != nil {
			return Creds{}, false
		}
		pass, err := readField(c)
		if err != nil {
			return Creds{}, false
		}
		creds.Username, creds.Password = string(user), string(pass)
		if _, err := c.Write([]byte{1, 0}); err != nil {
			return Creds{}, false
		}
	}
	creds.At = time.Now()
	s.mu.Lock()
	s.creds = append(s.creds, creds)
	s.mu.Unlock()
	return creds, true
}

// readConnect reads a CONNECT request and returns its host:port; other
// commands are answered "command not supported".
func readConnect(c net.Conn) (string, bool) {
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[0] != 5 {
		return "", false
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		ip := make([]byte, 4)
		if req[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return "", false
		}
		host = net.IP(ip).String()
	case 3: // domain name
		name, err := readField(c)
		if err != nil {
			return "", false
		}
		host = string(name)
	default:
		writeReply(c, 0x08) // address type not supported
		return "", false
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return "", false
	}
	if req[1] != 1 {
		writeReply(c, 0x07) // command not supported
		return "", false
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), true
}

// dial connects to a loopback target; anything else is not allowed, so a
// test can never send traffic off the machine.
func (s *SOCKSServer) dial(addr string) (*net.TCPConn, byte) {
	host, _, _ := net.SplitHostPort(addr)
	if host != "localhost" {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return nil, ReplyNotAllowed
		}
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, ReplyConnectionRefused
	}
	tc := c.(*net.TCPConn)
	if !s.track(tc) {
		tc.Close()
		return nil, ReplyGeneralFailure
	}
	return tc, ReplySucceeded
}

// readByte reads one byte.
func readByte(r io.Reader) (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(r, b[:])
	return b[0], err
}

// readField reads a SOCKS field: a length byte, then that many bytes.
func readField(r io.Reader) ([]byte, error) {
	n, err := readByte(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

func writeReply(c net.Conn, code byte) error {
	_, err := c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	return err
}

// sleep waits d; false when one of stop (up to three channels, nil ones
// never fire) closed first.
func sleep(d time.Duration, stop ...<-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	var ch [3]<-chan struct{}
	copy(ch[:], stop)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ch[0]:
	case <-ch[1]:
	case <-ch[2]:
	}
	return false
}

// stream is one attached CONNECT: client <-> target with b applied to the
// bytes towards the client.
type stream struct {
	s              *SOCKSServer
	b              Behavior
	client, target *net.TCPConn
	attached       time.Time

	endOnce   sync.Once
	done      chan struct{} // closed when the stream ends
	stallOnce sync.Once
	stall     chan struct{} // closed when the stream must stall
	halves    atomic.Int32  // directions that finished
}

func (st *stream) run() {
	var timers []*time.Timer
	if d := st.b.ResetAfter; d > 0 {
		timers = append(timers, time.AfterFunc(d, st.reset))
	}
	if d := st.b.StallAfter; d > 0 {
		timers = append(timers, time.AfterFunc(d, st.stallNow))
	}
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		st.up()
	}()
	st.down()
	<-upDone
	st.end()
}

// end closes both connections; the first call wins.
func (st *stream) end() {
	st.endOnce.Do(func() {
		close(st.done)
		st.client.Close()
		st.target.Close()
	})
}

// halfDone records that one direction finished; the second ends the
// stream.
func (st *stream) halfDone() {
	if st.halves.Add(1) == 2 {
		st.end()
	}
}

// reset cuts the client connection with a TCP RST.
func (st *stream) reset() {
	select {
	case <-st.done:
		return
	default:
	}
	st.s.mu.Lock()
	st.s.stats.Reset++
	st.s.mu.Unlock()
	st.client.SetLinger(0)
	st.end()
}

// stallNow makes the stream stop forwarding to the client.
func (st *stream) stallNow() {
	st.stallOnce.Do(func() {
		close(st.stall)
		st.target.SetReadDeadline(time.Now()) // wake a blocked read
	})
}

func (st *stream) stalled() bool {
	select {
	case <-st.stall:
		return true
	default:
		return false
	}
}

// up copies client -> target. A client that half-closes half-closes the
// target; one that goes away ends the stream.
func (st *stream) up() {
	defer st.halfDone()
	_, err := io.Copy(countingWriter{st.target, &st.s.bytesUp}, st.client)
	if err != nil || st.stalled() {
		st.end()
		return
	}
	st.target.CloseWrite()
}

// down copies target -> client under the Behavior.
func (st *stream) down() {
	b := st.b
	if !sleep(time.Until(st.attached.Add(b.FirstByteDelay)), st.done, st.s.closing) {
		st.halfDone()
		return
	}
	chunk := int64(32 << 10)
	if b.Rate > 0 {
		chunk = min(max(b.Rate/50, 1<<10), chunk)
	}
	buf := make([]byte, chunk)
	var sent int64
	var paceFrom time.Time
	for {
		if b.ResetAfterBytes > 0 && sent >= b.ResetAfterBytes {
			st.reset()
			st.halfDone()
			return
		}
		if b.StallAfterBytes > 0 && sent >= b.StallAfterBytes {
			st.stallNow()
		}
		if st.stalled() {
			st.countStall()
			st.halfDone() // silent until the client or the server ends it
			return
		}
		k := chunk
		if b.ResetAfterBytes > 0 {
			k = min(k, b.ResetAfterBytes-sent)
		}
		if b.StallAfterBytes > 0 {
			k = min(k, b.StallAfterBytes-sent)
		}
		n, rerr := st.target.Read(buf[:k])
		if n > 0 && !st.stalled() {
			if paceFrom.IsZero() {
				paceFrom = time.Now()
			}
			w, werr := st.client.Write(buf[:n])
			sent += int64(w)
			st.s.bytesDown.Add(int64(w))
			if werr != nil {
				st.end()
				st.halfDone()
				return
			}
			if b.Rate > 0 {
				due := paceFrom.Add(time.Duration(float64(sent) / float64(b.Rate) * float64(time.Second)))
				if !sleep(time.Until(due), st.done, st.stall, st.s.closing) && !st.stalled() {
					st.halfDone()
					return
				}
			}
		}
		switch {
		case st.stalled():
			continue // stall at the top of the loop
		case errors.Is(rerr, io.EOF):
			st.client.CloseWrite()
			st.halfDone()
			return
		case rerr != nil:
			st.end()
			st.halfDone()
			return
		}
	}
}

func (st *stream) countStall() {
	st.s.mu.Lock()
	st.s.stats.Stalled++
	st.s.mu.Unlock()
}

// countingWriter adds what it writes to n.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}
