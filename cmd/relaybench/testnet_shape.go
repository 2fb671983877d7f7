package main

import (
	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/scenarios"
)

// testnetShape translates a scenario's testnet section, beyond its torrc
// and nofile, into chutney options: the number of exits and middles, the
// target's CPU quota and memory limit, and its tor executable. Zero values
// keep chutney's defaults.
func testnetShape(tn *scenarios.TestnetTarget) []chutney.Option {
	var opts []chutney.Option
	if tn == nil {
		return nil
	}
	if tn.Exits > 0 {
		opts = append(opts, chutney.WithExits(tn.Exits))
	}
	if tn.Middles > 0 {
		opts = append(opts, chutney.WithMiddles(tn.Middles))
	}
	if tn.CPU > 0 {
		opts = append(opts, chutney.WithTargetCPU(tn.CPU))
	}
	if tn.Memory > 0 {
		opts = append(opts, chutney.WithTargetMemory(int64(tn.Memory)))
	}
	if tn.Tor != "" {
		opts = append(opts, chutney.WithTargetTor(tn.Tor))
	}
	return opts
}
