package metricsport

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrNoInterval is returned by ComputeRates when the second snapshot is not
// strictly later than the first, so no rate is defined.
var ErrNoInterval = errors.New("snapshots are not in increasing time order")

// Rates describes the interval between two snapshots of the same relay.
//
// Counter resets: a counter lower than before means the relay restarted inside
// the interval (tor's counters only grow while the process lives). We follow
// Prometheus' rate(): the increase is then the new value, because the new
// process counted from 0 within the interval. That is a lower bound of the
// true increase, so the interval is also marked Reset; consumers that need
// exact numbers (throughput curves) should drop Reset intervals, while signal
// detection may keep them (a counter that is above 0 right after a restart
// really did rise).
type Rates struct {
	From, To time.Time
	// Seconds is To-From in seconds; always > 0 for a Rates returned
	// without error.
	Seconds float64
	// Reset reports that at least one mapped counter went backwards.
	Reset bool
	// ResetCounters names the counters that went backwards (field names of
	// RelayCounters, with the map key in brackets).
	ResetCounters []string
	// Increase is how much each counter grew over the interval.
	Increase RelayCounters
	// PerSecond is Increase divided by Seconds.
	PerSecond RelayCounters
}

// ComputeRates returns the counter increases and per-second rates from prev
// to next. It fails with ErrNoInterval when next is not later than prev (equal
// or swapped timestamps, or a zero time), rather than dividing by zero or
// returning negative rates.
func ComputeRates(prev, next RelaySnapshot) (Rates, error) {
	if prev.At.IsZero() || next.At.IsZero() || !next.At.After(prev.At) {
		return Rates{}, fmt.Errorf("rates from %s to %s: %w; pass snapshots with scrape times, oldest first", prev.At.Format(time.RFC3339Nano), next.At.Format(time.RFC3339Nano), ErrNoInterval)
	}
	r := Rates{From: prev.At, To: next.At, Seconds: next.At.Sub(prev.At).Seconds()}
	d := &deltaCalc{}
	r.Increase = d.counters(prev.Counters, next.Counters)
	slices.Sort(d.resets) // map order is random; keep output stable
	r.ResetCounters = d.resets
	r.Reset = len(d.resets) > 0
	r.PerSecond = scaleCounters(r.Increase, 1/r.Seconds)
	return r, nil
}

// RateSeries computes the rates between consecutive snapshots, skipping pairs
// without a positive interval (duplicated or out-of-order scrapes).
func RateSeries(snaps []RelaySnapshot) []Rates {
	var out []Rates
	for i := 1; i < len(snaps); i++ {
		r, err := ComputeRates(snaps[i-1], snaps[i])
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	return out
}

// increase is the reset-aware growth of one counter. It is never negative:
// after a reset a negative value (impossible from tor, possible from a
// damaged scrape) counts as no growth.
func increase(prev, next float64) (inc float64, reset bool) {
	if next < prev {
		return max(next, 0), true
	}
	return next - prev, false
}

type deltaCalc struct{ resets []string }

func (d *deltaCalc) one(name string, prev, next float64) float64 {
	inc, reset := increase(prev, next)
	if reset {
		d.resets = append(d.resets, name)
	}
	return inc
}

// keyed computes increases for a labelled counter. A key only in next counts
// from 0 (the series appeared); a key only in prev is dropped (it vanished,
// there is nothing to rate).
func (d *deltaCalc) keyed(name string, prev, next map[string]float64) map[string]float64 {
	if next == nil {
		return nil
	}
	out := make(map[string]float64, len(next))
	for k, nv := range next {
		out[k] = d.one(name+"["+k+"]", prev[k], nv)
	}
	return out
}

func (d *deltaCalc) counters(p, n RelayCounters) RelayCounters {
	return RelayCounters{
		TrafficReadBytes:      d.one("TrafficReadBytes", p.TrafficReadBytes, n.TrafficReadBytes),
		TrafficWrittenBytes:   d.one("TrafficWrittenBytes", p.TrafficWrittenBytes, n.TrafficWrittenBytes),
		OnionskinsProcessed:   d.keyed("OnionskinsProcessed", p.OnionskinsProcessed, n.OnionskinsProcessed),
		OnionskinsDropped:     d.keyed("OnionskinsDropped", p.OnionskinsDropped, n.OnionskinsDropped),
		OOMBytes:              d.keyed("OOMBytes", p.OOMBytes, n.OOMBytes),
		TCPExhaustion:         d.one("TCPExhaustion", p.TCPExhaustion, n.TCPExhaustion),
		RateLimitReachedRead:  d.one("RateLimitReachedRead", p.RateLimitReachedRead, n.RateLimitReachedRead),
		RateLimitReachedWrite: d.one("RateLimitReachedWrite", p.RateLimitReachedWrite, n.RateLimitReachedWrite),
		DoS:                   d.keyed("DoS", p.DoS, n.DoS),
		ConnectionsCreated:    d.keyed("ConnectionsCreated", p.ConnectionsCreated, n.ConnectionsCreated),
		ConnectionsRejected:   d.keyed("ConnectionsRejected", p.ConnectionsRejected, n.ConnectionsRejected),
		Streams:               d.keyed("Streams", p.Streams, n.Streams),
		BugsReached:           d.one("BugsReached", p.BugsReached, n.BugsReached),
	}
}

func scaleCounters(c RelayCounters, f float64) RelayCounters {
	return RelayCounters{
		TrafficReadBytes:      c.TrafficReadBytes * f,
		TrafficWrittenBytes:   c.TrafficWrittenBytes * f,
		OnionskinsProcessed:   scaleMap(c.OnionskinsProcessed, f),
		OnionskinsDropped:     scaleMap(c.OnionskinsDropped, f),
		OOMBytes:              scaleMap(c.OOMBytes, f),
		TCPExhaustion:         c.TCPExhaustion * f,
		RateLimitReachedRead:  c.RateLimitReachedRead * f,
		RateLimitReachedWrite: c.RateLimitReachedWrite * f,
		DoS:                   scaleMap(c.DoS, f),
		ConnectionsCreated:    scaleMap(c.ConnectionsCreated, f),
		ConnectionsRejected:   scaleMap(c.ConnectionsRejected, f),
		Streams:               scaleMap(c.Streams, f),
		BugsReached:           c.BugsReached * f,
	}
}

func scaleMap(m map[string]float64, f float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v * f
	}
	return out
}
