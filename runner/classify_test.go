package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

func dialThrough(t *testing.T, addr string, timeout time.Duration) error {
	t.Helper()
	d := &dialer{eps: newEndpoints([]Endpoint{{Name: "s", Addr: addr}}, 0)}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", "127.0.0.1:9")
	if err == nil {
		c.Close()
		t.Fatal("dial succeeded")
	}
	return err
}

func TestClassifySocksReplies(t *testing.T) {
	for code, want := range map[byte]string{
		1: "socks-general-failure", 2: "socks-not-allowed", 3: "socks-network-unreachable",
		4: "socks-host-unreachable", 5: "socks-connection-refused", 6: "socks-ttl-expired",
		7: "socks-command-not-supported", 8: "socks-address-type-not-supported", 0x42: "socks-reply-66",
	} {
		s := testkit.StartSOCKS(t, testkit.WithBehavior(testkit.Behavior{Reply: code}))
		err := dialThrough(t, s.Addr(), 5*time.Second)
		if got := ClassifyError(err); got != want {
			t.Errorf("reply %d: class %q, want %q (%v)", code, got, want, err)
		}
		var ee *EndpointError
		if !errors.As(err, &ee) || ee.Endpoint != 0 {
			t.Errorf("reply %d: error %v does not name endpoint 0", code, err)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	mute := testkit.StartSOCKS(t, testkit.WithSilence())

	_, mismatch := payload.Verify(bytes.NewReader([]byte("not the payload")), 1, 15)
	_, short := payload.Verify(payload.NewContent(1).Reader(10), 1, 20)

	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"socks port closed", dialThrough(t, closed, 5*time.Second), rundir.ClassSocksUnreachable},
		{"socks port silent", dialThrough(t, mute.Addr(), 200*time.Millisecond), rundir.ClassTimeout},
		{"mismatch", mismatch, rundir.ClassPayloadMismatch},
		{"short", short, rundir.ClassShortRead},
		{"http", &HTTPStatusError{Code: 503, Status: "503 Service Unavailable"}, "http-503"},
		{"step end beats network", fmt.Errorf("%w: %w", ErrStepEnd, short), rundir.ClassStepEnd},
		{"stall beats canceled", fmt.Errorf("%w: read: %w", ErrStall, context.Canceled), rundir.ClassStall},
		{"first-byte timeout beats canceled", fmt.Errorf("%w: %w", ErrFirstByteTimeout, context.Canceled), rundir.ClassTimeout},
		{"canceled", fmt.Errorf("%w: read: %w", context.Canceled, net.ErrClosed), rundir.ClassCanceled},
		{"stopped", fmt.Errorf("%w: limit", ErrStopped), rundir.ClassCanceled},
		{"deadline", fmt.Errorf("%w: read", context.DeadlineExceeded), rundir.ClassTimeout},
		{"no endpoints", ErrNoEndpoints, rundir.ClassSocksUnreachable},
		{"other", errors.New("weird"), rundir.ClassOther},
	} {
		if got := ClassifyError(tc.err); got != tc.want {
			t.Errorf("%s: class %q, want %q (%v)", tc.name, got, tc.want, tc.err)
		}
	}
}
