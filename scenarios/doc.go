// Package scenarios owns relaybench scenario files: their schema, decoding,
// defaults and validation.
//
// A scenario file is YAML describing one benchmark: which relay is under
// test (Target), how load is generated (Workload, Payload, Clients), how the
// offered load grows (Ramp), what is sampled (Sampling), hard safety caps
// (Limits), CI gates (Thresholds), how overload onset is detected (Onset)
// and, optionally, A/B tuning variants (Variants).
//
// Decoding is strict, in the style of Prometheus blackbox_exporter's config
// package: unknown or duplicated fields are errors, defaults are filled in,
// then every rule is checked. Every problem is reported as an *Error naming
// the file, the line, the dotted field path and what to do about it, e.g.
//
//	scenario local.yaml:7: workload.read_rate: "64KB/x" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)
//
// Only the first problem (in file order) is reported.
//
// The resolved scenario (all defaults filled in) can be written back with
// (*Scenario).Marshal, typically into the run directory, and parses back to
// an identical value.
//
// The example scenarios that ship with relaybench live next to this file and
// are embedded: see Builtin, Default, Names and Source. They double as
// operator documentation, so keep their comments accurate.
package scenarios
