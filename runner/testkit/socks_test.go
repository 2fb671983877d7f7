package testkit_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/relaybench/relaybench/runner/testkit"
)

// source is a loopback TCP server that sends size bytes of a known pattern
// to every connection and then closes it; it counts connections.
type source struct {
	ln    net.Listener
	size  int
	conns atomic.Int32
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func startSource(t *testing.T, size int) *source {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &source{ln: ln, size: size}
	body := pattern(size)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() {
				defer c.Close()
				c.Write(body)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func (s *source) addr() string { return s.ln.Addr().String() }

// dial connects to target through the fake, with username/password auth
// unless auth is nil.
func dial(t *testing.T, srv *testkit.SOCKSServer, target string, auth *proxy.Auth) (net.Conn, error) {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", srv.Addr(), auth, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d.Dial("tcp", target)
}

var someAuth = &proxy.Auth{User: "u123", Password: "p456"}

// readAll reads until EOF, an error or the deadline; it returns what came
// and the error that ended it (nil for EOF).
func readAll(c net.Conn, deadline time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(deadline))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	return buf.Bytes(), err
}

func TestSOCKSProxiesWithEitherAuth(t *testing.T) {
	const size = 300 << 10
	src := startSource(t, size)
	srv := testkit.StartSOCKS(t)
	for _, auth := range []*proxy.Auth{someAuth, nil} {
		c, err := dial(t, srv, src.addr(), auth)
		if err != nil {
			t.Fatalf("dial with auth %v: %v", auth, err)
		}
		got, err := readAll(c, 5*time.Second)
		c.Close()
		if err != nil || !bytes.Equal(got, pattern(size)) {
			t.Fatalf("auth %v: read %d bytes (%v), want the %d bytes the target sent", auth, len(got), err, size)
		}
	}
	want := []testkit.Creds{{Method: testkit.MethodUserPass, Username: "u123", Password: "p456"}, {Method: testkit.MethodNoAuth}}
	got := srv.Creds()
	for i := range got {
		if got[i].At.IsZero() {
			t.Errorf("credentials %d have no time", i)
		}
		got[i].At = time.Time{}
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("creds %+v, want %+v", got, want)
	}
	if got := srv.Usernames(); len(got) != 1 || got[0] != "u123" {
		t.Errorf("usernames %q, want [u123]", got)
	}
	waitFor(t, func() bool { return srv.Stats().Active == 0 })
	st := srv.Stats()
	if st.Conns != 2 || st.Streams != 2 || st.Succeeded != 2 || st.Failed != 0 || st.BytesDown != 2*size || st.BytesUp != 0 {
		t.Errorf("stats %+v, want 2 conns, 2 streams, 2 ok, %d bytes down, 0 up", st, 2*size)
	}
}

func TestSOCKSReplyCodes(t *testing.T) {
	src := startSource(t, 10)
	for code, text := range map[byte]string{
		testkit.ReplyGeneralFailure:    "general SOCKS server failure",
		testkit.ReplyHostUnreachable:   "host unreachable",
		testkit.ReplyConnectionRefused: "connection refused",
		testkit.ReplyTTLExpired:        "TTL expired",
	} {
		srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{Reply: code}))
		_, err := dial(t, srv, src.addr(), someAuth)
		if err == nil || !strings.Contains(err.Error(), text) {
			t.Errorf("reply %#x: err %v, want %q", code, err, text)
		}
		if st := srv.Stats(); st.Failed != 1 || st.Succeeded != 0 {
			t.Errorf("reply %#x: stats %+v", code, st)
		}
	}
	if n := src.conns.Load(); n != 0 {
		t.Errorf("the target was dialled %d times for refused streams", n)
	}
}

func TestSOCKSRefusesNonLoopbackTargets(t *testing.T) {
	srv := testkit.StartSOCKS(t)
	_, err := dial(t, srv, "192.0.2.1:80", someAuth)
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("err %v, want the ruleset refusal", err)
	}
}

