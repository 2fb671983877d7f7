package metricsport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// Sampler defaults and bounds.
const (
	DefaultInterval = time.Second
	MinInterval     = 100 * time.Millisecond
	// DefaultMaxBodyBytes bounds a response body; tor's is ~26 KB, so
	// anything near this is not a MetricsPort.
	DefaultMaxBodyBytes = 8 << 20
	// bodyHeadBytes is how much of a failed body a record keeps.
	bodyHeadBytes = 256
)

// Sampler scrapes each MetricsPort URL every Interval and writes every scrape,
// failed or not, as one ScrapeRecord line to Out. Configure the fields, then
// call Run. A Sampler must not be copied after Run starts.
type Sampler struct {
	// URLs are the MetricsPort endpoints, e.g. http://127.0.0.1:9035/metrics.
	URLs []string
	// Interval between scrape starts of one URL; 0 means DefaultInterval and
	// less than MinInterval is refused.
	Interval time.Duration
	// Timeout bounds one scrape (connect, request, body); 0 means 80% of
	// Interval. It must be below Interval so scrapes of one URL never overlap
	// and a hung relay shows up as one failed record per interval.
	Timeout time.Duration
	// Out receives one JSON line per scrape (rundir.Writer). Each line is a
	// single Write, followed by Flush when Out has a Flush() error method. Lines are not fsynced: a
	// process crash loses nothing already written, a power cut may.
	Out io.Writer
	// KeepFamily, when set, chooses which families are recorded. nil keeps
	// all; the note below Sampler says why that is the default.
	KeepFamily func(family string) bool
	// Client, when set, is used for requests; nil uses a private client that
	// ignores proxy environment variables (a MetricsPort is local).
	Client *http.Client
	// MaxBodyBytes bounds the body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	log *rundir.Writer[ScrapeRecord]
}

// Why all families are recorded by default. Every family tor 0.4.9
// serves is tor_* (there are no process_* families), so a prefix filter saves
// almost nothing; the bulk is the 144 samples of tor_relay_connections and
// tor_relay_connections_total, which are exactly what a "why did it stop"
// analysis may need later. A line is ~12.8 KB, about 23 MB per URL for a
// 30-min run at 1 s, and it compresses well (see the package tests for the
// measured ratio). KeepFamily exists for longer runs.

// Run scrapes until ctx is cancelled, then waits for scrapes in flight (at
// most Timeout) so that every started scrape is recorded, and returns nil.
// It returns early with an error only for an invalid configuration or when
// Out fails: without the log the run has no record, so carrying on would hide
// the loss.
func (s *Sampler) Run(ctx context.Context) error {
	interval, timeout, err := s.settings()
	if err != nil {
		return err
	}
	client := s.Client
	if client == nil {
		client = newClient(timeout)
	}
	maxBody := s.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}

	s.log = rundir.NewWriter[ScrapeRecord](s.Out, rundir.MetricsFile)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, u := range s.URLs {
		wg.Go(func() {
			sc := scraper{url: u, client: client, timeout: timeout, maxBody: maxBody, keep: s.KeepFamily, slowAfter: interval / 2}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				rec := sc.scrape(runCtx)
				if err := s.log.Write(rec); err != nil {
					stop()
					return
				}
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
	return s.log.Err()
}

func (s *Sampler) settings() (interval, timeout time.Duration, err error) {
	if len(s.URLs) == 0 {
		return 0, 0, errors.New("metricsport sampler: no URLs; set Sampler.URLs to the relays' MetricsPort /metrics URLs")
	}
	for _, u := range s.URLs {
		pu, perr := url.Parse(u)
		if perr != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return 0, 0, fmt.Errorf("metricsport sampler: URL %q is not an http URL; use http://HOST:PORT/metrics", u)
		}
	}
	if s.Out == nil {
		return 0, 0, errors.New("metricsport sampler: Out is nil; give it the metrics.jsonl file")
	}
	interval = s.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if interval < MinInterval {
		return 0, 0, fmt.Errorf("metricsport sampler: interval %v is below the minimum %v; tor's MetricsPort is not meant to be polled faster", interval, MinInterval)
	}
	timeout = s.Timeout
	if timeout == 0 {
		timeout = interval * 8 / 10
	}
	if timeout <= 0 || timeout >= interval {
		return 0, 0, fmt.Errorf("metricsport sampler: timeout %v must be positive and below the interval %v; lower Timeout or leave it 0", timeout, interval)
	}
	return interval, timeout, nil
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // never send a local MetricsPort scrape through HTTP_PROXY
			DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// scraper performs the scrapes of one URL.
type scraper struct {
	url     string
	client  *http.Client
	timeout time.Duration
	maxBody int64
	keep    func(string) bool
	// slowAfter marks a scrape that took longer as Slow.
	slowAfter time.Duration
}

// scrape does one GET and never fails: every outcome becomes a record.
func (sc scraper) scrape(ctx context.Context) ScrapeRecord {
	start := time.Now()
	rec := ScrapeRecord{URL: sc.url, At: start.UTC()}

	// Detached from ctx cancellation: a scrape started before shutdown
	// finishes (within timeout) and is recorded, instead of ending the log
	// with a spurious "context canceled" failure that would read as an
	// unreachable MetricsPort.
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.timeout)
	defer cancel()

	fail := func(kind FailureKind, err error) ScrapeRecord {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
			kind = FailTimeout
			err = fmt.Errorf("no complete answer within %v: %w (a relay out of file descriptors stops answering; check its sockets and ulimit -n)", sc.timeout, err)
		case kind == FailConnect:
			err = fmt.Errorf("%w (is tor running, with MetricsPort on this address and MetricsPortPolicy accepting 127.0.0.1?)", err)
		}
		rec.OK, rec.Kind, rec.Error = false, kind, err.Error()
		rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		rec.Slow = sc.slow(start)
		return rec
	}

	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, sc.url, nil)
	if err != nil {
		return fail(FailConnect, err)
	}
	resp, err := sc.client.Do(req)
	if err != nil {
		return fail(FailConnect, err)
	}
	defer resp.Body.Close()
	// tor read its counters between the request and this response: the
	// record's Stamp is the midpoint.
	rec.ResponseMS = float64(time.Since(start).Microseconds()) / 1000
	rec.HTTPStatus = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, sc.maxBody+1))
	if err != nil {
		rec.BodyHead = head(body)
		return fail(FailRead, fmt.Errorf("read body: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		rec.BodyHead = head(body)
		return fail(FailHTTPStatus, fmt.Errorf("HTTP %s from %s; is this a tor MetricsPort, and does MetricsPortPolicy accept us?", resp.Status, sc.url))
	}
	if int64(len(body)) > sc.maxBody {
		rec.BodyHead = head(body)
		return fail(FailRead, fmt.Errorf("body larger than %d bytes; not a tor MetricsPort", sc.maxBody))
	}
	parsed, err := ParseScrapeBytes(body)
	if err != nil {
		rec.BodyHead = head(body)
		return fail(FailParse, err)
	}
	rec.OK = true
	rec.Families = parsed.Filter(sc.keep).Families
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	rec.Slow = sc.slow(start)
	return rec
}

// slow reports whether a scrape begun at start took more than half the
// interval: its values are placed less precisely (ScrapeRecord.Slow).
func (sc scraper) slow(start time.Time) bool {
	return sc.slowAfter > 0 && time.Since(start) > sc.slowAfter
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func head(body []byte) string {
	if len(body) > bodyHeadBytes {
		body = body[:bodyHeadBytes]
	}
	return string(body)
}
