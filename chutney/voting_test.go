package chutney

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVotingRelaxedOnceReady: once the network is ready the authorities
// vote every ReadyVotingInterval, which the consensus shows as its
// fresh-until minus valid-after.
func TestVotingRelaxedOnceReady(t *testing.T) {
	net := sharedNetwork(t)
	auth := net.byRole(RoleAuthority)[0]
	deadline := time.Now().Add(2*ReadyVotingInterval + 30*time.Second)
	var last time.Duration
	for time.Now().Before(deadline) {
		validAfter, freshUntil, err := consensusTimes(auth.DirPort)
		if err != nil {
			t.Fatal(err)
		}
		if last = freshUntil.Sub(validAfter); last == ReadyVotingInterval {
			return
		}
		time.Sleep(2 * time.Second)
	}
	t.Errorf("the consensus is still fresh for %s, want %s", last, ReadyVotingInterval)
}

func consensusTimes(dirPort int) (validAfter, freshUntil time.Time, err error) {
	doc, err := dirDocument(dirPort, "/tor/status-vote/current/consensus")
	if err != nil {
		return
	}
	defer doc.Close()
	body, err := io.ReadAll(doc)
	if err != nil {
		return
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "valid-after "); ok {
			validAfter, err = time.Parse(time.DateTime, v)
		}
		if v, ok := strings.CutPrefix(line, "fresh-until "); ok {
			freshUntil, err = time.Parse(time.DateTime, v)
		}
		if err != nil {
			return
		}
	}
	if validAfter.IsZero() || freshUntil.IsZero() {
		err = fmt.Errorf("no valid-after or fresh-until in the consensus from 127.0.0.1:%d", dirPort)
	}
	return
}

// TestEveryRelayStaysFast: each authority's vote puts the Fast threshold
// at 0 (its flag-thresholds line says fast-speed=0), so the least used
// relay keeps the flag. Without AuthDirFastGuarantee the threshold is the
// second smallest bandwidth of six, and an idle target fell below it: its
// EntryNodes clients then had no guard (CI on tor 0.4.9.11).
func TestEveryRelayStaysFast(t *testing.T) {
	net := sharedNetwork(t)
	for _, auth := range net.byRole(RoleAuthority) {
		doc, err := dirDocument(auth.DirPort, "/tor/status-vote/current/authority")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(doc)
		doc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var thresholds string
		for line := range strings.SplitSeq(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "flag-thresholds "); ok {
				thresholds = v
			}
		}
		if !slices.Contains(strings.Fields(thresholds), "fast-speed=0") {
			t.Errorf("%s votes flag-thresholds %q, want fast-speed=0", auth.Nickname, thresholds)
		}
	}
}
