package runner

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// socksServer is a minimal SOCKS5 server for tests: username/password or no
// auth, CONNECT only. With reply 0 it forwards to the requested address;
// otherwise it answers every CONNECT with that reply code. It records the
// usernames it sees, as tor's IsolateSOCKSAuth would key circuits by them.
type socksServer struct {
	ln    net.Listener
	reply byte
	mute  bool // accept, then never answer

	mu     sync.Mutex
	users  []string
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func startSocks(t testing.TB, reply byte) *socksServer { return startSocksMute(t, reply, false) }

func startSocksMute(t testing.TB, reply byte, mute bool) *socksServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksServer{ln: ln, reply: reply, mute: mute, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.track(c) {
				c.Close()
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(c)
				s.handle(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *socksServer) Addr() string { return s.ln.Addr().String() }

func (s *socksServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *socksServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Users returns the usernames seen so far, in order.
func (s *socksServer) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

// Close stops listening and cuts every connection, like a tor that exits.
func (s *socksServer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *socksServer) handle(c net.Conn) {
	if s.mute {
		io.Copy(io.Discard, c)
		return
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	method := byte(0xff)
	for _, m := range methods {
		if m == 2 {
			method = 2
		} else if m == 0 && method == 0xff {
			method = 0
		}
	}
	if _, err := c.Write([]byte{5, method}); err != nil || method == 0xff {
		return
	}
	if method == 2 {
		var v [2]byte
		if _, err := io.ReadFull(c, v[:]); err != nil {
			return
		}
		user := make([]byte, v[1])
		if _, err := io.ReadFull(c, user); err != nil {
			return
		}
		var pl [1]byte
		if _, err := io.ReadFull(c, pl[:]); err != nil {
			return
		}
		if _, err := io.ReadFull(c, make([]byte, pl[0])); err != nil {
			return
		}
		s.mu.Lock()
		s.users = append(s.users, string(user))
		s.mu.Unlock()
		if _, err := c.Write([]byte{1, 0}); err != nil {
			return
		}
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make([]byte, 4)
		if req[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return
		}
		host = net.IP(ip).String()
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		name := make([]byte, l[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return
		}
		host = string(name)
	default:
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return
	}
	reply := func(code byte) error {
		_, err := c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
		return err
	}
	if s.reply != 0 {
		reply(s.reply)
		return
	}
	dst, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))))
	if err != nil {
		reply(5)
		return
	}
	if !s.track(dst) {
		dst.Close()
		return
	}
	defer s.untrack(dst)
	if reply(0) != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(dst, c) // splice on Linux
		dst.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, dst)
	c.Close()
	<-done
}
