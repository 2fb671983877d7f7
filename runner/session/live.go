package session

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// relaySignalNames are the overload signals the relay can declare, each
// a relaybench_relay_overload_signal series from the run's start.
var relaySignalNames = []metricsport.SignalName{
	metricsport.SignalOnionskinsDropped, metricsport.SignalOOM, metricsport.SignalTCPExhaustion,
	metricsport.SignalRateLimit, metricsport.SignalSockets, metricsport.SignalMetricsPortUnreachable,
	metricsport.SignalDoS,
}

// live feeds Options.Metrics while a run goes: the engine's step
// boundaries and records, the circuit log's records and the relay's
// overload signals from the MetricsPort sampler; and with onset.abort it
// watches the relay's overload signals for abortOnDeclared. Every method
// is a no-op without an exporter or onset.abort.
type live struct {
	exp *promexport.Exporter
	// signals is nil without a MetricsPort of the target, or without an
	// exporter and onset.abort.
	signals *liveSignals
}

// newLive starts the exporter's series of one run directory: sc (variant)
// driven through endpoints SOCKS endpoints, the relay under test scraped
// at targetURL ("" when it is not).
func newLive(exp *promexport.Exporter, sc *scenarios.Scenario, variant string, endpoints int, targetURL string) *live {
	l := &live{exp: exp}
	if targetURL != "" && (exp != nil || sc.Onset.Abort) {
		l.signals = &liveSignals{url: targetURL, cfg: metricsport.SignalConfig{SocketFraction: sc.Onset.SocketFraction}, fired: map[metricsport.SignalName]bool{}}
	}
	if exp == nil {
		return l
	}
	unit := "streams"
	if sc.Workload.Kind == scenarios.WorkloadChurn {
		unit = "req/s"
	}
	names := make([]string, len(relaySignalNames))
	for i, n := range relaySignalNames {
		names[i] = string(n)
	}
	exp.SetRun(promexport.Run{Scenario: sc.Name, Variant: variant, LoadUnit: unit, Endpoints: endpoints, RelaySignals: names})
	return l
}

// abortOnDeclared makes the run call abort, once, as soon as a scrape of
// the target's MetricsPort during a step shows one of the signals the
// relay declares itself (metricsport.RelayDeclared) rising, with the
// signal and the step (onset.abort). No-op without a target MetricsPort.
func (l *live) abortOnDeclared(abort func(metricsport.OnsetSignal, rundir.StepSummary)) {
	if l.signals != nil {
		l.signals.declared = abort
	}
}

// options are the engine options that feed the exporter and the signals.
func (l *live) options() []runner.Option {
	var opts []runner.Option
	if l.exp != nil || l.signals != nil {
		opts = append(opts, runner.WithStepStart(func(s rundir.StepSummary) {
			if l.signals != nil {
				l.signals.stepStarted(s)
			}
			if l.exp != nil {
				l.exp.StepStarted(s)
			}
		}))
	}
	if l.exp != nil {
		opts = append(opts, runner.WithRecordDone(l.exp.Observe))
	}
	return opts
}

// stepDone marks the end of a step.
func (l *live) stepDone(s rundir.StepSummary) {
	if l.signals != nil {
		l.signals.loading.Store(false)
	}
	if l.exp != nil {
		l.exp.StepDone(s)
	}
}

// circuit counts a circuit record; nil without an exporter, for
// recordCircuits.
func (l *live) circuit() func(rundir.CircuitRecord) {
	if l.exp == nil {
		return nil
	}
	return l.exp.Circuit
}

// scrape is the MetricsPort sampler's OnScrape; nil without a target
// MetricsPort whose signals an exporter or onset.abort watches.
func (l *live) scrape() func(metricsport.ScrapeRecord) {
	if l.signals == nil {
		return nil
	}
	return func(rec metricsport.ScrapeRecord) {
		for _, name := range l.signals.scrape(rec) {
			if l.exp != nil {
				l.exp.RelaySignal(string(name))
			}
		}
	}
}

// liveSignals runs relaybench's relay-declared onset rules
// (metricsport.DetectOnsets) on the target's scrapes as they arrive, the
// first scrape being the baseline. The analysis applies the same rules per
// step afterwards; live, a signal stays fired for the rest of the run.
type liveSignals struct {
	url string
	cfg metricsport.SignalConfig
	// loading is true while a step runs: only failed scrapes under load
	// count toward metricsport-unreachable.
	loading atomic.Bool

	// declared, when set, is called at most once, with the first
	// relay-declared signal seen rising while a step ran (onset.abort).
	declared func(metricsport.OnsetSignal, rundir.StepSummary)

	mu sync.Mutex
	// win holds the last successful observation and the failed ones since.
	win   []metricsport.Observation
	fired map[metricsport.SignalName]bool
	// step is the step running or last run; abortCalled says declared was
	// called.
	step        rundir.StepSummary
	abortCalled bool
}

// stepStarted marks the start of step s: scrapes are under load.
func (s *liveSignals) stepStarted(step rundir.StepSummary) {
	s.mu.Lock()
	s.step = step
	s.mu.Unlock()
	s.loading.Store(true)
}

// scrape takes one scrape record and returns the signals that fired for
// the first time with it. With declared set, a relay-declared signal that
// rose with it while a step ran is handed to declared, fired before or not.
func (s *liveSignals) scrape(rec metricsport.ScrapeRecord) []metricsport.SignalName {
	if rec.URL != s.url {
		return nil
	}
	loading := s.loading.Load()
	obs := metricsport.Observations([]metricsport.ScrapeRecord{rec}, s.url, func(time.Time) bool { return loading })
	s.mu.Lock()
	s.win = append(s.win, obs...)
	var out []metricsport.SignalName
	var abort *metricsport.OnsetSignal
	for _, sig := range metricsport.DetectOnsets(s.win, s.cfg) {
		if !s.fired[sig.Name] {
			s.fired[sig.Name] = true
			out = append(out, sig.Name)
		}
		if loading && s.declared != nil && !s.abortCalled && abort == nil && slices.Contains(metricsport.RelayDeclared(), sig.Name) {
			abort = &sig
		}
	}
	if last := s.win[len(s.win)-1]; last.Snapshot != nil {
		s.win = []metricsport.Observation{last}
	}
	step := s.step
	if abort != nil {
		s.abortCalled = true
	}
	s.mu.Unlock()
	if abort != nil {
		s.declared(*abort, step)
	}
	return out
}
