// Package testkit holds fakes for tests without tor: a SOCKS5 server that
// proxies to loopback the way a tor client's SocksPort does, with
// deterministic per-stream faults (slow circuit builds, SOCKS error replies,
// byte-rate caps, stalls, resets), and a MetricsPort that serves tor's
// tor_relay_* families with counters the test drives.
//
// relaybench's own payload server and verifier work through the fake SOCKS
// server unchanged, so a test can run the engine, or the whole `relaybench
// run`, against a "relay" whose behaviour is known by construction: a step
// of N streams each capped at R bytes/s carries N·R bytes/s, streams 0-7
// die 6 s after they attach, and so on.
//
// Beside the fakes, TorProcessesUnder and EndTorTests are the leak check
// of the test packages that do run real tor: no tor process may outlive
// their tests.
//
// Every fake listens on 127.0.0.1 port 0, registers its Close with
// t.Cleanup and, once closed, leaves no goroutine or connection behind.
package testkit
