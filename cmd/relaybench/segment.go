package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/runner/session"
	"github.com/relaybench/relaybench/scenarios"
)

// segmentFlags are run's flags for one worker of a run spread over
// several machines: --segment, --start-at, --scrape-relay.
type segmentFlags struct {
	segment     segment.Segment
	startAt     time.Time
	scrapeRelay bool
}

func (f *segmentFlags) register(fs *flag.FlagSet) {
	fs.Func("segment", "run only worker i's share of every step, of N workers (`i/N`, 0-based: 0/3, 1/3, 2/3); merge the workers' run directories with `relaybench merge`", func(v string) error {
		s, err := segment.Parse(v)
		f.segment = s
		return err
	})
	fs.Func("start-at", "wait until this wall-clock time (`RFC3339`, e.g. 2026-05-01T12:00:00Z) before the first step and keep every step on that schedule; give every worker the same", func(v string) error {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time such as 2026-05-01T12:00:00Z", v)
		}
		f.startAt = t
		return nil
	})
	fs.BoolVar(&f.scrapeRelay, "scrape-relay", false, "with --segment: scrape the relay's MetricsPort and write env.json on this worker too (segment 0 always does)")
}

// apply sets the session options and checks them against sc: an
// error is a usage error (exit 2) naming the flag.
func (f *segmentFlags) apply(sc *scenarios.Scenario, opts *session.Options) error {
	opts.Segment, opts.StartAt, opts.ScrapeRelay = f.segment, f.startAt, f.scrapeRelay
	if err := session.CheckOptions(sc, *opts); err != nil {
		var oe *session.OptionError
		if errors.As(err, &oe) {
			return usageError{err}
		}
		return err
	}
	return nil
}
