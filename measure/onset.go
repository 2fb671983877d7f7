package measure

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/units"
	"github.com/relaybench/relaybench/scenarios"
)

// Sources of a Signal.
const (
	// SourceRelay: tor itself declared overload on its MetricsPort.
	SourceRelay = "relay"
	// SourceClient: the load generator saw it in goodput, latency or
	// errors.
	SourceClient = "client"
)

// The client-side signals; the relay-declared ones are
// metricsport.SignalName values.
const (
	// SignalSaturation: goodput grew by less than onset.saturation_gain
	// per doubling of the offered load.
	SignalSaturation = "saturation"
	// SignalLatency: p95 TTFB above onset.latency_factor times the first
	// step's.
	SignalLatency = "latency"
	// SignalErrors: error rate above onset.error_rate.
	SignalErrors = "errors"
)

// Signal is one overload signal that fired at a step, with its evidence.
type Signal struct {
	// Name is a metricsport.SignalName (relay) or SignalSaturation,
	// SignalLatency, SignalErrors (client).
	Name string `json:"name"`
	// Source is SourceRelay or SourceClient.
	Source string `json:"source"`
	Step   int    `json:"step"`
	Load   int    `json:"load"`
	// At is when a relay signal first showed (zero for client signals).
	At time.Time `json:"at,omitzero"`
	// Reps lists the repetitions in which a relay signal fired.
	Reps []int `json:"reps,omitempty"`
	// Series is the MetricsPort series behind a relay signal.
	Series string `json:"series,omitempty"`
	// Value and Threshold are what was compared: for saturation the
	// goodput gain and the gain required, for latency the p95 TTFB ratio
	// to the first step and the factor, for errors the error rate and its
	// limit. Relay signals carry the series' value at At.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Evidence is a one-line account for reports.
	Evidence string `json:"evidence"`
}

// Onset is the first step at which the relay stopped keeping up.
type Onset struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// Cause names the leading signal: relay-declared signals before
	// client-side ones, earlier before later.
	Cause string `json:"cause"`
	// Signals are all the signals that fired at the step, Cause first.
	Signals []Signal `json:"signals"`
	// LoadGeneratorBound is true when the load generator (client tors,
	// relaybench or the machine) was at its limit at the onset step: a
	// client-side signal then says more about the generator than the relay.
	LoadGeneratorBound bool `json:"load_generator_bound"`
}

// Capacity is the highest goodput the relay sustained up to the onset.
type Capacity struct {
	Step int `json:"step"`
	Load int `json:"load"`
	// Goodput is the client goodput estimate at that step, bytes/s.
	Goodput Estimate `json:"goodput"`
	// RepGoodput is each repetition's goodput at that step (bytes/s), in
	// repetition order: the capacity's samples, one per repetition, which
	// compare tests; Goodput.Mean is their mean.
	RepGoodput []float64 `json:"rep_goodput"`
	// RelayReadBps and RelayWrittenBps are the relay's own traffic there;
	// 0 without MetricsPort data.
	RelayReadBps    float64 `json:"relay_read_bps"`
	RelayWrittenBps float64 `json:"relay_written_bps"`
	// LowerBound is true when the relay can carry more than this: no
	// overload was reached, or the load generator was the limit.
	LowerBound bool `json:"lower_bound"`
	// Reasons says why it is a lower bound.
	Reasons []string `json:"reasons,omitempty"`
}

// relaySignals runs metricsport.DetectOnsets over each repetition's window
// of one step: the last successful scrape before the step is the baseline,
// so a counter that rose during the step fires there and counts carried
// over from earlier steps do not.
func relaySignals(url string, obs []metricsport.Observation, windows []rundir.StepSummary, th scenarios.Onset) []Signal {
	byName := map[string]*Signal{}
	var order []string
	for _, w := range windows {
		var win []metricsport.Observation
		for _, o := range obs {
			switch {
			case o.At.Before(w.Start):
				if o.Snapshot != nil {
					win = []metricsport.Observation{o} // the latest baseline
				}
			case !o.At.After(w.End):
				o.UnderLoad = true
				win = append(win, o)
			}
		}
		cfg := metricsport.SignalConfig{SocketFraction: th.SocketFraction}
		found := metricsport.DetectOnsets(win, cfg)
		// DetectOnsets reports each signal's first firing only. A gauge
		// signal (sockets) already true at the baseline fires there, before
		// the step, and would be lost to the step; the window without its
		// baseline finds it within the step. Counter signals need the
		// baseline, so both runs are merged, earliest in-step first.
		if len(win) > 0 && win[0].At.Before(w.Start) {
			found = append(found, metricsport.DetectOnsets(win[1:], cfg)...)
			slices.SortStableFunc(found, func(a, b metricsport.OnsetSignal) int { return a.At.Compare(b.At) })
		}
		for _, s := range found {
			if s.At.Before(w.Start) {
				continue // the baseline itself, from the step before
			}
			name := string(s.Name)
			if sig := byName[name]; sig != nil {
				if !slices.Contains(sig.Reps, w.Repetition) {
					sig.Reps = append(sig.Reps, w.Repetition)
				}
				continue // the first firing in the step is the evidence
			}
			byName[name] = &Signal{
				Name: name, Source: SourceRelay, Step: w.Step, Load: w.Load, At: s.At,
				Reps: []int{w.Repetition}, Series: s.Series, Value: s.After, Threshold: s.Limit,
				Evidence: fmt.Sprintf("%s: %s", url, s.Evidence),
			}
			order = append(order, name)
		}
	}
	var out []Signal
	for _, n := range order {
		sig := *byName[n]
		if len(windows) > 1 {
			sig.Evidence += fmt.Sprintf(" (in %d of %d repetitions)", len(sig.Reps), len(windows))
		}
		out = append(out, sig)
	}
	return out
}

