package payload

import (
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestErrorLogGetsAcceptErrors: with WithErrorLog, net/http's own errors
// reach the caller's function instead of the standard logger. Here the
// real one a run out of file descriptors produces: the open-files limit
// is lowered until the server cannot accept, then restored.
func TestErrorLogGetsAcceptErrors(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	s, err := Listen("127.0.0.1:0", WithErrorLog(func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, msg)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	low := lim
	low.Cur = uint64(len(fds) + 4)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	var conns []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond) // the server's accept loop meets the limit
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(50 * time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || !strings.Contains(logged[0], "Accept error") || !strings.Contains(logged[0], "too many open files") || strings.HasSuffix(logged[0], "\n") {
		t.Errorf("logged %q; want net/http's accept errors, one message a call, without newline", logged)
	}
}
