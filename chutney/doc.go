// Package chutney owns the embedded local Tor test network: a handful of real
// tor processes (three directory authorities, an exit, a middle relay and the
// relay under test, called the target) started on 127.0.0.1 in seconds, and the
// tor clients that the harness points at the target as a bridge, an entry guard
// or a middle hop.
//
// The package is named after Tor's chutney tool, whose job it does for
// relaybench; chutney/networks/relaybench describes the same topology for the
// real chutney, for tor developers who prefer it.
//
// Lifetime rules, because a leaked tor keeps ports and CPU busy long after a
// benchmark: every process is started in its own process group with a Linux
// parent-death signal, and tor is told to exit when the control connection the
// harness holds closes (TAKEOWNERSHIP). Together these end every tor process on
// a normal stop, on Ctrl-C, on a panic and when the harness is SIGKILLed.
// A target confined to a CPU quota or memory limit runs in a cgroup of its
// own (package chutney/cgroup), removed once its process has exited; a group
// left by a SIGKILLed harness is removed by the next Start.
//
// Relays listen on 127.0.0.1, and clients refuse to open streams to anything
// but loopback addresses: the exit relay's policy must accept *:* for clients
// that use microdescriptors to see it at all (their policy summary ignores
// private addresses, as measured with tor 0.4.9.11), so the refusal is
// enforced here, before a single cell is sent.
//
// Where DoS defences matter the network is like the live one: its
// authorities vote LiveConsensusParams (tor's DoS defences on, as in the
// live consensus), and load clients reach the relays from ClientAddress, an
// address of their own, through a small egress proxy each (tor cannot bind
// its connections to loopback destinations itself), so that the relays
// count their circuits and connections apart from each other's, as they
// would count a load machine's. Payload servers listen on PayloadAddress.
package chutney
