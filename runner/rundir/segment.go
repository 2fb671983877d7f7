package rundir

import "time"

// SegmentInfo is run.json's "segment": the run is worker Index of Count,
// each running its share of every step (`relaybench run --segment i/N`),
// and `relaybench merge` makes one run of them. Its steps.jsonl and
// requests.jsonl carry the worker's share as each step's load.
type SegmentInfo struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// TotalLoads is each step's load over all the workers: the scenario's
	// ramp.
	TotalLoads []int `json:"total_loads"`
	// StartAt is the wall-clock time the workers' first step was
	// scheduled for (--start-at), zero when none was given.
	StartAt time.Time `json:"start_at,omitzero"`
	// StartBound is how far a step's start may be from its schedule
	// before the worker warns (run.json warnings).
	StartBound time.Duration `json:"start_bound_ns,omitempty"`
	// ScrapesRelay is true for the worker that scraped the relay's
	// MetricsPort (and the scenario's sampling.metrics_urls) and wrote
	// env.json: segment 0, or one run with --scrape-relay.
	ScrapesRelay bool `json:"scrapes_relay"`
	// Endpoints is how many SOCKS endpoints the worker loaded through:
	// a merged run renumbers requests.jsonl's endpoint by it.
	Endpoints int `json:"endpoints"`
	// Host is the worker's host name.
	Host string `json:"host,omitempty"`
}

// MergeInfo is run.json's "merged": the run directory was made by
// `relaybench merge` from the run directories of Count workers.
type MergeInfo struct {
	Count int `json:"count"`
	// Workers lists the inputs in segment order.
	Workers []MergedWorker `json:"workers"`
	// Alignment says how the workers' per-second bytes were put on one
	// time axis (see package merge).
	Alignment string `json:"alignment"`
	// MaxStartSpread is the largest spread of the workers' starts of one
	// step, as their clocks recorded them.
	MaxStartSpread time.Duration `json:"max_start_spread_ns"`
}

// MergedWorker is one input of a merged run.
type MergedWorker struct {
	// Segment is the worker's SegmentInfo as its run.json had it.
	Segment SegmentInfo `json:"segment"`
	// Dir is the input run directory as given to merge.
	Dir string `json:"dir"`
	// Prefix starts the names of this worker's processes, client
	// MetricsPorts and circuit clients in the merged files ("w1/").
	Prefix string `json:"prefix"`
}