func TestSOCKSDelays(t *testing.T) {
	src := startSource(t, 1000)
	const replyDelay, firstByteDelay = 300 * time.Millisecond, 400 * time.Millisecond
	srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{ReplyDelay: replyDelay, FirstByteDelay: firstByteDelay}))
	start := time.Now()
	c, err := dial(t, srv, src.addr(), someAuth)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	attached := time.Since(start)
	var b [1]byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	firstByte := time.Since(start) - attached
	if attached < replyDelay || attached > replyDelay+time.Second {
		t.Errorf("SOCKS connect took %v, want the %v reply delay", attached, replyDelay)
	}
	if firstByte < firstByteDelay-10*time.Millisecond || firstByte > firstByteDelay+time.Second {
		t.Errorf("first byte %v after the reply, want the %v first-byte delay", firstByte, firstByteDelay)
	}
}

func TestSOCKSRateCap(t *testing.T) {
	const size, rate = 256 << 10, 512 << 10
	src := startSource(t, size)
	srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{Rate: rate}))
	c, err := dial(t, srv, src.addr(), someAuth)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	got, err := readAll(c, 10*time.Second)
	took := time.Since(start)
	if err != nil || len(got) != size {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, size)
	}
	// 256 KiB at 512 KiB/s: 0.5 s, less the first chunk (10 KiB) sent at
	// once. Faster is a broken cap whatever the machine's load; slower only
	// a busy machine.
	if want := 480 * time.Millisecond; took < want || took > 3*time.Second {
		t.Errorf("%d bytes at %d B/s took %v, want about 0.5 s", size, rate, took)
	}
}

// expectSilence checks that c stays open and silent: a read times out
// rather than ending.
func expectSilence(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	n, err := c.Read(b[:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the stall: %d bytes, %v; want a timeout on an open, silent connection", n, err)
	}
}

func TestSOCKSStalls(t *testing.T) {
	src := startSource(t, 1<<20)
	t.Run("after bytes", func(t *testing.T) {
		const n = 100_000
		srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{StallAfterBytes: n}))
		c, err := dial(t, srv, src.addr(), someAuth)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := make([]byte, n)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, pattern(1 << 20)[:n]) {
			t.Fatalf("read the first %d bytes: %v", n, err)
		}
		expectSilence(t, c)
		if st := srv.Stats(); st.Stalled != 1 || st.BytesDown != n || st.Active != 1 {
			t.Errorf("stats %+v, want 1 stalled stream, still open, after exactly %d bytes", st, n)
		}
	})
	t.Run("after time", func(t *testing.T) {
		const rate, after = 200_000, 500 * time.Millisecond
		srv := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{Rate: rate, StallAfter: after}))
		c, err := dial(t, srv, src.addr(), someAuth)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := readAll(c, after+time.Second)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read ended with %v, want a timeout", err)
		}
		// At most rate·after plus the first chunk; a busy machine may
		// deliver less, an idle one about 100 kB.
		if len(got) == 0 || len(got) > rate/2+rate/50 {
			t.Errorf("%d bytes before the stall at %v and %d B/s, want up to %d", len(got), after, rate, rate/2+rate/50)
		}
		if st := srv.Stats(); st.Stalled != 1 || st.Active != 1 {
			t.Errorf("stats %+v, want 1 stalled stream, still open", st)
		}
		// The client giving up ends the stalled stream.
		c.Close()
		waitFor(t, func() bool { return srv.Stats().Active == 0 })
	})
}

func TestSOCKSResets(t *testing.T) {
	src := startSource(t, 1<<20)
	for name, b := range map[string]testkit.Behavior{
		"after bytes": {ResetAfterBytes: 100_000},
		"after time":  {Rate: 200_000, ResetAfter: 500 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			srv := testkit.StartSOCKS(t, testkit.WithBehavior(b))
			c, err := dial(t, srv, src.addr(), someAuth)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := readAll(c, 5*time.Second)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("read ended with %v after %d bytes, want a connection reset", err, len(got))
			}
			if b.ResetAfterBytes > 0 && int64(len(got)) != b.ResetAfterBytes {
				t.Errorf("%d bytes before the reset, want %d", len(got), b.ResetAfterBytes)
			}
			if b.ResetAfter > 0 && (len(got) == 0 || len(got) > 100_000+4_000) {
				t.Errorf("%d bytes before the reset at %v and %d B/s, want up to about 100 kB", len(got), b.ResetAfter, b.Rate)
			}
			if st := srv.Stats(); st.Reset != 1 {
				t.Errorf("stats %+v, want 1 reset", st)
			}
		})
	}
}

