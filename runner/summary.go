package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
)

// step is the state of one running ramp step.
type step struct {
	key         rundir.StepKey // copied into records and the summary
	load        int
	open        bool          // open loop (churn)
	interval    time.Duration // open loop: time between intended starts
	dur         time.Duration // how long the step was to run
	seq         atomic.Int64  // open loop: requests handed out
	heldBack    atomic.Int64  // open loop: of those, held back by the circuit-rate cap to the end
	slots       chan int      // closed loop: free worker indexes
	ctx         context.Context
	start       time.Time
	warmEnd     time.Time
	end         time.Time
	windowBytes atomic.Int64 // body bytes received after warmEnd
	// secondBytes[i] counts the body bytes received in second i of the
	// step, warm-up included: the per-second goodput series.
	secondBytes []atomic.Int64

	mu                  sync.Mutex
	counts              rundir.Counts
	offered, sent       int  // open loop: hits due in the step, and sent
	canceled            int  // requests cut by the run's stop
	interrupted         bool // the run stopped during the step
	first, last         time.Time
	connect, ttfb, ttlb []time.Duration
	streamRates         []float64
	capWaited           int           // requests that waited for a circuit token
	capWait             time.Duration // their waits summed
}

// observe adds a finished request to the step's tallies.
func (s *step) observe(rec *rundir.Record, streamRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Error == rundir.ClassCanceled {
		// Cut by the run's stop, not by the relay: counted apart, in
		// neither the failures nor the samples.
		s.canceled++
		return
	}
	if s.first.IsZero() || rec.Start.Before(s.first) {
		s.first = rec.Start
	}
	if end := rec.End(); end.After(s.last) {
		s.last = end
	}
	if streamRate > 0 {
		s.streamRates = append(s.streamRates, streamRate)
	}
	// A request counts in the window where it ended, wherever it started.
	switch s.counts.Count(rec, s.warmEnd) {
	case rundir.CountedWarmup:
		return
	case rundir.CountedOK:
		s.ttlb = append(s.ttlb, time.Duration(rec.TTLBNS))
	}
	s.capTally(rec)
	// A latency counts where it was measured: one from the warm-up's
	// burst of new circuits is left out with the warm-up.
	if rec.ConnectNS > 0 && !rec.Start.Add(time.Duration(rec.ConnectNS)).Before(s.warmEnd) {
		s.connect = append(s.connect, time.Duration(rec.ConnectNS))
	}
	if rec.TTFBNS > 0 && !rec.Start.Add(time.Duration(rec.TTFBNS)).Before(s.warmEnd) {
		s.ttfb = append(s.ttfb, time.Duration(rec.TTFBNS))
	}
}

// Summary is the small outcome of a run; the full statistics are computed
// from the records.
type Summary struct {
	// Steps holds one entry per step that ran (a stopped run has fewer).
	Steps []rundir.StepSummary `json:"steps"`
	// StoppedBy is "completed", "max-duration", "max-bytes", "canceled",
	// "no-endpoints", "write-failed" (a raw file could not be written),
	// "onset-abort" (the relay declared overload and the scenario says
	// onset.abort) or "aborted" (Abort for any other reason).
	StoppedBy string `json:"stopped_by"`
	// Start and End delimit the run (after the SocksPort check).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Requests is the number of records written.
	Requests int64 `json:"requests"`
	// Errors is the number of failed requests (step-end cuts excluded).
	Errors int64 `json:"errors"`
	// Bytes is every body byte received, warm-ups included.
	Bytes int64 `json:"bytes"`
}

func (s *step) summary() rundir.StepSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := rundir.StepSummary{
		StepKey: s.key, Load: s.load, Start: s.start, End: s.end,
		Requests: s.counts.Requests, Warmup: s.counts.Warmup, OK: s.counts.OK, Cut: s.counts.Cut, Errors: s.counts.Errors,
		WarmupEnd: s.warmEnd, Bytes: s.windowBytes.Load(), First: s.first, Last: s.last,
		Offered: s.offered, Sent: s.sent,
		CapWaited: s.capWaited, CapWait: s.capWait,
	}
	if s.capWaited > 0 {
		out.CapWaitMean = s.capWait / time.Duration(s.capWaited)
	}
	out.Interrupted, out.Canceled = s.interrupted, s.canceled
	n := min(int(s.end.Sub(s.start)/time.Second)+1, len(s.secondBytes))
	for i := range n {
		out.SecondBytes = append(out.SecondBytes, s.secondBytes[i].Load())
	}
	if w := s.end.Sub(s.warmEnd).Seconds(); w > 0 {
		out.Goodput = float64(out.Bytes) / w
	}
	slices.Sort(s.streamRates)
	out.StreamGoodputP50 = percentile(s.streamRates, 0.50)
	out.ConnectP50, out.ConnectP95 = durPercentiles(s.connect)
	out.TTFBP50, out.TTFBP95 = durPercentiles(s.ttfb)
	out.TTLBP50, out.TTLBP95 = durPercentiles(s.ttlb)
	return out
}

func durPercentiles(d []time.Duration) (p50, p95 time.Duration) {
	slices.Sort(d)
	return percentile(d, 0.50), percentile(d, 0.95)
}

// percentile returns the nearest-rank percentile of sorted samples, 0 for
// none.
func percentile[T int64 | float64 | time.Duration](sorted []T, p float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Table renders the summary as a plain text table, one row per step.
func (s Summary) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tload\treq\tok\terr\tcut\tMiB/s\tstream MiB/s p50\tconnect p50/p95\tttfb p50/p95\tttlb p50/p95\terrors\t")
	for _, st := range s.Steps {
		var errs []string
		for _, c := range slices.Sorted(maps.Keys(st.Errors)) {
			errs = append(errs, fmt.Sprintf("%s:%d", c, st.Errors[c]))
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%s/%s\t%s/%s\t%s/%s\t%s\t\n",
			st.Step+1, st.Load, st.Requests, st.OK, st.ErrorCount(), st.Cut,
			units.InMiB(st.Goodput), units.InMiB(st.StreamGoodputP50),
			ms(st.ConnectP50), ms(st.ConnectP95), ms(st.TTFBP50), ms(st.TTFBP95), ms(st.TTLBP50), ms(st.TTLBP95),
			strings.Join(errs, " "))
	}
	tw.Flush()
	return b.String()
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", units.Millis(d))
}
