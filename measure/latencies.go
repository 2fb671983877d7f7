package measure

import "github.com/relaybench/relaybench/runner/rundir"

// RequestLatencies returns rec's SOCKS connect time and its time to first
// byte on the attached stream, in seconds, 0 for what it has none of, as
// the analysis counts them (a request cut by its step's end counts with
// the time it waited). The live metrics (package promexport) use it, so
// that their histograms mean what the report's distributions mean.
func RequestLatencies(rec rundir.Record) (connect, ttfb float64) {
	l := requestLatencies(rec)
	return l.connect, l.ttfb
}
