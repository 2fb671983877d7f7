// Package payload owns the bytes that relaybench pushes through Tor: the
// deterministic content itself ([Content]), the built-in HTTP server that
// serves and accepts it ([Server]), and the client-side checks that prove
// what came out of a circuit is what went in ([Verifier], [Verify],
// [CheckLength]).
//
// The flow in a load run is:
//
//	Listen("127.0.0.1:0")            -> *Server, the exit connects to it
//	client GET Server.BytesURL(size) -> body through a tor circuit
//	Verify(body, seed, size)         -> nil, *MismatchError or *LengthError
//
// Content is a pure function of (seed, byte offset): block i of 8 bytes is a
// keyed splitmix64 hash of i. Any range can therefore be generated or checked
// on its own, without state carried over from earlier bytes, at several GB/s,
// and neither side ever buffers a whole payload. Verification failures come
// in two classifiable kinds, so a runner can count them separately from
// transport errors:
//
//   - errors.Is(err, ErrMismatch), with *MismatchError carrying the offset of
//     the first wrong byte: the path delivered different bytes.
//   - errors.Is(err, ErrShortRead) (or ErrLongRead), with *LengthError carrying
//     the counts: the stream ended early, typically a circuit or relay failure.
//
// The server listens on loopback unless it is made public ([WithPublic]).
// Tor test networks reach it through an exit that allows 127.0.0.0/8, and
// refusing anything else keeps a benchmark from turning into a public
// bulk-data endpoint by accident. A public server (`relaybench serve`) is
// what Tor exits on the live network fetch from: it serves downloads only,
// behind a secret path token, within a byte budget and a rate cap, and logs
// every request ([Public]).
//
// Every download carries [SeedHeader], so a client recognises relaybench's
// content by the response itself, whoever started the server: [SeedOf]
// says whether a response is relaybench's and with which seed to verify it.
//
// [WithCorruption] and [WithTruncation] make the server misbehave on purpose,
// for tests that must show the mismatch and short-read paths are detected.
package payload