func TestSOCKSSchedule(t *testing.T) {
	src := startSource(t, 10)
	var seen []string
	policy := testkit.Schedule(
		testkit.Rule{From: 0, To: 2, Behavior: testkit.Behavior{Reply: testkit.ReplyTTLExpired}},
		testkit.Rule{From: 3, Behavior: testkit.Behavior{Reply: testkit.ReplyHostUnreachable}},
	)
	srv := testkit.StartSOCKS(t, testkit.WithPolicy(func(i int, c testkit.Creds) testkit.Behavior {
		seen = append(seen, c.Username)
		return policy(i, c)
	}))
	var outcomes []string
	for i := range 5 {
		c, err := dial(t, srv, src.addr(), &proxy.Auth{User: "user" + string(rune('0'+i)), Password: "x"})
		switch {
		case err == nil:
			outcomes = append(outcomes, "ok")
			c.Close()
		case strings.Contains(err.Error(), "TTL expired"):
			outcomes = append(outcomes, "ttl")
		case strings.Contains(err.Error(), "host unreachable"):
			outcomes = append(outcomes, "unreachable")
		default:
			outcomes = append(outcomes, err.Error())
		}
	}
	if got, want := strings.Join(outcomes, " "), "ttl ttl ok unreachable unreachable"; got != want {
		t.Errorf("outcomes %q, want %q", got, want)
	}
	if got := strings.Join(seen, " "); got != "user0 user1 user2 user3 user4" {
		t.Errorf("policy saw usernames %q, want each stream's", got)
	}
}

func TestSOCKSSilence(t *testing.T) {
	srv := testkit.StartSOCKS(t, testkit.WithSilence())
	d, err := proxy.SOCKS5("tcp", srv.Addr(), someAuth, &net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(t, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.(proxy.ContextDialer).DialContext(ctx, "tcp", "127.0.0.1:1")
	if err == nil || time.Since(start) < 250*time.Millisecond {
		t.Errorf("dial through a silent port: %v after %v, want a timeout", err, time.Since(start))
	}
	if st := srv.Stats(); st.Conns != 1 || st.Streams != 0 {
		t.Errorf("stats %+v, want 1 connection and no stream", st)
	}
}

// TestSOCKSCloseEndsEverything: streams in every state end with Close, and
// no goroutine of the server is left.
func TestSOCKSCloseEndsEverything(t *testing.T) {
	src := startSource(t, 4<<20)
	before := runtime.NumGoroutine()
	srv := testkit.StartSOCKS(t, testkit.WithPolicy(testkit.Schedule(
		testkit.Rule{From: 0, To: 1, Behavior: testkit.Behavior{StallAfterBytes: 1000}},
		testkit.Rule{From: 1, To: 2, Behavior: testkit.Behavior{Rate: 10_000}},
		testkit.Rule{From: 2, To: 3, Behavior: testkit.Behavior{FirstByteDelay: time.Hour}},
		testkit.Rule{From: 3, To: 4, Behavior: testkit.Behavior{ReplyDelay: time.Hour}},
	)))
	var conns []net.Conn
	for range 3 {
		c, err := dial(t, srv, src.addr(), someAuth)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	pending := make(chan error, 1)
	go func() {
		c, err := dial(t, srv, src.addr(), someAuth)
		if err == nil {
			c.Close()
			err = errors.New("a stream held back for an hour attached")
		}
		pending <- err
	}()
	waitFor(t, func() bool { return srv.Stats().Streams == 4 })
	start := time.Now()
	srv.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v", took)
	}
	if err := <-pending; err == nil {
		t.Error("the held-back dial succeeded")
	}
	for i, c := range conns {
		if _, err := readAll(c, 2*time.Second); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("stream %d still open after Close", i)
		}
		c.Close()
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Error("the port still accepts after Close")
	}
	srv.Close() // twice is fine
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}
