// Package measure owns the analysis of a run: it reads the raw files a run
// streamed to its directory (requests, step boundaries, MetricsPort
// scrapes, process samples, circuits) and computes per-step statistics,
// the relay side of each step, the overload onset with its evidence, the
// capacity, and whether the load generator rather than the relay was the
// limit. The result, Analysis, is summary.json.
//
// Its subpackages own the samplers that produce the raw data: metricsport
// (tor's MetricsPort) and procstat (CPU and memory from /proc).
//
// Everything here works on recorded data, so `relaybench analyze RUN_DIR`
// recomputes an old run exactly, without tor.
package measure
