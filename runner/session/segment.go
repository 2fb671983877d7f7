package session

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// DefaultStartBound is how far a step may begin from its scheduled start
// (Options.StartAt) before the run says so in run.json's warnings: a
// second is 1/30 of a typical 30 s step, and more than the few
// milliseconds a step takes to drain.
const DefaultStartBound = time.Second

// MaxStartAhead is how far in the future Options.StartAt may be: further
// is a typo more likely than a plan.
const MaxStartAhead = 24 * time.Hour

// OptionError is an Options value that cannot run the scenario; Flag
// names the command-line flag it came from.
type OptionError struct {
	Flag string
	Err  error
}

func (e *OptionError) Error() string { return fmt.Sprintf("--%s: %v", e.Flag, e.Err) }
func (e *OptionError) Unwrap() error { return e.Err }

// CheckOptions reports an *OptionError when opts cannot run sc: a
// segment out of range or of a scenario that cannot be split (an embedded
// network, which each worker would start for itself; variants), a start
// time whose schedule is over or more than MaxStartAhead away. Run calls
// it first; the CLI calls it to tell a usage error from a failed run.
func CheckOptions(sc *scenarios.Scenario, opts Options) error {
	if opts.segmented() {
		if err := opts.Segment.Validate(); err != nil {
			return &OptionError{"segment", err}
		}
		if sc.Target.Kind == scenarios.TargetTestnet {
			return &OptionError{"segment", errors.New("a testnet target would start an embedded network of its own on every worker: start one with `relaybench testnet up` and give the workers a socks target (its clients' SocksPorts) or a relay target")}
		}
		if len(sc.Variants) > 0 {
			return &OptionError{"segment", fmt.Errorf("scenario %s has variants, which a segment cannot interleave with the other workers': run each variant as a scenario of its own", sc.Name)}
		}
	} else if opts.ScrapeRelay {
		return &OptionError{"scrape-relay", errors.New("only a worker of a segmented run (--segment i/N) is told to scrape the relay: a whole run always does")}
	}
	if !opts.StartAt.IsZero() {
		if len(sc.Variants) > 0 {
			return &OptionError{"start-at", fmt.Errorf("scenario %s has variants, whose interleaved repetitions have no schedule of their own: run each variant as a scenario of its own", sc.Name)}
		}
		if ahead := time.Until(opts.StartAt); ahead > MaxStartAhead {
			return &OptionError{"start-at", fmt.Errorf("%s is %s away, more than %s: check the date", opts.StartAt.Format(time.RFC3339), ahead.Round(time.Minute), MaxStartAhead)}
		}
		if end := opts.StartAt.Add(sc.PlannedDuration()); time.Now().After(end) {
			return &OptionError{"start-at", fmt.Errorf("%s: the whole schedule (%s) ended at %s: give a time a little ahead, the same on every worker", opts.StartAt.Format(time.RFC3339), sc.PlannedDuration(), end.Format(time.RFC3339))}
		}
	}
	return nil
}

func (o Options) segmented() bool { return o.Segment.Count > 0 }

// scrapesRelay says whether this run scrapes the relay's MetricsPort and
// writes env.json: a whole run, segment 0, or a worker told to.
func (o Options) scrapesRelay() bool {
	return !o.segmented() || o.Segment.Index == 0 || o.ScrapeRelay
}

// runDirSuffix tells the workers' run directories apart.
func (o Options) runDirSuffix() string {
	if !o.segmented() {
		return ""
	}
	return fmt.Sprintf("-segment-%d-of-%d", o.Segment.Index, o.Segment.Count)
}

