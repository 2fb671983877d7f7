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
// then every rule is checked. Every problem is an *Error value holding the
// file, line, column, dotted field path and what to do about it; it prints
// as
//
//	scenario local.yaml:7: workload.read_rate: "64KB/x" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)
//
// Decoding reports every problem it finds (an ErrorList when there are
// several); of the rules checked after decoding, only the first broken one
// in file order is reported.
//
// The file is decoded in two stages so that no input costs much: yaml.v3
// parses it into a node tree, after checks that refuse what cannot be a
// scenario (too large, not UTF-8 text, nested too deep, too many aliases);
// then the tree is decoded into a Scenario by reflection, field by field,
// following only the schema, so each problem is built from the node that
// has it rather than read back from yaml.v3's message text.
//
// The resolved scenario (all defaults filled in) can be written back with
// (*Scenario).Marshal, typically into the run directory, and parses back to
// an identical value.
//
// The example scenarios that ship with relaybench live next to this file and
// are embedded: see Builtin, Default, Names and Source. They double as
// operator documentation, so keep their comments accurate.
package scenarios
