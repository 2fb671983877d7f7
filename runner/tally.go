package runner

import "github.com/relaybench/relaybench/runner/rundir"

// StepLatencies sets the latency percentiles of s (connect, TTFB and TTLB
// p50 and p95) from recs, the step's records, by the rules the runner
// applies as it writes them, with s.WarmupEnd as the end of the warm-up. `relaybench merge` uses it on the workers'
// records of a step put together: percentiles do not add up, they are
// taken again from the raw samples.
func StepLatencies(s *rundir.StepSummary, recs []rundir.Record) {
	st := step{warmEnd: s.WarmupEnd}
	for i := range recs {
		st.observe(&recs[i], 0)
	}
	t := st.summary()
	s.ConnectP50, s.ConnectP95 = t.ConnectP50, t.ConnectP95
	s.TTFBP50, s.TTFBP95 = t.TTFBP50, t.TTFBP95
	s.TTLBP50, s.TTLBP95 = t.TTLBP50, t.TTLBP95
}
