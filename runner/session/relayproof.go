package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/cretz/bine/control"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// ControlPasswordEnv is the environment variable that holds the password
// of the relay's ControlPort (HashedControlPassword), for the proof of
// operating it: a password does not belong in a scenario file.
const ControlPasswordEnv = "RELAYBENCH_CONTROL_PASSWORD"

// controlProofTimeout bounds the whole ControlPort exchange of the proof.
var controlProofTimeout = 10 * time.Second

// relayFingerprint is the relay under test's fingerprint: target.relay's,
// or the last word of its bridge line.
func relayFingerprint(r *scenarios.RelayTarget) string {
	if r.Fingerprint != "" {
		return r.Fingerprint
	}
	f := strings.Fields(r.BridgeLine)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// proveRelay checks, before any tor client starts, that whoever runs a
// relay target operates the relay: its ControlPort (target.relay.
// control_port) authenticates us and names the target's fingerprint, or
// its MetricsPort (target.relay.metrics_url) serves tor_relay_* metrics,
// which tor serves only to the addresses its operator's MetricsPortPolicy
// accepts. Without either, the run is a *ConfigError naming the fields to
// set, unless skip (`run --skip-relay-proof`). Other targets need no proof:
// nil.
func proveRelay(ctx context.Context, sc *scenarios.Scenario, skip bool) (*rundir.RelayProof, error) {
	if sc.Target.Kind != scenarios.TargetRelay {
		return nil, nil
	}
	if skip {
		return &rundir.RelayProof{Kind: rundir.ProofSkipped, Detail: "relaybench run --skip-relay-proof: the operator was not asked for proof"}, nil
	}
	r := sc.Target.Relay
	if r == nil {
		r = &scenarios.RelayTarget{}
	}
	fp := relayFingerprint(r)
	var failed []string
	if r.ControlPort != "" {
		got, err := controlFingerprint(ctx, r.ControlPort, r.ControlCookie, os.Getenv(ControlPasswordEnv))
		switch {
		case err == nil && strings.EqualFold(got, fp):
			return &rundir.RelayProof{Kind: rundir.ProofControlPort,
				Detail: fmt.Sprintf("GETINFO fingerprint on the ControlPort %s is %s, the target's", r.ControlPort, got)}, nil
		case err == nil:
			// Not a failure to reach the relay: the scenario names another
			// relay than the one the operator runs. No fallback.
			return nil, &ConfigError{fmt.Errorf("the ControlPort %s (target.relay.control_port) belongs to relay %s, not to the relay under test %s: fix target.relay's fingerprint or bridge_line, or control_port",
				r.ControlPort, got, fp)}
		}
		failed = append(failed, fmt.Sprintf("the ControlPort %s (target.relay.control_port) did not prove it: %v", r.ControlPort, err))
	}
	if r.MetricsURL != "" {
		scrape, err := probeMetricsPort(ctx, r.MetricsURL)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		n := 0
		for _, f := range scrape.Families {
			if strings.HasPrefix(f.Name, "tor_relay_") {
				n++
			}
		}
		if err == nil && n > 0 {
			detail := fmt.Sprintf("the MetricsPort %s answered with %d tor_relay_* metric families", r.MetricsURL, n)
			if len(failed) > 0 {
				detail += "; " + strings.Join(failed, "; ")
			}
			return &rundir.RelayProof{Kind: rundir.ProofMetricsPort, Detail: detail}, nil
		}
		if err == nil {
			err = fmt.Errorf("it answered with %d metric families, none of them tor_relay_*: not a tor MetricsPort", len(scrape.Families))
		}
		failed = append(failed, fmt.Sprintf("the MetricsPort %s (target.relay.metrics_url) did not prove it: %v", r.MetricsURL, err))
	}
	why := "neither target.relay.metrics_url nor target.relay.control_port is set"
	if len(failed) > 0 {
		why = strings.Join(failed, "; ")
	}
	return nil, &ConfigError{fmt.Errorf("no proof that you operate the relay under test %s, so no tor client was started: %s. "+
		"relaybench loads a relay on the live network only when its MetricsPort or ControlPort answers, which its operator alone can arrange: "+
		"set target.relay.metrics_url to the relay's MetricsPort (MetricsPort and MetricsPortPolicy accepting this machine in its torrc, or an SSH tunnel), "+
		"or target.relay.control_port to its ControlPort (with target.relay.control_cookie, a copy of its control_auth_cookie, or the password in %s); "+
		"or, for a relay you operate but cannot reach from here, run with --skip-relay-proof",
		fp, why, ControlPasswordEnv)}
}

// controlFingerprint connects to the ControlPort at addr, authenticates
// (with the cookie file, or else the password, or else bine's own choice:
// no authentication, or the cookie file tor names, readable when the relay
// runs on this machine) and returns GETINFO fingerprint. It never takes
// ownership or changes anything: the relay is the operator's.
func controlFingerprint(ctx context.Context, addr, cookiePath, password string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, controlProofTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connect: %w (is the relay running with ControlPort %s, or the SSH tunnel to it up?)", err, addr)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c := control.NewConn(textproto.NewConn(conn))
	defer c.Close()
	switch {
	case cookiePath != "":
		err = authenticateSafeCookie(c, cookiePath)
	case password != "":
		_, err = c.SendRequest("AUTHENTICATE %s", hex.EncodeToString([]byte(password)))
	default:
		err = c.Authenticate("")
	}
	if err != nil {
		return "", fmt.Errorf("authenticate: %w (give target.relay.control_cookie or %s)", err, ControlPasswordEnv)
	}
	kvs, err := c.GetInfo("fingerprint")
	if err != nil {
		return "", fmt.Errorf("GETINFO fingerprint: %w (is it a relay or bridge? a tor client has no fingerprint)", err)
	}
	for _, kv := range kvs {
		if kv.Key == "fingerprint" && kv.Val != "" {
			return strings.TrimSpace(kv.Val), nil
		}
	}
	return "", errors.New("GETINFO fingerprint: no value in the reply")
}

// authenticateSafeCookie authenticates c with tor's SAFECOOKIE handshake
// (control-spec 3.24) using the cookie at path: bine's Authenticate reads
// only the cookie file tor names, which is on the relay's machine when the
// ControlPort is reached through a tunnel. SAFECOOKIE, unlike COOKIE,
// never sends the cookie, and checks that the other end knows it too.
func authenticateSafeCookie(c *control.Conn, path string) error {
	cookie, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read target.relay.control_cookie: %w", err)
	}
	if len(cookie) != 32 {
		return fmt.Errorf("target.relay.control_cookie %s holds %d bytes, a control_auth_cookie 32: give a copy of the relay's DataDirectory/control_auth_cookie", path, len(cookie))
	}
	var clientNonce [32]byte
	if _, err := rand.Read(clientNonce[:]); err != nil {
		return err
	}
	resp, err := c.SendRequest("AUTHCHALLENGE SAFECOOKIE %s", hex.EncodeToString(clientNonce[:]))
	if err != nil {
		return fmt.Errorf("AUTHCHALLENGE: %w (does the relay have CookieAuthentication 1?)", err)
	}
	var serverHash, serverNonce []byte
	for _, field := range strings.Fields(resp.Reply) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "SERVERHASH":
			serverHash, _ = hex.DecodeString(v)
		case "SERVERNONCE":
			serverNonce, _ = hex.DecodeString(v)
		}
	}
	if len(serverHash) != sha256.Size || len(serverNonce) != 32 {
		return fmt.Errorf("AUTHCHALLENGE: unexpected reply %q", resp.Reply)
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(clientNonce[:])
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	if !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return fmt.Errorf("the ControlPort does not know the cookie in %s: it is not that relay's control_auth_cookie (tor writes a new one at every start)", path)
	}
	_, err = c.SendRequest("AUTHENTICATE %s", hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash")))
	return err
}
