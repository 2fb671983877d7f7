package measure

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/runner/rundir"
)

// Point is one value of a time series: T seconds after Timeline.Start. In
// JSON it is the pair [T, V], to keep summary.json small.
type Point struct {
	T float64
	V float64
}

// MarshalJSON writes [T, V] with T in milliseconds' precision.
func (p Point) MarshalJSON() ([]byte, error) {
	v := p.V
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return fmt.Appendf(nil, "[%s,%s]", trimFloat(math.Round(p.T*1000)/1000), trimFloat(v)), nil
}

// UnmarshalJSON reads [T, V].
func (p *Point) UnmarshalJSON(b []byte) error {
	var pair [2]float64
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("point: %w", err)
	}
	p.T, p.V = pair[0], pair[1]
	return nil
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.6g", f)
	if strings.ContainsAny(s, "e") {
		s = fmt.Sprintf("%.0f", f)
	}
	return s
}

// Timeline is the run as time series, for charts: client goodput each
// second, the relay's traffic and rate-limit hits between scrapes, and the
// CPU of each process between samples. T is seconds since Start.
type Timeline struct {
	Start time.Time `json:"start"`
	// Steps marks each step of each repetition.
	Steps []TimelineStep `json:"steps"`
	// Goodput is the client goodput (bytes/s) of each second.
	Goodput []Point `json:"goodput"`
	// RelayRead and RelayWritten are the relay's traffic (bytes/s) between
	// consecutive scrapes, placed at the later scrape.
	RelayRead    []Point `json:"relay_read,omitempty"`
	RelayWritten []Point `json:"relay_written,omitempty"`
	// RateLimitHits is how often the relay's global rate limit was reached
	// (read and write) between consecutive scrapes.
	RateLimitHits []Point `json:"rate_limit_hits,omitempty"`
	// CPU holds each process's CPU use (cores) between samples.
	CPU []ProcessSeries `json:"cpu,omitempty"`
	// OnsetAt is when the onset was first seen: the first relay signal's
	// time, else the onset step's start in the first repetition. Nil
	// without onset.
	OnsetAt *float64 `json:"onset_at,omitempty"`
}

// TimelineStep is one step of one repetition on the timeline.
type TimelineStep struct {
	Rep       int     `json:"rep"`
	Step      int     `json:"step"`
	Load      int     `json:"load"`
	Start     float64 `json:"start"`
	WarmupEnd float64 `json:"warmup_end"`
	End       float64 `json:"end"`
}

// ProcessSeries is one process's CPU over time.
type ProcessSeries struct {
	Name   string  `json:"name"`
	Role   string  `json:"role"`
	Points []Point `json:"points"`
}

// timeline builds the Timeline of r; nil when there are no steps.
func timeline(r *Run, onset *Onset) *Timeline {
	if len(r.Steps) == 0 {
		return nil
	}
	steps := slices.Clone(r.Steps)
	sortSteps(steps)
	start := steps[0].Start
	for _, s := range steps {
		if s.Start.Before(start) {
			start = s.Start
		}
	}
	tl := &Timeline{Start: start}
	at := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	for _, s := range steps {
		tl.Steps = append(tl.Steps, TimelineStep{Rep: s.Repetition, Step: s.Step, Load: s.Load,
			Start: at(s.Start), WarmupEnd: at(s.WarmupEnd), End: at(s.End)})
		tl.Goodput = append(tl.Goodput, stepSeconds(s, at)...)
	}
	if targets := r.targetURLs(); len(targets) > 0 {
		snaps := metricsport.Snapshots(r.Metrics, targets[0])
		for _, rt := range metricsport.RateSeries(snaps) {
			if rt.Reset {
				continue // a restart makes the interval's rate meaningless
			}
			t := at(rt.To)
			tl.RelayRead = append(tl.RelayRead, Point{t, rt.PerSecond.TrafficReadBytes})
			tl.RelayWritten = append(tl.RelayWritten, Point{t, rt.PerSecond.TrafficWrittenBytes})
			tl.RateLimitHits = append(tl.RateLimitHits, Point{t, rt.Increase.RateLimitReachedRead + rt.Increase.RateLimitReachedWrite})
		}
	}
	procs := groupProcesses(r.Processes)
	for _, name := range slices.Sorted(maps.Keys(procs)) {
		samples := procs[name]
		ps := ProcessSeries{Name: name, Role: string(samples[0].Role)}
		var prev *rundir.ProcessSample
		for i := range samples {
			s := &samples[i]
			if s.Err != "" {
				prev = nil
				continue
			}
			if prev != nil && prev.PID == s.PID {
				if dt := s.Time.Sub(prev.Time).Seconds(); dt > 0 {
					cpu := (s.CPUSeconds - prev.CPUSeconds) / dt
					if s.Cores > 0 {
						// The machine's busy cores, from its total CPU time
						// when recorded (as the step figures are).
						cpu = procstat.Utilisation(*prev, *s) * float64(s.Cores)
					}
					ps.Points = append(ps.Points, Point{at(s.Time), cpu})
				}
			}
			prev = s
		}
		if len(ps.Points) > 0 {
			tl.CPU = append(tl.CPU, ps)
		}
	}
	if onset != nil {
		var t *float64
		for _, s := range onset.Signals {
			if !s.At.IsZero() {
				v := at(s.At)
				t = &v
				break
			}
		}
		if t == nil {
			for _, s := range steps {
				if s.Step == onset.Step {
					v := at(s.Start)
					t = &v
					break
				}
			}
		}
		tl.OnsetAt = t
	}
	return tl
}

// stepSeconds is the goodput of each second of a step, warm-up included
// (the chart shades it), placed at the middle of its second.
func stepSeconds(s rundir.StepSummary, at func(time.Time) float64) []Point {
	var out []Point
	for _, sr := range secondRates(s) {
		out = append(out, Point{at(sr.from.Add(time.Duration(sr.secs / 2 * float64(time.Second)))), sr.rate})
	}
	return out
}
