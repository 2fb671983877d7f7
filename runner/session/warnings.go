package session

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
)

// runWarnings collects what goes wrong during a run without stopping it:
// a pool client that died or never bootstrapped, MetricsPort scrapes that
// failed or were slow, relaybench's own server errors (out of file
// descriptors, say). Each warning is said once on the progress writer and
// recorded at once (save rewrites run.json, so a crash keeps it); events
// that repeat are counted, said the first time, and totalled in final.
// run.json's warnings reach summary.json and every report.
type runWarnings struct {
	mu       sync.Mutex
	progress io.Writer
	save     func([]string)
	list     []string
	repeats  map[string]*repeated
	order    []string
	done     bool
}

// repeated is one kind of event that is counted rather than repeated.
type repeated struct {
	n     int
	total func(n int) string // the closing warning for n events
}

func newRunWarnings(progress io.Writer, earlier []string, save func([]string)) *runWarnings {
	return &runWarnings{progress: progress, save: save, list: slices.Clone(earlier), repeats: map[string]*repeated{}}
}

// add records msg (once) and says it.
func (w *runWarnings) add(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addLocked(msg)
}

func (w *runWarnings) addLocked(msg string) {
	if w.done || slices.Contains(w.list, msg) {
		return
	}
	w.list = append(w.list, msg)
	fmt.Fprintf(w.progress, "\nwarning: %s\n", msg)
	if w.save != nil {
		w.save(slices.Clone(w.list))
	}
}

// count counts one event of kind: the first is recorded as first (and
// said); final adds total(n) for all n of them.
func (w *runWarnings) count(kind, first string, total func(n int) string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	r := w.repeats[kind]
	if r == nil {
		r = &repeated{total: total}
		w.repeats[kind] = r
		w.order = append(w.order, kind)
		w.addLocked(first)
	}
	r.n++
}

// final returns every warning, the totals of the counted events last, and
// stops recording: later events are ignored.
func (w *runWarnings) final() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(w.list)
	for _, k := range w.order {
		if r := w.repeats[k]; r.n > 1 {
			out = append(out, r.total(r.n))
		}
	}
	w.done = true
	return out
}

// scrapes returns a metricsport.Sampler OnScrape function that warns about
// failed scrapes (the first of each URL at once, the count at the end) and
// slow ones (over half the sampling interval: their values are placed
// less precisely).
func (w *runWarnings) scrapes(interval time.Duration) func(metricsport.ScrapeRecord) {
	var mu sync.Mutex
	seen := map[string]int{}
	return func(rec metricsport.ScrapeRecord) {
		mu.Lock()
		seen[rec.URL]++
		mu.Unlock()
		url := rec.URL
		total := func(what string) func(int) string {
			return func(n int) string {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprintf("MetricsPort %s: %d of %d scrapes %s", url, n, seen[url], what)
			}
		}
		if !rec.OK {
			w.count("scrape-failed "+url,
				fmt.Sprintf("MetricsPort %s: a scrape failed (%s): %s; further failures are counted", url, rec.Kind, firstLine(rec.Error)),
				total("failed"))
			return
		}
		if slow := time.Duration(rec.DurationMS * float64(time.Millisecond)); slow > interval/2 {
			w.count("scrape-slow "+url,
				fmt.Sprintf("MetricsPort %s: a scrape took %s, over half the %s sampling interval (its values are placed less precisely); further slow scrapes are counted", url, slow.Round(time.Millisecond), interval),
				total("were slow"))
		}
	}
}

// serverErrors returns a payload.WithErrorLog function: net/http's own
// errors of relaybench's payload server, counted per kind. "Accept error
// ... too many open files" is relaybench out of file descriptors, which
// limits the load it can generate.
func (w *runWarnings) serverErrors() func(string) {
	return func(msg string) {
		kind, first := "payload-server", "relaybench's payload server: "+msg+"; further server errors are counted"
		if strings.Contains(msg, "too many open files") {
			kind = "payload-server-emfile"
			first = "relaybench ran out of file descriptors: its payload server could not accept connections (" + msg + "): the load generator, not the relay, was the limit; raise relaybench's open-files limit (ulimit -n); further errors are counted"
		}
		w.count(kind, first, func(n int) string {
			if kind == "payload-server-emfile" {
				return fmt.Sprintf("relaybench's payload server could not accept a connection %d times for want of file descriptors", n)
			}
			return fmt.Sprintf("relaybench's payload server logged %d errors", n)
		})
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// record records msg (once) without saying it: the caller said it, with
// more detail than run.json keeps.
func (w *runWarnings) record(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || slices.Contains(w.list, msg) {
		return
	}
	w.list = append(w.list, msg)
	if w.save != nil {
		w.save(slices.Clone(w.list))
	}
}
