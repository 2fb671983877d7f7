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
//     omission shows as Start - Intended.
//
// Requests still running when their step ends are cut; their records have
// the class "step-end", which is not a failure. Between steps nothing
// carries over: every step gets new transports, so no connection (and with
// it no circuit) is reused across steps.
//
// The package keeps only a small per-step Summary; the full statistics are
// computed later from the records (see package rundir).
package runner
