package scenarios

import "math"

// The circuit-rate cap (limits.circuit_rate, limits.circuit_burst): its
// defaults and rules. See Limits.CircuitRate for what it is for.
const (
	// defaultRelayCircuitRate is two thirds of the live consensus'
	// DoSCircuitCreationRate (3/s): tor's own circuits (preemptive,
	// timeout-learning, directory) take from the relay's same per-address
	// bucket.
	defaultRelayCircuitRate = 2.0
	// circuitBurstSeconds is how many seconds of the rate the default
	// burst holds: tor's DoSCircuitCreationBurst is 30 s of its rate (90
	// at 3/s), so the relay default is 60.
	circuitBurstSeconds = 30
	// maxCircuitRate: the runner starts at most maxChurnRate requests a
	// second and a request needs at most one new circuit, so a higher cap
	// could never hold one back.
	maxCircuitRate = float64(maxChurnRate)
	// maxCircuitBurst: a step holds at most maxStreams streams, each with
	// at most one new circuit at its start; a larger burst never paces a
	// step.
	maxCircuitBurst = maxStreams
)

// DefaultCircuitBurst is limits.circuit_burst when the file does not set
// it: circuitBurstSeconds of rate, rounded up, at least 1 and at most
// 100,000; 0 without a cap (rate 0).
func DefaultCircuitBurst(rate float64) int {
	if !(rate > 0) {
		return 0
	}
	return int(min(max(math.Ceil(rate*circuitBurstSeconds), 1), maxCircuitBurst))
}

// applyCircuitCapDefaults fills in the cap's kind-dependent defaults: a
// cap for relay targets (other volunteers' relays count our circuits), none
// for testnet and socks targets. rateSet and burstSet say whether the file
// gave the fields a value: an explicit 0 is no cap, not "unset".
func (s *Scenario) applyCircuitCapDefaults(rateSet, burstSet bool) {
	if !rateSet && s.Target.Kind == TargetRelay {
		s.Limits.CircuitRate = defaultRelayCircuitRate
	}
	if !burstSet {
		s.Limits.CircuitBurst = DefaultCircuitBurst(s.Limits.CircuitRate)
	}
}

// checkCircuitCap checks limits.circuit_rate and limits.circuit_burst.
func (s *Scenario) checkCircuitCap(c *checker) *Error {
	l := s.Limits
	switch {
	case math.IsNaN(l.CircuitRate) || l.CircuitRate < 0 || math.IsInf(l.CircuitRate, 0):
		return c.errf("limits.circuit_rate", "%s is not a rate of new circuits: use new circuits per second, e.g. 2, or 0 for no cap", ftoa(l.CircuitRate))
	case l.CircuitRate > maxCircuitRate:
		return c.errf("limits.circuit_rate", "%s circuits/s could never hold a request back: use at most %s (the runner starts at most %d requests a second), or 0 for no cap",
			ftoa(l.CircuitRate), ftoa(maxCircuitRate), maxChurnRate)
	case l.CircuitBurst < 0:
		return c.errf("limits.circuit_burst", "%d is negative: use the number of new circuits that may open at once, e.g. %d", l.CircuitBurst, DefaultCircuitBurst(defaultRelayCircuitRate))
	case l.CircuitRate == 0 && l.CircuitBurst != 0:
		return c.errf("limits.circuit_burst", "only used with limits.circuit_rate, which is 0 (no cap): set a rate, or remove the burst")
	case l.CircuitRate > 0 && l.CircuitBurst < 1:
		return c.errf("limits.circuit_burst", "0 would never let a circuit open under limits.circuit_rate %s: use at least 1, or remove it for the default (%d here)",
			ftoa(l.CircuitRate), DefaultCircuitBurst(l.CircuitRate))
	case l.CircuitBurst > maxCircuitBurst:
		return c.errf("limits.circuit_burst", "%d is too large: use at most %d (the most streams a step holds: a larger burst never paces a step); for no cap set limits.circuit_rate to 0",
			l.CircuitBurst, maxCircuitBurst)
	}
	return nil
}
