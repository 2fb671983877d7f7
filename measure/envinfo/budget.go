package envinfo

import (
	"fmt"

	"github.com/relaybench/relaybench/runner/units"
)

// MemoryBudget is tor's effective MaxMemInQueues: how much memory its
// queues and buffers (cells, connection buffers, compression state, HS
// descriptor, GeoIP and DNS caches) may hold before its OOM handler kills
// circuits.
type MemoryBudget struct {
	// Bytes is the effective MaxMemInQueues.
	Bytes int64 `json:"bytes"`
	// Source is "tor" when Bytes came from GETINFO limits/max-mem-in-queues,
	// "computed" when from the rule below.
	Source string `json:"source"`
	// Rule says how tor arrived at Bytes, e.g. "MaxMemInQueues 300 MiB
	// (configured)" or "40% of 23.5 GiB RAM (RAM >= 8 GiB), capped at 8 GiB".
	Rule string `json:"rule"`
	// ConfiguredBytes is MaxMemInQueues as configured; 0 means unset, and
	// tor then picks the budget from RAM.
	ConfiguredBytes int64 `json:"configured_bytes"`
	// LowThresholdBytes is 75 % of Bytes (tor's MaxMemInQueues_low_threshold):
	// above it tor counts itself as under memory pressure, but frees
	// nothing.
	LowThresholdBytes int64 `json:"low_threshold_bytes"`
	// OOMThresholdBytes is where the OOM handler runs: at Bytes itself
	// (relay.c cell_queues_check_size), killing the circuits with the
	// oldest queued data until usage is below 90 % of Bytes.
	OOMThresholdBytes int64 `json:"oom_threshold_bytes"`
}

// Constants of tor's memory budget, as in tor's source (tor-0.4.9.11,
// src/app/config/config.h and config.c, compute_real_max_mem_in_queues):
//
//	#define MAX_DEFAULT_MEMORY_QUEUE_SIZE (UINT64_C(8) << 30)   (64-bit)
//	#define ONE_GIGABYTE (UINT64_C(1) << 30)
//	#define RAM_IS_VERY_LARGE(x) ((x) >= (8 * ONE_GIGABYTE))
//	avail = very large ? (ram / 5) * 2 : (ram / 4) * 3;
//	clamp avail to [ONE_GIGABYTE / 4, MAX_DEFAULT_MEMORY_QUEUE_SIZE]
//	no RAM reading: 8 * ONE_GIGABYTE
//	configured on a relay below MIN_SERVER_MB (64): raised to 64 MB
//	MaxMemInQueues_low_threshold = (MaxMemInQueues / 4) * 3
//
// So tor's "8 GB" is 8 GiB and its floor ("0.25 GB") is 256 MiB, not
// 250 MB.
const (
	gib              = int64(units.GiB)
	veryLargeRAM     = 8 * gib
	maxDefaultBudget = 8 * gib
	minDefaultBudget = gib / 4
	minServerBudget  = 64 * units.MiB
	unknownRAMBudget = 8 * gib
)

// ComputeMemoryBudget applies tor's rule for MaxMemInQueues: the configured
// value when non-zero (raised to 64 MiB on a relay, server true), else a
// share of ramBytes (MemTotal): 40 % when RAM >= 8 GiB, else 75 %, capped
// at 8 GiB and at least 256 MiB; 8 GiB when ramBytes is 0 (unknown). It
// follows a 64-bit tor; Source is "computed".
func ComputeMemoryBudget(configured, ramBytes int64, server bool) MemoryBudget {
	b := MemoryBudget{Source: "computed", ConfiguredBytes: configured}
	switch {
	case configured > 0 && server && configured < minServerBudget:
		b.Rule = fmt.Sprintf("MaxMemInQueues %s (configured), raised to tor's %s minimum for relays",
			units.Bytes(configured), units.Bytes(minServerBudget))
		b.setBytes(minServerBudget)
	case configured > 0:
		b.Rule = fmt.Sprintf("MaxMemInQueues %s (configured)", units.Bytes(configured))
		b.setBytes(configured)
	case ramBytes <= 0:
		b.Rule = fmt.Sprintf("MaxMemInQueues unset and RAM unknown: tor's fallback of %s", units.Bytes(unknownRAMBudget))
		b.setBytes(unknownRAMBudget)
	default:
		var avail int64
		if ramBytes >= veryLargeRAM {
			avail = (ramBytes / 5) * 2
			b.Rule = fmt.Sprintf("40%% of %s RAM (RAM >= 8 GiB)", units.Bytes(ramBytes))
		} else {
			avail = (ramBytes / 4) * 3
			b.Rule = fmt.Sprintf("75%% of %s RAM (RAM < 8 GiB)", units.Bytes(ramBytes))
		}
		switch {
		case avail > maxDefaultBudget:
			b.Rule += fmt.Sprintf(" = %s, capped at %s", units.Bytes(avail), units.Bytes(maxDefaultBudget))
			avail = maxDefaultBudget
		case avail < minDefaultBudget:
			b.Rule += fmt.Sprintf(" = %s, raised to the %s minimum", units.Bytes(avail), units.Bytes(minDefaultBudget))
			avail = minDefaultBudget
		}
		b.setBytes(avail)
	}
	return b
}

// setBytes sets the budget and the thresholds that derive from it.
func (b *MemoryBudget) setBytes(n int64) {
	b.Bytes = n
	b.LowThresholdBytes = (n / 4) * 3
	b.OOMThresholdBytes = n
}
