package metricsport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestSamplerOnScrape checks that OnScrape sees every record the log got,
// failed scrapes included, each after it was written.
func TestSamplerOnScrape(t *testing.T) {
	fixture := readFixture(t, "relay-idle.prom")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(fixture) }))
	defer srv.Close()
	out := &lineWriter{}
	var (
		mu   sync.Mutex
		seen []ScrapeRecord
	)
	s := &Sampler{URLs: []string{srv.URL, closedPortURL(t)}, Interval: 200 * time.Millisecond, Out: out,
		OnScrape: func(r ScrapeRecord) {
			out.mu.Lock()
			written := out.writes
			out.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			if written <= len(seen) {
				t.Errorf("OnScrape saw record %d before it was written (%d writes)", len(seen)+1, written)
			}
			seen = append(seen, r)
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	recs := out.records(t)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(recs) {
		t.Fatalf("OnScrape saw %d records, the log has %d", len(seen), len(recs))
	}
	ok, failed := 0, 0
	for _, r := range seen {
		if r.OK {
			ok++
		} else {
			failed++
		}
	}
	if ok == 0 || failed == 0 {
		t.Errorf("OnScrape saw %d good and %d failed scrapes, want some of each", ok, failed)
	}
}
