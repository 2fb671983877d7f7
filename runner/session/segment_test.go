package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/scenarios"
)

func socksScenario(t *testing.T, steps ...int) *scenarios.Scenario {
	sc := shortScenario(t, "local", steps...)
	sc.Target = scenarios.Target{Kind: scenarios.TargetSocks, Socks: &scenarios.SocksTarget{Addresses: []string{"127.0.0.1:9050"}}}
	sc.Clients = 0
	return sc
}

func TestCheckOptions(t *testing.T) {
	socks := socksScenario(t, 1, 2)
	withVariants := socksScenario(t, 1)
	withVariants.Variants = []scenarios.Variant{{Name: "a"}, {Name: "b"}}
	soon := time.Now().Add(time.Minute)
	for _, tc := range []struct {
		name string
		sc   *scenarios.Scenario
		opts Options
		flag string // "" when the options are fine
		want string
	}{
		{"whole run", socks, Options{}, "", ""},
		{"segment", socks, Options{Segment: segment.Segment{Index: 2, Count: 3}, StartAt: soon, ScrapeRelay: true}, "", ""},
		{"index out of range", socks, Options{Segment: segment.Segment{Index: 3, Count: 3}}, "segment", "the index must be 0 to 2"},
		{"testnet", shortScenario(t, "local", 1), Options{Segment: segment.Segment{Count: 2}}, "segment", "relaybench testnet up"},
		{"variants", withVariants, Options{Segment: segment.Segment{Count: 2}}, "segment", "has variants"},
		{"start with variants", withVariants, Options{StartAt: soon}, "start-at", "has variants"},
		{"scrape without segment", socks, Options{ScrapeRelay: true}, "scrape-relay", "only a worker of a segmented run"},
		{"start far ahead", socks, Options{StartAt: time.Now().Add(25 * time.Hour)}, "start-at", "more than 24h0m0s: check the date"},
		{"schedule over", socks, Options{StartAt: time.Now().Add(-11 * time.Second)}, "start-at", "the whole schedule (10s) ended"},
		{"late but not over", socks, Options{StartAt: time.Now().Add(-5 * time.Second)}, "", ""},
	} {
		err := CheckOptions(tc.sc, tc.opts)
		var oe *OptionError
		switch {
		case tc.flag == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.flag != "" && (!errors.As(err, &oe) || oe.Flag != tc.flag || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "--"+tc.flag+": ")):
			t.Errorf("%s: %v; want an OptionError for --%s containing %q", tc.name, err, tc.flag, tc.want)
		}
	}
}

// A worker runs its share of every step and of limits.max_bytes; its
// scenario.yaml keeps the whole scenario.
func TestWorkerScenario(t *testing.T) {
	sc := socksScenario(t, 1, 2, 8)
	sc.Limits.MaxBytes = 1100
	o := Options{Segment: segment.Segment{Index: 2, Count: 3}}
	w := o.workerScenario(sc)
	if got := w.Ramp.Steps; len(got) != 3 || got[0] != 0 || got[1] != 0 || got[2] != 2 {
		t.Errorf("segment 2/3 of [1 2 8]: %v, want [0 0 2]", got)
	}
	// 2 of the ramp's 11 streams: 2/11 of 1100 bytes.
	if w.Limits.MaxBytes != 200 {
		t.Errorf("max_bytes %d, want 200", w.Limits.MaxBytes)
	}
	if sc.Ramp.Steps[2] != 8 || sc.Limits.MaxBytes != 1100 {
		t.Errorf("the scenario itself changed: %v %d", sc.Ramp.Steps, sc.Limits.MaxBytes)
	}
	if (Options{}).workerScenario(sc) != sc {
		t.Error("a whole run does not run the scenario as it is")
	}
}

// Only the worker that scrapes the relay keeps the relay's MetricsPorts.
func TestRelayMetricsOnlyOnTheScrapingWorker(t *testing.T) {
	all := []rundir.MetricsEndpoint{{URL: "t", Role: rundir.RoleTarget}, {URL: "c", Role: rundir.RoleClient}, {URL: "x", Role: rundir.RoleOther}}
	for _, tc := range []struct {
		opts Options
		want int
	}{
		{Options{}, 3},
		{Options{Segment: segment.Segment{Index: 0, Count: 2}}, 3},
		{Options{Segment: segment.Segment{Index: 1, Count: 2}}, 1},
		{Options{Segment: segment.Segment{Index: 1, Count: 2}, ScrapeRelay: true}, 3},
	} {
		got := tc.opts.relayMetrics(append([]rundir.MetricsEndpoint(nil), all...))
		if len(got) != tc.want || (tc.want == 1 && got[0].URL != "c") {
			t.Errorf("%+v: %+v, want %d endpoints", tc.opts, got, tc.want)
		}
	}
}

// A step that begins more than the bound after its schedule is a warning;
// the second repetition is scheduled after the first.
func TestLateStepWarns(t *testing.T) {
	sc := socksScenario(t, 1, 2) // 5 s steps
	sc.Repetitions = 2
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	o := Options{StartAt: at}
	onTime := rundir.StepSummary{StepKey: rundir.StepKey{Repetition: 1, Step: 1}, Start: at.Add(15*time.Second + 900*time.Millisecond)}
	if w := o.lateStep(sc, onTime); w != "" {
		t.Errorf("0.9 s late: %q, want no warning", w)
	}
	late := rundir.StepSummary{StepKey: rundir.StepKey{Repetition: 0, Step: 0}, Start: at.Add(2500 * time.Millisecond)}
	w := o.lateStep(sc, late)
	if !strings.Contains(w, "step 1 of repetition 1 began 2.5s after its scheduled start 2026-05-01T12:00:00Z (more than 1s): the worker was not ready in time") {
		t.Errorf("2.5 s late: %q", w)
	}
	if w := (Options{}).lateStep(sc, late); w != "" {
		t.Errorf("without a start time: %q", w)
	}
}