// clientSignals adds the saturation, latency and error signals to steps.
func clientSignals(steps []StepResult, th scenarios.Onset) {
	var first *StepResult
	for i := range steps {
		s := &steps[i]
		if s.ErrorRate > th.ErrorRate {
			failed := s.Requests - s.OK - s.Cut
			s.Signals = append(s.Signals, Signal{
				Name: SignalErrors, Source: SourceClient, Step: s.Step, Load: s.Load,
				Value: s.ErrorRate, Threshold: th.ErrorRate,
				Evidence: fmt.Sprintf("%d of %d requests failed (%.1f%%, limit %.1f%%): %s",
					failed, s.OK+failed, s.ErrorRate*100, th.ErrorRate*100, errorText(s.Errors)),
			})
		}
		if first == nil {
			if s.TTFB.N > 0 {
				first = s
			}
		} else if s.TTFB.N > 0 && first.TTFB.P95 > 0 {
			ratio := s.TTFB.P95 / first.TTFB.P95
			if ratio > th.LatencyFactor {
				s.Signals = append(s.Signals, Signal{
					Name: SignalLatency, Source: SourceClient, Step: s.Step, Load: s.Load,
					Value: ratio, Threshold: th.LatencyFactor,
					Evidence: fmt.Sprintf("p95 time to first byte %s is %.1f× the first step's %s (limit %.1f×)",
						fmtSeconds(s.TTFB.P95), ratio, fmtSeconds(first.TTFB.P95), th.LatencyFactor),
				})
			}
		}
		if i == 0 {
			continue
		}
		prev := &steps[i-1]
		if prev.Load <= 0 || s.Load <= prev.Load || prev.Goodput.Mean <= 0 || prev.Goodput.N == 0 || s.Goodput.N == 0 {
			continue
		}
		// The gain asked for scales with how much the load grew: 10 % per
		// doubling means 5.8 % from 2 to 3 streams.
		doublings := math.Log2(float64(s.Load) / float64(prev.Load))
		need := th.SaturationGain * doublings
		gain := s.Goodput.Mean/prev.Goodput.Mean - 1
		if gain < need {
			s.Signals = append(s.Signals, Signal{
				Name: SignalSaturation, Source: SourceClient, Step: s.Step, Load: s.Load,
				Value: gain, Threshold: need,
				Evidence: fmt.Sprintf("goodput %s → %s (%+.1f%%) while the load went %d → %d; at least %+.1f%% was expected",
					units.MiBps(prev.Goodput.Mean), units.MiBps(s.Goodput.Mean), gain*100, prev.Load, s.Load, need*100),
			})
		}
	}
}

// signalRank orders signals: tor's own declarations first, then errors,
// latency and saturation (the most direct symptom first).
func signalRank(s Signal) int {
	if s.Source == SourceRelay {
		return 0
	}
	switch s.Name {
	case SignalErrors:
		return 1
	case SignalLatency:
		return 2
	}
	return 3
}

func sortSignals(s []Signal) {
	slices.SortStableFunc(s, func(a, b Signal) int {
		return cmp.Or(cmp.Compare(signalRank(a), signalRank(b)), a.At.Compare(b.At), strings.Compare(a.Name, b.Name))
	})
}

func findOnset(steps []StepResult) *Onset {
	for _, s := range steps {
		if len(s.Signals) == 0 {
			continue
		}
		return &Onset{Step: s.Step, Load: s.Load, Cause: s.Signals[0].Name, Signals: s.Signals, LoadGeneratorBound: s.LoadGeneratorBound}
	}
	return nil
}

// findCapacity picks the step with the highest mean goodput among the
// steps up to and including the onset step (all steps without onset). The
// onset step is included because it is where the relay was at its limit:
// with a rate limit that binds from the first step, the first step is the
// capacity.
func findCapacity(steps []StepResult, onset *Onset) *Capacity {
	var best *StepResult
	for i := range steps {
		s := &steps[i]
		if onset != nil && s.Step > onset.Step {
			break
		}
		if s.Goodput.N > 0 && (best == nil || s.Goodput.Mean > best.Goodput.Mean) {
			best = s
		}
	}
	if best == nil || best.Goodput.Mean <= 0 {
		return nil
	}
	c := &Capacity{Step: best.Step, Load: best.Load, Goodput: best.Goodput}
	if best.Relay != nil {
		c.RelayReadBps, c.RelayWrittenBps = best.Relay.ReadBps, best.Relay.WrittenBps
	}
	if onset == nil {
		c.LowerBound = true
		c.Reasons = append(c.Reasons, "no overload signal fired: the relay may carry more than the highest load tried")
	}
	for _, b := range best.Bottlenecks {
		if b.LimitsMeasurement() {
			c.LowerBound = true
			c.Reasons = append(c.Reasons, b.Evidence)
		}
	}
	if onset != nil && onset.Step != best.Step && onset.LoadGeneratorBound {
		for _, s := range steps {
			if s.Step == onset.Step {
				for _, b := range s.Bottlenecks {
					if b.LimitsMeasurement() {
						c.LowerBound = true
						c.Reasons = append(c.Reasons, fmt.Sprintf("at the onset step (load %d): %s", s.Load, b.Evidence))
					}
				}
			}
		}
	}
	return c
}

func errorText(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func fmtSeconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}
