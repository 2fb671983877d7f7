// Package session runs a scenario end to end and reads runs back: it is
// the library behind `relaybench run`, `analyze`, `compare` and
// `testnet smoke`. It sits above runner, chutney, measure and reports and
// below cmd/relaybench, which keeps only flags, output and exit codes.
//
// Run creates the run directory (package rundir), brings up the target (an
// embedded network, tor clients for a real relay, or nothing for given
// SocksPorts), captures env.json, starts the MetricsPort and process
// samplers and the circuit log, watches for dying tor processes, drives
// the ramp once per repetition, writes steps.jsonl as each step ends, and
// analyses what reached the disk when everything stopped. A scenario with
// variants runs them interleaved, each repetition between the variant's
// setup and teardown commands, and ends with their ranking.
//
// With Options.Segment a run is one worker's share of the load (see
// segment.go); package merge makes one run of the workers' directories.
//
// Errors writing raw records are never dropped: the first one stops the
// run with a message naming the file.
package session
