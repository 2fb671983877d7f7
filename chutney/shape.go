package chutney

import (
	"github.com/relaybench/relaybench/scenarios"
)

// ShapeOptions translates a scenario's testnet section, beyond its torrc
// and nofile, into chutney options: the number of exits and middles, the
// target's CPU quota and memory limit, its tor executable and the consensus
// parameters the authorities vote. Zero values keep chutney's defaults.
func ShapeOptions(tn *scenarios.TestnetTarget) []Option {
	var opts []Option
	if tn == nil {
		return nil
	}
	if tn.Exits > 0 {
		opts = append(opts, WithExits(tn.Exits))
	}
	if tn.Middles > 0 {
		opts = append(opts, WithMiddles(tn.Middles))
	}
	if tn.CPU > 0 {
		opts = append(opts, WithTargetCPU(tn.CPU))
	}
	if tn.Memory > 0 {
		opts = append(opts, WithTargetMemory(int64(tn.Memory)))
	}
	if tn.Tor != "" {
		opts = append(opts, WithTargetTor(tn.Tor))
	}
	if len(tn.ConsensusParams) > 0 {
		opts = append(opts, WithConsensusParams(tn.ConsensusParams))
	}
	return opts
}
