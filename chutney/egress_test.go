package chutney

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// connectThrough sends "CONNECT target" to the proxy at proxyAddr and
// returns the connection and the proxy's answer.
func connectThrough(t testing.TB, proxyAddr, target string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return conn, br, resp
}

func TestEgressConnectsFromItsSourceAddress(t *testing.T) {
	relay, err := net.Listen("tcp", RelayAddress+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	peers := make(chan net.Addr, 1)
	go func() {
		c, err := relay.Accept()
		if err != nil {
			return
		}
		peers <- c.RemoteAddr()
		io.Copy(c, c) // echo until the proxy closes
		c.Close()
	}()

	e, err := startEgress(ClientAddress)
	if err != nil {
		t.Fatal(err)
	}
	conn, br, resp := connectThrough(t, e.Addr(), relay.Addr().String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT answered %s", resp.Status)
	}
	select {
	case peer := <-peers:
		if host, _, _ := net.SplitHostPort(peer.String()); host != ClientAddress {
			t.Errorf("the relay saw the connection from %s, want %s", host, ClientAddress)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the relay saw no connection")
	}
	if _, err := io.WriteString(conn, "cells"); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 5)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "cells" {
		t.Fatalf("echo through the proxy: %q, %v", echo, err)
	}
	// Closing the proxy ends the connections through it: a client's tor
	// stopped with its proxy holds nothing open.
	if err := e.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("the connection through the proxy is still open after close")
	}
	if _, err := net.DialTimeout("tcp", e.Addr(), time.Second); err == nil {
		t.Error("the proxy still accepts connections after close")
	}
}

func TestEgressRefuses(t *testing.T) {
	e, err := startEgress(ClientAddress)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// A destination outside loopback never gets a connection attempt.
	_, _, resp := connectThrough(t, e.Addr(), "192.0.2.1:443")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT 192.0.2.1:443 answered %s, want 403", resp.Status)
	}
	// A relay that refuses is a failed connection for tor.
	closed, err := net.Listen("tcp", RelayAddress+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	_, _, resp = connectThrough(t, e.Addr(), addr)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("CONNECT to a closed port answered %s, want 502", resp.Status)
	}
	hresp, err := http.Get("http://" + e.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %s, want 405", hresp.Status)
	}
	if _, err := startEgress("192.0.2.2"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("startEgress(192.0.2.2) = %v, want an error asking for a loopback address", err)
	}
}

// BenchmarkEgress moves 256 MiB from a loopback sender to a reader, once
// directly and once through the egress proxy, and reports the proxy's
// throughput and the harness CPU per MiB against the direct copy of the
// same run (the proxy's CPU is the harness's, where relaybench's clients
// would otherwise spend none).
//
//	go test -run '^$' -bench Egress -benchtime 1x ./chutney/
func BenchmarkEgress(b *testing.B) {
	const size = 256 << 20
	sink, err := net.Listen("tcp", RelayAddress+":0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() {
				chunk := make([]byte, 64<<10)
				for left := size; left > 0; left -= len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	e, err := startEgress(ClientAddress)
	if err != nil {
		b.Fatal(err)
	}
	defer e.close()
	read := func(c net.Conn, r io.Reader) (mibps, cpuMsPerMiB float64) {
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		start := time.Now()
		n, err := io.Copy(io.Discard, r)
		took := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		c.Close()
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
		cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
		return size / (1 << 20) / took.Seconds(), float64(cpu.Milliseconds()) / (size / (1 << 20))
	}
	for range b.N {
		direct, err := net.Dial("tcp", sink.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		dMiBps, dCPU := read(direct, direct)
		proxied, br, resp := connectThrough(b, e.Addr(), sink.Addr().String())
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("CONNECT: %s", resp.Status)
		}
		proxied.SetDeadline(time.Time{})
		pMiBps, pCPU := read(proxied, br)
		b.ReportMetric(pMiBps/dMiBps, "goodput-x-direct")
		b.ReportMetric(pCPU/dCPU, "cpu-per-MiB-x-direct")
		b.Logf("direct %.0f MiB/s, %.2f ms CPU/MiB; through the proxy %.0f MiB/s, %.2f ms CPU/MiB (the reader's and the proxy's)", dMiBps, dCPU, pMiBps, pCPU)
	}
}
