// Package runner owns relaybench's load engine: it drives HTTP downloads
// through tor SocksPorts (Endpoints), step by step along a scenario's ramp,
// and records one rundir.Record per request as a JSON line the moment the
// request ends.
//
// The engine is built on vegeta's Attacker (github.com/tsenart/vegeta/v12)
// with an http.Client of its own: a RoundTripper that picks a live SOCKS
// endpoint round-robin, dials it with fresh random SOCKS credentials (tor's
// IsolateSOCKSAuth then gives the stream a circuit of its own), times the
// SOCKS connect, first and last byte, and hands back a body that verifies
// the payload as it streams, throttles slow readers and classifies how the
// request ended (see ClassifyError).
//
// Workloads:
//
//   - bulk: closed loop. For each step, N workers download the payload back
//     to back for the step's duration.
//   - slow-readers: as bulk, but every stream reads at most ReadRate.
//   - churn: open loop at R requests per second (vegeta's ConstantPacer);
//     each record's Intended time is the pacer's schedule, so coordinated
//     omission shows as Start - Intended. Hits due in the step that the
//     load generator never sent (all workers busy) are recorded as failed
//     with the class "unsent" when the step ends, and the step summary
//     says how many were offered and sent.
//
// Requests still running when their step ends are cut; their records have
// the class "step-end", which is not a failure. A request is failed, by
// contrast, when it gets no response byte within workload.timeout of its
// start ("timeout") or when its stream receives no byte for
// workload.stall_timeout ("stall"): the engine ends such a stream itself,
// so a stuck stream counts as failed within the step instead of being cut
// at its end. A step's summary counts each request in the window where it
// ended: one that started in the warm-up and failed after it is a failure
// of the measured window. Between steps nothing
// carries over: every step gets new transports, so no connection (and with
// it no circuit) is reused across steps.
//
// The package keeps only a small per-step Summary; the full statistics are
// computed later from the records (see package rundir).
package runner