// workerScenario is the scenario the engine runs: sc itself, or for a
// segment a copy with its share of every step and of limits.max_bytes
// (in proportion to its share of the whole ramp, so the workers together
// stay within the limit). scenario.yaml keeps sc: every worker's is the
// same, which is how merge knows they ran one scenario.
func (o Options) workerScenario(sc *scenarios.Scenario) *scenarios.Scenario {
	if !o.segmented() {
		return sc
	}
	w := *sc
	w.Ramp.Steps = o.Segment.Shares(sc.Ramp.Steps)
	if lim := w.Limits.MaxBytes; lim > 0 {
		var mine, all int
		for i, l := range sc.Ramp.Steps {
			mine += w.Ramp.Steps[i]
			all += l
		}
		w.Limits.MaxBytes = scenarios.ByteSize(max(1, int64(math.Ceil(float64(lim)*float64(mine)/float64(all)))))
	}
	return &w
}

// segmentInfo is run.json's segment of a worker loading through n
// endpoints; nil for a whole run.
func (o Options) segmentInfo(sc *scenarios.Scenario, endpoints int) *rundir.SegmentInfo {
	if !o.segmented() {
		return nil
	}
	host, _ := os.Hostname()
	return &rundir.SegmentInfo{
		Index: o.Segment.Index, Count: o.Segment.Count, TotalLoads: slices.Clone(sc.Ramp.Steps),
		StartAt: o.StartAt.UTC(), StartBound: o.startBound(), ScrapesRelay: o.scrapesRelay(),
		Endpoints: endpoints, Host: host,
	}
}

func (o Options) startBound() time.Duration {
	if o.StartBound > 0 {
		return o.StartBound
	}
	return DefaultStartBound
}

// relayMetrics drops the relay's MetricsPorts (the target's and
// sampling.metrics_urls) from what a worker that does not scrape the
// relay samples: one worker scraping is enough, N would load it N times.
// Its own clients' MetricsPorts stay.
func (o Options) relayMetrics(m []rundir.MetricsEndpoint) []rundir.MetricsEndpoint {
	if o.scrapesRelay() {
		return m
	}
	return slices.DeleteFunc(m, func(e rundir.MetricsEndpoint) bool { return e.Role != rundir.RoleClient })
}

// repStart is when repetition rep's first step is scheduled: the
// repetitions follow each other on the wall clock. Zero without StartAt.
func (o Options) repStart(sc *scenarios.Scenario, rep int) time.Time {
	if o.StartAt.IsZero() {
		return time.Time{}
	}
	return o.StartAt.Add(time.Duration(rep*len(sc.Ramp.Steps)) * sc.Ramp.StepDuration.Std())
}

// engineOptions are the engine's options for repetition rep beyond
// progress and step logging.
func (o Options) engineOptions(sc *scenarios.Scenario, rep int) []runner.Option {
	if o.StartAt.IsZero() {
		return nil
	}
	at := o.repStart(sc, rep)
	if wait := time.Until(at); wait > time.Second {
		fmt.Fprintf(o.Progress, "waiting %s for the start time %s (--start-at) before repetition %d\n", wait.Round(100*time.Millisecond), at.Format(time.RFC3339Nano), rep+1)
	}
	return []runner.Option{runner.WithStartAt(at)}
}

// lateStep returns a warning when step s began further from its
// scheduled start than the bound; "" when it did not, or without StartAt.
// A worker's clock offset from the others' is not visible here: every
// worker times itself; keep the machines' clocks in sync (NTP).
func (o Options) lateStep(sc *scenarios.Scenario, s rundir.StepSummary) string {
	if o.StartAt.IsZero() {
		return ""
	}
	sched := o.repStart(sc, s.Repetition).Add(time.Duration(s.Step) * sc.Ramp.StepDuration.Std())
	off := s.Start.Sub(sched)
	if off.Abs() <= o.startBound() {
		return ""
	}
	why := "the previous step took that long to end"
	if s.Step == 0 {
		why = "the worker was not ready in time (tor clients still bootstrapping?): start the workers earlier or give a later --start-at"
	}
	return fmt.Sprintf("step %d of repetition %d began %s after its scheduled start %s (more than %s): %s; the step was that much shorter",
		s.Step+1, s.Repetition+1, off.Round(time.Millisecond), sched.Format(time.RFC3339Nano), o.startBound(), why)
}
