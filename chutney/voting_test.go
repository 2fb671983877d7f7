package chutney

import (
	"fmt"
	"io"
	"net/http"
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
	url := fmt.Sprintf("http://127.0.0.1:%d/tor/status-vote/current/consensus", auth.DirPort)
	deadline := time.Now().Add(2*ReadyVotingInterval + 30*time.Second)
	var last time.Duration
	for time.Now().Before(deadline) {
		validAfter, freshUntil, err := consensusTimes(url)
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

func consensusTimes(url string) (validAfter, freshUntil time.Time, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
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
		err = fmt.Errorf("no valid-after or fresh-until in the consensus from %s", url)
	}
	return
}
