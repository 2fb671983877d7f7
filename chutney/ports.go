package chutney

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Ports below the kernel's default ephemeral range (32768-60999) are used for
// the ports tor cannot choose itself (ORPort, DirPort, MetricsPort). Staying
// out of the ephemeral range means tor's own outgoing connections never take a
// port we picked for another node in the window between our check and tor's
// bind.
const (
	portRangeLow  = 10000
	portRangeHigh = 32000
)

// portReservation holds listeners on picked ports so that nobody else, in
// particular a second network starting at the same time, can take them until
// tor is about to bind them.
type portReservation struct {
	listeners map[int]net.Listener
}

func newPortReservation() *portReservation {
	return &portReservation{listeners: map[int]net.Listener{}}
}

// pick returns a free 127.0.0.1 TCP port and keeps it bound until release.
func (r *portReservation) pick() (int, error) {
	for range 200 {
		port := portRangeLow + rand.IntN(portRangeHigh-portRangeLow)
		if _, taken := r.listeners[port]; taken {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		r.listeners[port] = l
		return port, nil
	}
	return 0, fmt.Errorf("no free TCP port found on 127.0.0.1 between %d and %d after 200 tries: close some listeners and try again", portRangeLow, portRangeHigh)
}

// release frees the given ports just before tor binds them.
func (r *portReservation) release(ports ...int) {
	for _, p := range ports {
		if l, ok := r.listeners[p]; ok {
			l.Close()
			delete(r.listeners, p)
		}
	}
}

// releaseAll frees every port still held.
func (r *portReservation) releaseAll() {
	for p, l := range r.listeners {
		l.Close()
		delete(r.listeners, p)
	}
}

// FreePort returns a TCP port that is free on 127.0.0.1 now, from the range
// relaybench uses for ports tor cannot choose itself (a MetricsPort, say).
// Unlike the ports of a network being started it is not held, so bind it
// soon.
func FreePort() (int, error) {
	r := newPortReservation()
	defer r.releaseAll()
	return r.pick()
}
