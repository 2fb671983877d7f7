package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
)

// ErrStepEnd is the cause given to requests cut at the end of their step.
var ErrStepEnd = errors.New("step ended while the request was running")

// ErrStall is the cause given to a stream that received no byte for the
// scenario's workload.stall_timeout after its request was written: the
// engine ends it, and it counts as failed (class stall), where a stream
// that is merely slow is cut at its step's end and does not.
var ErrStall = errors.New("no byte received for workload.stall_timeout: the stream stalled and was ended")

// ErrFirstByteTimeout is the cause given to a request that got no
// response byte within the scenario's workload.timeout of its start (the
// SOCKS connect included); its class is timeout.
var ErrFirstByteTimeout = errors.New("no response byte within workload.timeout of the request's start")

// ErrNoEndpoints reports that every SOCKS endpoint of the run is dead. The
// run stops with it: restart the tor clients (or fix
// target.socks.addresses) and run again.
var ErrNoEndpoints = errors.New("no live SOCKS endpoint left")

// ErrStopped is wrapped by the cause of requests that were running when the
// run stopped early (limit reached, Abort, no endpoints left).
var ErrStopped = errors.New("run stopped")

// ErrLimit is wrapped by the error Run returns when a scenario limit
// (limits.max_duration or limits.max_bytes) stopped the run. The Summary
// is valid up to that point.
var ErrLimit = errors.New("run stopped by a scenario limit")

// ErrOnsetAbort is wrapped by the error given to Engine.Abort when the
// relay declared overload and the scenario says onset.abort: the run then
// stops with Summary.StoppedBy "onset-abort".
var ErrOnsetAbort = errors.New("run stopped at the relay's overload onset (onset.abort)")

// socksReplies maps x/net/internal/socks reply texts to class suffixes.
var socksReplies = map[string]string{
	"general SOCKS server failure":      "general-failure",
	"connection not allowed by ruleset": "not-allowed",
	"network unreachable":               "network-unreachable",
	"host unreachable":                  "host-unreachable",
	"connection refused":                "connection-refused",
	"TTL expired":                       "ttl-expired",
	"command not supported":             "command-not-supported",
	"address type not supported":        "address-type-not-supported",
}

// HTTPStatusError reports a response whose status is not 2xx.
type HTTPStatusError struct {
	// Code is the HTTP status code.
	Code int
	// Status is the status line, e.g. "404 Not Found".
	Status string
}

// Error describes the status and what to check next.
func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("HTTP status %s: check the payload URL and that the server behind it serves it", e.Status)
}

// SocksPortError reports that the SOCKS port itself could not be reached:
// the TCP connection to tor's SocksPort failed. The EndpointError that
// wraps it names the endpoint.
type SocksPortError struct {
	// Addr is the SocksPort address.
	Addr string
	// Err is the dial error.
	Err error
}

// Error names the address and what to do next.
func (e *SocksPortError) Error() string {
	return fmt.Sprintf("SOCKS port %s is not reachable: %v: check that its tor client is running", e.Addr, e.Err)
}

// Unwrap returns the dial error.
func (e *SocksPortError) Unwrap() error { return e.Err }

// EndpointError wraps a failed dial through endpoint Endpoint, so that the
// record of the failed request names the endpoint.
type EndpointError struct {
	// Endpoint is the index of the endpoint in the run's list.
	Endpoint int
	// Name is the endpoint's name.
	Name string
	// Err is the dial error.
	Err error
}

// Error names the endpoint and the failure.
func (e *EndpointError) Error() string {
	return fmt.Sprintf("through SOCKS endpoint %s: %v", e.Name, e.Err)
}

// Unwrap returns the dial error.
func (e *EndpointError) Unwrap() error { return e.Err }

// ClassifyError returns the error class of err for rundir.Record.Error: ""
// for nil, otherwise one of the rundir.Class constants, "socks-<reply>" or
// "http-<code>". Cancellation causes are checked first, so a request cut
// by the step end, ended by the engine (stall, first-byte timeout) or by a
// canceled run is never blamed on the network.
func ClassifyError(err error) string {
	if err == nil {
		return ""
	}
	var (
		status *HTTPStatusError
		port   *SocksPortError
	)
	switch {
	case errors.Is(err, ErrHeldBack):
		return rundir.ClassUnsent
	case errors.Is(err, ErrStepEnd):
		return rundir.ClassStepEnd
	case errors.Is(err, ErrStall):
		return rundir.ClassStall
	case errors.Is(err, ErrFirstByteTimeout):
		return rundir.ClassTimeout
	case errors.Is(err, ErrStopped), errors.Is(err, context.Canceled):
		return rundir.ClassCanceled
	case errors.Is(err, ErrNoEndpoints):
		return rundir.ClassSocksUnreachable
	case errors.Is(err, payload.ErrMismatch):
		return rundir.ClassPayloadMismatch
	case errors.Is(err, payload.ErrShortRead), errors.Is(err, io.ErrUnexpectedEOF):
		return rundir.ClassShortRead
	case errors.As(err, &status):
		return "http-" + strconv.Itoa(status.Code)
	case errors.As(err, &port):
		return rundir.ClassSocksUnreachable
	}
	if c := socksClass(err); c != "" {
		return c
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return rundir.ClassTimeout
	}
	return rundir.ClassOther
}

// socksClass classifies errors of the SOCKS5 handshake done by
// golang.org/x/net/proxy, which reports them as *net.OpError with an Op of
// "socks connect" wrapping plain errors.New texts.
func socksClass(err error) string {
	var op *net.OpError
	if !errors.As(err, &op) || !strings.HasPrefix(op.Op, "socks") || op.Err == nil {
		return ""
	}
	msg := op.Err.Error()
	if reply, ok := strings.CutPrefix(msg, "unknown error "); ok {
		if c, ok := socksReplies[reply]; ok {
			return "socks-" + c
		}
		if n, ok := strings.CutPrefix(reply, "unknown code: "); ok {
			return "socks-reply-" + n
		}
	}
	var ne net.Error
	if errors.Is(op.Err, context.DeadlineExceeded) || (errors.As(op.Err, &ne) && ne.Timeout()) {
		return rundir.ClassTimeout
	}
	if strings.Contains(msg, "authentication") || strings.Contains(msg, "username/password") {
		return "socks-auth-failed"
	}
	return "socks-protocol"
}
