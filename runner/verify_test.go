package runner

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// TestVerifySeeded is the rule for a payload URL the scenario gives: a
// response of relaybench's payload server (a public one here, as
// `relaybench serve` runs it) is verified against the seed it names, and
// its records say so; a response without payload.SeedHeader cannot be
// verified and is not; without VerifySeeded nothing is.
func TestVerifySeeded(t *testing.T) {
	const size = 256 << 10
	public := func(t *testing.T, opts ...payload.Option) string {
		srv, err := payload.Listen("127.0.0.3:0", append(opts, payload.WithPublic(payload.Public{
			Token: "a-token-of-twenty-two-chars", MaxBytes: 1 << 30,
		}))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv.SeededBytesURL(size, 42)
	}
	// Another server's bytes: the payload's, but without the header, and
	// with one byte wrong that nobody can notice.
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, size)
		payload.NewContent(42).Fill(b, 0)
		b[1000] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(b)
	}))
	t.Cleanup(foreign.Close)

	for _, tc := range []struct {
		name         string
		url          func(t *testing.T) string
		verifySeeded bool
		wantClass    string
		wantVerified bool
	}{
		{"built-in server", nil, false, "", true},
		{"relaybench serve", func(t *testing.T) string { return public(t) }, true, "", true},
		{"relaybench serve, corrupted", func(t *testing.T) string { return public(t, payload.WithCorruption(100_000)) }, true, rundir.ClassPayloadMismatch, false},
		{"another server", func(*testing.T) string { return foreign.URL + "/file" }, true, "", false},
		{"not asked to verify", func(t *testing.T) string { return public(t, payload.WithCorruption(100_000)) }, false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(scenarios.WorkloadBulk, size, time.Second, 0, 2)
			f := newFixture(t, sc, 1)
			if tc.url != nil { // else the fixture's plan: the built-in server, Verify
				sc.Payload.URL = tc.url(t)
				f.plan.PayloadURL, f.plan.Verify, f.plan.Seed = nil, false, 0
				f.plan.VerifySeeded = tc.verifySeeded
			}
			if _, err := Run(t.Context(), f.plan); err != nil {
				t.Fatal(err)
			}
			recs := f.recs.records(t)
			n := 0
			for _, r := range recs {
				if r.Error == rundir.ClassStepEnd {
					continue
				}
				n++
				if r.Error != tc.wantClass || r.Verified != tc.wantVerified {
					t.Errorf("record %s (%s) verified %v; want class %q, verified %v", r.Error, r.Detail, r.Verified, tc.wantClass, tc.wantVerified)
				}
			}
			if n < 2 {
				t.Errorf("%d requests ended before the step did, want at least 2 (classes %v)", n, classes(recs))
			}
		})
	}
}
