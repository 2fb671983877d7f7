// Package rundir owns the run directory: the names of its files, the record
// type of each raw file, the one JSON-lines codec they are written and read
// with, the one atomic write for the files that are replaced whole, and
// reading a run directory back.
//
// A run directory holds, per run (or per variant of a run):
//
//	scenario.yaml    the scenario as run, defaults filled in (ScenarioFile)
//	run.json         RunInfo: when, what was sampled, how it ended
//	env.json         what the run ran on (package envinfo writes it)
//	requests.jsonl   one Record per request
//	steps.jsonl      one StepSummary per step, written as the step ends
//	metrics.jsonl    one ScrapeRecord per MetricsPort scrape
//	processes.jsonl  one ProcessSample per process and sampling interval
//	circuits.jsonl   one CircuitRecord per circuit built, failed or first used
//	summary.json     the analysis, derived from the raw files
//	steps.csv, report.md, report.html, bench.txt
//	                 the reports, derived from summary.json
//
// The raw files are streamed to disk while the run goes, one record per
// Write (see Writer), so that a crash loses at most the record being
// written; their readers (ReadLines) drop that one cut-short last line and
// say so. The files replaced whole are written to a temporary name and
// renamed (WriteFileAtomic).
//
// The package imports nothing of relaybench's, so that the analysis and the
// reports read run directories without the engine that wrote them.
package rundir
