package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// invalidCases maps each testdata/invalid-<rule>.yaml to the exact error it
// must produce, minus the "scenario testdata/invalid-<rule>.yaml" prefix.
var invalidCases = []struct {
	rule string
	want string
}{
	{"alias-expansion", ":12: variants[5]: aliases expand to more than 10000 values; write the values out instead of nesting aliases"},
	{"allow-remote-not-bool", ":6: target.socks.allow_remote: expected true or false, got \"yes please\""},
	{"bridge-line", ":6: target.relay.bridge_line: \"203.0.113.5 0123456789ABCDEF0123456789ABCDEF01234567\" is not a bridge line: use \"ADDR:PORT FINGERPRINT\", e.g. \"203.0.113.5:443 0123456789ABCDEF0123456789ABCDEF01234567\""},
	{"bridge-line-missing", ":5: target.relay.bridge_line: not set (role bridge needs the bridge's \"ADDR:PORT FINGERPRINT\")"},
	{"bridge-line-transport", ":6: target.relay.bridge_line: pluggable-transport bridge lines (\"obfs4\" ...) are not supported; use the bridge's plain ORPort line \"ADDR:PORT FINGERPRINT\""},
	{"byte-size", ":10: payload.size: \"10 MiBs\" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)"},
	{"byte-size-too-large", ":10: limits.max_bytes: \"99999999999 TiB\" is too large for a byte size"},
	{"circuit-burst-negative", ":11: limits.circuit_burst: -5 is negative: use the number of new circuits that may open at once, e.g. 60"},
	{"circuit-burst-too-large", ":11: limits.circuit_burst: 200000 is too large: use at most 100000 (the most streams a step holds: a larger burst never paces a step); for no cap set limits.circuit_rate to 0"},
	{"circuit-burst-without-rate", ":10: limits.circuit_burst: only used with limits.circuit_rate, which is 0 (no cap): set a rate, or remove the burst"},
	{"circuit-burst-zero", ":11: limits.circuit_burst: 0 would never let a circuit open under limits.circuit_rate 2: use at least 1, or remove it for the default (60 here)"},
	{"circuit-rate", ":10: limits.circuit_rate: -1 is not a rate of new circuits: use new circuits per second, e.g. 2, or 0 for no cap"},
	{"circuit-rate-too-high", ":10: limits.circuit_rate: 20000 circuits/s could never hold a request back: use at most 10000 (the runner starts at most 10000 requests a second), or 0 for no cap"},
	{"clients-socks", ":10: clients: must be 0 or absent with target.kind socks (relaybench starts no tor clients; it uses target.socks.addresses)"},
	{"clients-too-few", ":9: clients: 0 is too few: use at least 1 tor client (default 2)"},
	{"clients-too-many", ":9: clients: 100000 is too many: use at most 128 tor clients (each is a tor process; tor relays cells on one thread, so more clients than cores do not add load)"},
	{"connect-factor", ":10: onset.connect_factor: 1 is out of range: use a factor above 1 (2.0 = p95 SOCKS connect time doubled compared with the first step)"},
	{"consensus-param-case", ":7: target.testnet.consensus_params.doscircuitcreationenabled: \"doscircuitcreationenabled\" is not a consensus parameter; tor matches names exactly: did you mean DoSCircuitCreationEnabled?"},
	{"consensus-param-int32", ":7: target.testnet.consensus_params.cbttestfreq: 4294967296 is out of range: consensus parameters are 32-bit integers (-2147483648 to 2147483647)"},
	{"consensus-param-name", ":8: target.testnet.consensus_params.DoS Circuit: \"DoS Circuit\" is not a consensus parameter name: use letters, digits, '_' and '-', e.g. DoSCircuitCreationRate"},
	{"consensus-param-range", ":7: target.testnet.consensus_params.DoSCircuitCreationDefenseTimePeriod: 2 is out of range: use 4 to 2147483647 (tor's default 3600; below 4 the relay's tor would crash when it marks an address)"},
	{"control-character", ":4: a control character (U+0000): a scenario is a UTF-8 YAML text file: is this the right file? (write control characters in double quotes as escapes, e.g. \"\\t\")"},
	{"control-cookie-without-port", ":7: target.relay.control_cookie: only used with target.relay.control_port; set that too, or remove it"},
	{"control-port", ":7: target.relay.control_port: \"127.0.0.1\" is not a HOST:PORT address (use e.g. 127.0.0.1:9051)"},
	{"control-port-not-loopback", ":7: target.relay.control_port: \"203.0.113.5:9051\" is not a loopback address: the control protocol is not encrypted, so reach a remote relay's ControlPort through an SSH tunnel (ssh -N -L 9051:127.0.0.1:9051 RELAYHOST) and give 127.0.0.1:9051"},
	{"description-control-character", ":2: description: holds a control character (U+001B); reports print the description as is, so write plain text"},
	{"description-too-long", ":2: description: 1001 characters is too long: use at most 1000 (it is a line in report headers)"},
	{"duplicate-field", ":9: name: set twice (first on line 1); keep only one"},
	{"duration", ":7: workload.timeout: \"60\" is not a duration (use e.g. 500ms, 30s, 1m30s)"},
	{"empty", ": the file is empty; start from a built-in scenario (ci-gate, compare-bandwidthrate, compare-maxmem, compare-nofile, local, local-churn, local-entry, local-unconfined, relay-bridge.example, socks.example) in relaybench's scenarios/ directory"},
	{"exit-nodes", ":7: target.relay.exit_nodes[1]: \"$89ABCDEF0123456789ABCDEF0123456789ABCDEF\" is not a relay fingerprint: use the 40 hex digits (as Relay Search shows them), without spaces or '$'"},
	{"exit-nodes-target", ":7: target.relay.exit_nodes[0]: \"0123456789abcdef0123456789abcdef01234567\" is the relay under test: tor never puts a relay twice in a circuit, so every circuit would fail; list other relays"},
	{"fingerprint", ":6: target.relay.fingerprint: \"$0123456789ABCDEF0123456789ABCDEF01234567\" is not a relay fingerprint: use the 40 hex digits from the relay's DataDirectory/fingerprint file, without spaces or '$'"},
	{"fingerprint-missing", ":5: target.relay.fingerprint: not set (role middle needs the relay's 40 hex digit fingerprint)"},
	{"interval-longer-than-step", ":12: sampling.interval: 15s is longer than ramp.step_duration (10s), so steps would get no samples; lower it"},
	{"interval-range", ":10: sampling.interval: 50ms is out of range: use 100ms to 1m"},
	{"isolation", ":7: workload.isolation: \"circuit\" is not an isolation mode (use stream or worker)"},
	{"key-not-scalar", ":9: a field name must be a plain word, not a list"},
	{"latency-factor", ":10: onset.latency_factor: +Inf is out of range: use a factor above 1 (2.0 = p95 time to first byte doubled compared with the first step)"},
	{"latency-factor-too-large", ":10: onset.latency_factor: 1e+06 is out of range: use at most 1000 (beyond, requests time out before the rule could trip)"},
	{"max-bytes-too-large", ":10: limits.max_bytes: 2048TiB is too large: use at most 1024TiB (a day at 100 Gbit/s is about 1 PB)"},
	{"max-bytes-zero", ":10: limits.max_bytes: must be more than 0 bytes"},
	{"max-duration-too-long", ":10: limits.max_duration: 48h is too long: use at most 24h (raw records are written to disk, one line per request)"},
	{"max-duration-too-short", ":12: limits.max_duration: 5m is shorter than the planned ramp time of 6m (2 steps × 1m × 3 runs); raise it or shorten the ramp"},
	{"max-duration-zero", ":10: limits.max_duration: must be more than 0s"},
	{"max-error-rate", ":10: thresholds.max_error_rate: 1.5 is not a fraction between 0 and 1 (0.01 = 1% of requests)"},
	{"max-p95-ttfb-not-below-timeout", ":11: thresholds.max_p95_ttfb: 30s could never fail: a request without a first byte by workload.timeout (30s) fails instead; use a shorter gate"},
	{"max-p95-ttfb-zero", ":10: thresholds.max_p95_ttfb: must be more than 0s; remove it for no latency gate"},
	{"merge-not-mapping", ":10: limits.<<: expected a mapping or a list of mappings to merge, got \"5\""},
	{"metrics-url", ":7: target.relay.metrics_url: \"127.0.0.1:9035\" is not an http(s) URL (use e.g. http://127.0.0.1:9035/metrics)"},
	{"metrics-urls-too-many", ":10: sampling.metrics_urls: 129 URLs is too many: use at most 128 (each is scraped every sampling interval)"},
	{"middle-nodes-duplicate", ":7: target.relay.middle_nodes[1]: \"89abcdef0123456789abcdef0123456789abcdef\" is already listed as target.relay.middle_nodes[0]; remove one"},
	{"middle-nodes-role-middle", ":7: target.relay.middle_nodes: not used with role middle (the relay under test is the middle hop); remove it, or use exit_nodes"},
	{"min-capacity-unreachable", ":10: thresholds.min_capacity: 100GiB/s could never be reached: use at most 16GiB/s (more than a load machine's network or a tor process carries)"},
	{"min-capacity-zero", ":10: thresholds.min_capacity: must be more than 0B/s; remove it for no capacity gate"},
	{"min-circuit-success", ":10: thresholds.min_circuit_success: 70 is not a fraction between 0 and 1 (0.7 = 70% of the circuits attempted were built)"},
	{"min-circuit-success-socks", ":11: thresholds.min_circuit_success: needs relaybench's own tor clients to see circuits being built; a socks target has none: remove it, or use a testnet or relay target"},
	{"multiple-documents", ":10: more than one YAML document: a scenario file holds exactly one; remove the '---' separator and what follows, or split the file"},
	{"name-format", ":1: name: \"Local Run\" is not a valid name: use lowercase letters, digits and '-', starting with a letter or digit (it becomes part of run directory names)"},
	{"name-missing", ": name: not set (use lowercase letters, digits and '-', e.g. local-bulk)"},
	{"name-not-string", ":1: name: expected a string, got a list"},
	{"name-too-long", ":1: name: 65 characters is too long: use at most 64 (it becomes part of run directory names)"},
	{"negative-duration", ":9: ramp.warmup: \"-1s\" is negative: durations must be 0s or more"},
	{"nesting-too-deep", ":9: description: nested more than 16 levels deep; no scenario field is nested that deep, so check the indentation and the brackets"},
	{"no-overload-before-step", ":10: thresholds.no_overload_before_step: 3 is not a step: ramp.steps has 2, numbered from 1; use 1 to 2"},
	{"nofile-below-connlimit", ":6: target.testnet.nofile: 512 is below tor's ConnLimit (1000): tor refuses to start with fewer open files than ConnLimit; raise nofile or lower ConnLimit in torrc"},
	{"nofile-negative", ":6: target.testnet.nofile: -1 is negative; use a positive open-files limit, or remove it to keep relaybench's own"},
	{"nofile-too-large", ":6: target.testnet.nofile: 99999999999 is too large: use at most 1048576 (Linux's default fs.nr_open, the most an open-files limit can be raised to; tor would not start)"},
	{"not-mapping", ":1: the top level must be a mapping of fields (name:, target:, workload:, ...), not a list"},
	{"not-scalar", ":10: payload.size: expected a byte size like 10MiB, got a list"},
	{"not-utf8", ":2: not UTF-8 text (byte 0xE9); a scenario is a UTF-8 YAML file: is this the right file?"},
	{"only-comments", ": the file has no fields, only comments; start from a built-in scenario (ci-gate, compare-bandwidthrate, compare-maxmem, compare-nofile, local, local-churn, local-entry, local-unconfined, relay-bridge.example, socks.example) in relaybench's scenarios/ directory"},
	{"onset-abort-no-metrics", ":15: onset.abort: needs the relay's MetricsPort to watch for its overload signals: set target.relay.metrics_url, or remove onset.abort"},
	{"onset-abort-socks-no-metrics", ":11: onset.abort: needs the relay's MetricsPort to watch for its overload signals: set target.socks.metrics_urls, or remove onset.abort"},
	{"onset-error-rate", ":10: onset.error_rate: NaN is not a fraction between 0 and 1 (0.01 = 1% of requests failed)"},
	{"payload-size-over-max-bytes", ":10: payload.size: 512MiB is more than limits.max_bytes (256MiB), so not even one request could finish; lower the size or raise the limit"},
	{"payload-size-too-large", ":10: payload.size: 2GiB is too large: use at most 1GiB per request (the built-in payload server's limit; a request must end within a step to be measured)"},
	{"payload-url", ":8: payload.url: \"ftp://example.org/10MiB.bin\" is not an http(s) URL (use e.g. https://example.org/10MiB.bin)"},
	{"payload-url-missing", ": payload.url: not set (target.kind relay needs the http(s) URL of a large file reachable through Tor exits)"},
	{"payload-url-not-loopback", ":10: payload.url: \"https://example.org/10MiB.bin\" is not a loopback URL: with target.kind testnet the payload must come from this machine (127.0.0.1, ::1 or localhost); leave url empty for the built-in payload server"},
	{"payload-url-private", ":8: payload.url: \"192.168.1.10\" is a local or private address, which Tor exits refuse to connect to; use a public URL"},
	{"placeholder", ":6: target.relay.bridge_line: still the example's FILL-IN placeholder: replace it with your bridge's \"ADDR:PORT FINGERPRINT\" (its ORPort address and the fingerprint from its DataDirectory/fingerprint file)"},
	{"rate", ":7: workload.read_rate: \"64KB/x\" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)"},
	{"read-rate-forbidden", ":7: workload.read_rate: only used with workload.kind slow-readers; remove it"},
	{"read-rate-missing", ":5: workload.read_rate: not set (slow-readers needs a per-stream read cap, e.g. 64KiB/s)"},
	{"read-rate-too-fast", ":7: workload.read_rate: 2GiB/s is too fast for a slow reader: use at most 1GiB/s (no Tor stream is that fast)"},
	{"relay-bridge-line-with-entry", ":6: target.relay.bridge_line: only used with role bridge; remove it and set fingerprint"},
	{"relay-fingerprint-with-bridge", ":7: target.relay.fingerprint: not used with role bridge (the fingerprint is part of bridge_line); remove it"},
	{"relay-max-duration-default", ": limits.max_duration: 10m (the default for relay targets, which load other volunteers' relays) is shorter than the planned ramp time of 12m (6 steps × 2m); raise it or shorten the ramp"},
	{"repetitions", ":9: repetitions: 0 is too few: run the ramp at least once (default 1)"},
	{"repetitions-too-many", ":9: repetitions: 101 is too many: use at most 100 (statistics need 5 to 20; each repetition starts its own tor processes)"},
	{"role", ":4: target.role: \"exit\" is not a role (use bridge, entry or middle)"},
	{"role-missing", ":2: target.role: not set (use bridge, entry or middle: how relaybench's tor clients use the relay under test)"},
	{"role-socks", ":6: target.role: not used with target.kind socks (the tor behind the SOCKS port picks its own paths); remove it"},
	{"sampling-metrics-url-not-loopback", ":10: sampling.metrics_urls[1]: \"http://10.1.2.3:9035/metrics\" is not a loopback URL (127.0.0.1, ::1 or localhost): with target.kind testnet everything runs on this machine"},
	{"sampling-metrics-url-socks-not-loopback", ":11: sampling.metrics_urls[1]: \"http://metrics.example.org/metrics\" is not a loopback URL (127.0.0.1, ::1 or localhost): relaybench scrapes only this machine unless target.socks.allow_remote is true"},
	{"saturation-gain", ":10: onset.saturation_gain: 0 is out of range: use a fraction above 0 and below 1 (0.10 = goodput grew less than 10% while offered load doubled)"},
	{"socket-fraction", ":10: onset.socket_fraction: 1.1 is out of range: use a fraction above 0 and at most 1 (0.90 = 90% of the relay's socket limit in use)"},
	{"socks-address", ":5: target.socks.addresses[1]: \"localhost\" is not a HOST:PORT address (use e.g. 127.0.0.1:9050)"},
	{"socks-address-duplicate", ":8: target.socks.addresses[2]: 127.0.0.1:9050 is already listed as target.socks.addresses[0]; remove one"},
	{"socks-address-not-loopback", ":5: target.socks.addresses[1]: \"192.0.2.10:9050\" is not a loopback address: relaybench sends load only to this machine (127.0.0.1, ::1 or localhost) unless target.socks.allow_remote is true"},
	{"socks-addresses-missing", ":4: target.socks.addresses: not set (list tor SocksPort addresses, e.g. [127.0.0.1:9050])"},
	{"socks-addresses-too-many", ":5: target.socks.addresses: 129 addresses is too many: use at most 128"},
	{"socks-metrics-url-not-loopback", ":6: target.socks.metrics_urls[0]: \"http://192.0.2.10:9035/metrics\" is not a loopback URL (127.0.0.1, ::1 or localhost): relaybench scrapes only this machine unless target.socks.allow_remote is true"},
	{"stall-timeout-longer-than-window", ":7: workload.stall_timeout: 20s is not shorter than a step's measured window (ramp.step_duration 20s − ramp.warmup 5s = 15s): a stream that stops receiving would be cut at the step's end instead of failing; lower it, or remove it for the default (5s here)"},
	{"stall-timeout-zero", ":7: workload.stall_timeout: must be more than 0s"},
	{"step-duration-too-long", ":9: ramp.step_duration: 2h is too long: use at most 1h (a level held longer is a soak test; use repetitions)"},
	{"step-duration-too-short", ":9: ramp.step_duration: 500ms is too short: use at least 1s"},
	{"step-not-number", ":8: ramp.steps[1]: expected a whole number, got a list"},
	{"steps-churn-rate", ":8: ramp.steps[1]: 2000000000 requests/s is too many: use at most 10000 (each request builds a new circuit, and a tor client builds a few hundred a second)"},
	{"steps-missing", ":7: ramp.steps: not set (list increasing load levels, e.g. [1, 2, 4, 8])"},
	{"steps-not-increasing", ":11: ramp.steps[2]: 8 does not exceed the previous step (8): steps must be strictly increasing"},
	{"steps-not-positive", ":8: ramp.steps[0]: 0 is not a load level: every step must be 1 or more"},
	{"steps-too-many", ":9: ramp.steps: 1001 steps is too many: use at most 1000 (reports draw a point per step)"},
	{"steps-too-many-streams", ":8: ramp.steps[1]: 1000000000000000000 concurrent streams is too many: use at most 100000 (each stream holds sockets and ~100 KiB of memory in relaybench, and a circuit in a tor client)"},
	{"syntax", ":3: invalid YAML: did not find expected key (check indentation, and quote values containing ': ' or '#')"},
	{"tab-indentation", ":4: invalid YAML: this line is indented with a tab; YAML indents with spaces only"},
	{"target-kind", ":3: target.kind: \"tesnet\" is not a target kind (use testnet, relay or socks)"},
	{"target-kind-missing", ":2: target.kind: not set (use testnet, relay or socks)"},
	{"target-section-mismatch", ":5: target.relay: only used with target.kind relay; remove it or change target.kind"},
	{"timeout-too-long", ":7: workload.timeout: 2h is too long: use at most 1h (a request held longer is a stalled stream, which the timeout exists to count)"},
	{"testnet-cpu", ":6: target.testnet.cpu: 0.01 cores is below the minimum of 0.05: use e.g. 0.25 (a quarter of one core), or remove it to leave the relay unconfined"},
	{"testnet-exits", ":6: target.testnet.exits: 9 is out of range: use 1 to 8 (default 1)"},
	{"testnet-memory", ":6: target.testnet.memory: 16MiB is below 64MiB: tor needs tens of MiB before it relays anything; use e.g. 512MiB, or remove it for no limit"},
	{"testnet-middles", ":6: target.testnet.middles: -1 is out of range: use 1 to 8 (default 1)"},
	{"testnet-tor-missing", ":6: target.testnet.tor: \"/nonexistent/tor\" does not exist; give the path of a tor executable, e.g. /usr/bin/tor or a build's src/app/tor"},
	{"testnet-tor-not-executable", ":6: target.testnet.tor: \"/etc/passwd\" is not executable; chmod +x it or give the path of a tor executable"},
	{"testnet-tor-not-in-path", ":6: target.testnet.tor: \"no-such-tor-build\" is not a command in PATH; give the absolute path of a tor executable, e.g. /usr/bin/tor or a build's src/app/tor"},
	{"testnet-tor-relative", ":6: target.testnet.tor: \"build/src/app/tor\" is a relative path; give the absolute path of the tor executable (e.g. \"" + absTestdata("build/src/app/tor") + "\")"},
	{"timeout-zero", ":7: workload.timeout: must be more than 0s"},
	{"timeout-longer-than-window", ":7: workload.timeout: 8s is not shorter than a step's measured window (ramp.step_duration 10s − ramp.warmup 2s = 8s): a request that never gets its first byte would be cut at the step's end instead of failing; lower it, or remove it for the default (4s here)"},
	{"too-many-aliases", ":2: description: more than 100 aliases (*name) in the file; a scenario needs only a few: write the values out"},
	{"torrc-case-duplicate", ":8: target.testnet.torrc.bandwidthrate: same option as BandwidthRate (tor option names are case-insensitive); keep one"},
	{"torrc-control-character", ":7: target.testnet.torrc.ContactInfo: the value holds a control character (U+0000); tor reads its torrc as plain text"},
	{"torrc-managed", ":8: target.testnet.torrc.ORPort: set by relaybench for the test network and cannot be overridden; remove it"},
	{"torrc-multiline", ":7: target.testnet.torrc.ExitPolicy: the value spans several lines; a torrc value must be a single line"},
	{"torrc-option-name", ":7: target.testnet.torrc.Bandwidth Rate: \"Bandwidth Rate\" is not a tor option name (letters, digits and '_', e.g. BandwidthRate)"},
	{"unknown-field", ":9: ramp.step-duration: unknown field; did you mean step_duration? (valid here: steps, step_duration, warmup)"},
	{"utf16", ":1: the file is UTF-16 text: save it as UTF-8"},
	{"variant-command-control-character", ":11: variants[0].setup[0]: holds a control character (U+0007); write the command as plain text"},
	{"variant-empty-command", ":13: variants[0].setup[1]: empty command; remove it"},
	{"variant-name", ":11: variants[1].name: not set (use lowercase letters, digits and '-', e.g. local-bulk)"},
	{"variant-name-duplicate", ":11: variants[1].name: \"baseline\" is already the name of variants[0]; variant names must be unique"},
	{"variant-nofile-below-connlimit", ":13: variants[1].nofile: 2048 (from target.testnet.nofile) is below tor's ConnLimit (4096): tor refuses to start with fewer open files than ConnLimit; raise nofile or lower ConnLimit in torrc"},
	{"variant-nofile-not-testnet", ":13: variants[1].nofile: only possible with target.kind testnet (relaybench does not configure a tor it did not start); use setup and teardown commands instead"},
	{"variant-repetitions", ":11: variants[0].repetitions: -2 is too few: use at least 1, or remove it to inherit repetitions (1)"},
	{"variant-repetitions-too-many", ":11: variants[0].repetitions: 1000 is too many: use at most 100 (statistics need 5 to 20; each repetition starts its own tor processes)"},
	{"variant-tor-not-testnet", ":13: variants[1].tor: only possible with target.kind testnet (relaybench does not start the relay of a relay or socks target)"},
	{"variant-torrc-not-testnet", ":13: variants[1].torrc: only possible with target.kind testnet (relaybench does not configure a tor it did not start); use setup and teardown commands instead"},
	{"variants-too-many", ":9: variants: 65 variants is too many: use at most 64 (for a parameter sweep, run relaybench from a script)"},
	{"warmup-too-long", ":10: ramp.warmup: 20s leaves no time to measure in a 20s step (ramp.step_duration); make it shorter"},
	{"whole-number-fraction", ":9: clients: expected a whole number, got \"2.5\""},
	{"whole-number-too-large", ":9: clients: \"99999999999999999999\" is too large for a whole number"},
	{"workload-kind", ":6: workload.kind: \"slow-reader\" is not a workload kind (use bulk, churn or slow-readers)"},
	{"workload-kind-missing", ":5: workload.kind: not set (use bulk, churn or slow-readers)"},
	{"wrong-type", ":9: clients: expected a whole number, got \"two\""},
}

// absTestdata is what a relative path means from where the tests run.
func absTestdata(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func TestInvalidFiles(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.rule, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid-"+tc.rule+".yaml")
			s, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded (%+v), want error", path, s)
			}
			if s != nil {
				t.Errorf("Load(%s) returned a scenario along with the error", path)
			}
			want := "scenario " + path + tc.want
			if got := err.Error(); got != want {
				t.Errorf("wrong error\n got: %s\nwant: %s", got, want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error", err)
			}
			if e.File != path {
				t.Errorf("Error.File = %q, want %q", e.File, path)
			}
			// Errors located in the file also carry the column, except
			// yaml.v3's syntax errors, which give a line only.
			if e.Line > 0 && e.Column == 0 && !strings.HasPrefix(e.Msg, "invalid YAML: ") {
				t.Errorf("Error at line %d has no column", e.Line)
			}
		})
	}
}

// TestInvalidFilesAllListed keeps testdata and the table in sync: every
// rule has a file and every file is checked.
func TestInvalidFilesAllListed(t *testing.T) {
	var rules []string
	for _, tc := range invalidCases {
		rules = append(rules, tc.rule)
	}
	checkFilesMatchTable(t, "testdata/invalid-*.yaml", "invalid-", rules)
}

// checkFilesMatchTable checks that the files matching pattern, named
// prefix+NAME.yaml, are exactly the names of a test table, each once.
func checkFilesMatchTable(t *testing.T, pattern, prefix string, table []string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), prefix), ".yaml"))
	}
	inTable := slices.Clone(table)
	slices.Sort(onDisk)
	slices.Sort(inTable)
	if !slices.Equal(onDisk, inTable) {
		t.Errorf("%s and the table differ\n files: %v\n table: %v", pattern, onDisk, inTable)
	}
	if len(slices.Compact(slices.Clone(inTable))) != len(inTable) {
		t.Errorf("the table of %s lists a name twice", pattern)
	}
}

func TestExamples(t *testing.T) {
	want := []string{"ci-gate", "compare-bandwidthrate", "compare-maxmem", "compare-nofile", "local", "local-churn", "local-entry", "local-unconfined", "relay-bridge.example", "socks.example"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, err := Builtin(name)
			if name == "relay-bridge.example" {
				const wantErr = `scenario relay-bridge.example.yaml:35: target.relay.bridge_line: still the example's FILL-IN placeholder: replace it with your bridge's "ADDR:PORT FINGERPRINT" (its ORPort address and the fingerprint from its DataDirectory/fingerprint file)`
				if err == nil || err.Error() != wantErr {
					t.Fatalf("Builtin(%q) error = %v, want %s", name, err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Builtin(%q): %v", name, err)
			}
			// The file on disk is the embedded one.
			fromDisk, err := Load(name + ".yaml")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(s, fromDisk) {
				t.Errorf("Load and Builtin differ")
			}
			if want := strings.TrimSuffix(name, ".example"); s.Name != want && name != "socks.example" {
				t.Errorf("name: %q, want %q (keep names and file names aligned)", s.Name, want)
			}
		})
	}
}

// TestRelayExampleFilledIn checks that replacing the placeholders is all an
// operator has to do.
func TestRelayExampleFilledIn(t *testing.T) {
	src, err := Source("relay-bridge.example")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "FILL-IN ADDR:PORT FINGERPRINT", "198.51.100.7:9001 0123456789ABCDEF0123456789ABCDEF01234567", 1)
	if _, err := Parse([]byte(text), "filled.yaml"); err == nil ||
		err.Error() != `scenario filled.yaml:66: payload.url: still the example's FILL-IN placeholder: replace it with the URL of a large file you may download repeatedly through Tor` {
		t.Fatalf("after filling in bridge_line: got %v, want the payload.url placeholder error", err)
	}
	text = strings.Replace(text, "https://FILL-IN.example/10MiB.bin", "https://example.org/10MiB.bin", 1)
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "FILL-IN") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			t.Fatalf("placeholder left in the example that this test does not fill in: %s", line)
		}
	}
	s, err := Parse([]byte(text), "filled.yaml")
	if err != nil {
		t.Fatalf("filled-in example: %v", err)
	}
	if s.Target.Relay.BridgeLine != "198.51.100.7:9001 0123456789ABCDEF0123456789ABCDEF01234567" {
		t.Errorf("bridge_line = %q", s.Target.Relay.BridgeLine)
	}
	// The guardrails are on: a MetricsPort to prove and watch, onset.abort,
	// the relay target's limits.
	if s.Target.Relay.MetricsURL == "" || !s.Onset.Abort || s.Limits.MaxDuration != RelayMaxDuration || s.Limits.MaxBytes != RelayMaxBytes {
		t.Errorf("example without its guardrails: metrics_url %q, onset.abort %v, limits %+v", s.Target.Relay.MetricsURL, s.Onset.Abort, s.Limits)
	}
}

func TestDefault(t *testing.T) {
	s := Default()
	if s.Name != "local" || s.Target.Kind != TargetTestnet || s.Target.Role != RoleBridge ||
		s.Workload.Kind != WorkloadBulk || !slices.Equal(s.Ramp.Steps, []int{1, 2, 4, 8, 16, 32}) ||
		s.Ramp.StepDuration != Duration(20*time.Second) {
		t.Errorf("Default() is not the documented local scenario: %+v", s)
	}
	// About 8 minutes in all with tor bootstrap, as local.yaml says.
	if got := s.PlannedDuration(); got != 6*time.Minute {
		t.Errorf("PlannedDuration() = %v, want 6m", got)
	}
	if Default() == s {
		t.Errorf("Default() returns a shared value; callers may modify it")
	}
}

func TestDefaults(t *testing.T) {
	s, err := Load("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name:     "minimal",
		Target:   Target{Kind: TargetTestnet, Role: RoleBridge, Testnet: &TestnetTarget{Exits: 1, Middles: 1}},
		Clients:  2,
		Payload:  Payload{Size: 10 << 20},
		Workload: Workload{Kind: WorkloadBulk, Isolation: IsolationStream, Timeout: Duration(12500 * time.Millisecond), StallTimeout: Duration(5 * time.Second)}, // half the 25s window; 5s
		Ramp:     Ramp{Steps: []int{1, 2}, StepDuration: Duration(30 * time.Second), Warmup: Duration(5 * time.Second)},
		Sampling: Sampling{Interval: Duration(time.Second)},
		Limits:   Limits{MaxDuration: Duration(30 * time.Minute), MaxBytes: 20 << 30},
		Onset:    Onset{SaturationGain: 0.10, LatencyFactor: 2.0, ConnectFactor: 2.0, ErrorRate: 0.01, SocketFraction: 0.90},

		Repetitions: 1,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", s, want)
	}
}

func TestKindDependentDefaults(t *testing.T) {
	churn, err := Load("testdata/valid-relay-entry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if churn.Payload.Size != 64<<10 {
		t.Errorf("churn payload.size = %v, want 64KiB", churn.Payload.Size)
	}
	if churn.Clients != 2 {
		t.Errorf("relay clients = %d, want 2", churn.Clients)
	}
	// A relay target loads other volunteers' relays: shorter, smaller
	// default limits than a testnet's (TestDefaults), an explicit value
	// still wins.
	if churn.Limits.MaxDuration != Duration(10*time.Minute) || churn.Limits.MaxBytes != 2<<30 {
		t.Errorf("relay limits = %v, %v; want 10m, 2GiB", churn.Limits.MaxDuration, churn.Limits.MaxBytes)
	}
	if r := churn.Target.Relay; r.ControlPort != "127.0.0.1:9051" || r.ControlCookie != "/home/me/relay-cookie" ||
		len(r.ExitNodes) != 1 || len(r.MiddleNodes) != 2 || !churn.Onset.Abort {
		t.Errorf("relay proof, nodes and onset.abort not read: %+v, abort %v", r, churn.Onset.Abort)
	}
	src, err := os.ReadFile("testdata/valid-relay-entry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	longer, err := Parse(append(src, "limits: {max_duration: 1h, max_bytes: 0.5GiB}\n"...), "longer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if longer.Limits.MaxDuration != Duration(time.Hour) || longer.Limits.MaxBytes != 512<<20 {
		t.Errorf("explicit relay limits = %v, %v; want 1h, 512MiB", longer.Limits.MaxDuration, longer.Limits.MaxBytes)
	}
	socks, err := Builtin("socks.example")
	if err != nil {
		t.Fatal(err)
	}
	if socks.Clients != 0 {
		t.Errorf("socks clients = %d, want 0", socks.Clients)
	}
	if socks.Sampling.Interval != Duration(time.Second) {
		t.Errorf("socks sampling.interval = %v, want the 1s default", socks.Sampling.Interval)
	}
}

// TestExplicitValuesBeatDefaults: an explicit zero is a value, not "unset".
func TestExplicitValuesBeatDefaults(t *testing.T) {
	s, err := Load("testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Ramp.Warmup != 0 {
		t.Errorf("warmup = %v, want the explicit 0s", s.Ramp.Warmup)
	}
	if s.Thresholds.MaxErrorRate == nil || *s.Thresholds.MaxErrorRate != 0 {
		t.Errorf("max_error_rate = %v, want a gate at 0", s.Thresholds.MaxErrorRate)
	}
	if s.Thresholds.MinCircuitSuccess == nil || *s.Thresholds.MinCircuitSuccess != 0 {
		t.Errorf("min_circuit_success = %v, want a gate at 0", s.Thresholds.MinCircuitSuccess)
	}
	if s.Onset.ErrorRate != 0 {
		t.Errorf("onset.error_rate = %v, want the explicit 0", s.Onset.ErrorRate)
	}
	if got := s.Target.Testnet.Torrc["ConnLimit"]; got != "2000" {
		t.Errorf("torrc ConnLimit = %q, want \"2000\" (YAML numbers are kept as written)", got)
	}
	if s.Payload.Size != 1536<<10 || s.Workload.ReadRate != 1<<20 || s.Limits.MaxBytes != 10e9 {
		t.Errorf("units: size %d, read_rate %d, max_bytes %d", s.Payload.Size, s.Workload.ReadRate, s.Limits.MaxBytes)
	}
	if tn := s.Target.Testnet; tn.CPU != 0.5 || tn.Memory != 512<<20 || tn.Exits != 2 || tn.Middles != 3 || tn.Tor != "sh" {
		t.Errorf("testnet shape and confinement: %+v", tn)
	}
	if v := s.ForVariant(s.Variants[1]); v.Target.Testnet.Tor != "/bin/sh" || v.Target.Testnet.CPU != 0.5 {
		t.Errorf("variant's tor does not override target.testnet.tor: %+v", v.Target.Testnet)
	}
	if s.ForVariant(s.Variants[0]).Target.Testnet.Tor != "sh" {
		t.Error("a variant without tor does not inherit target.testnet.tor")
	}
	if s.Variants[0].Repetitions != 2 || s.Variants[1].Repetitions != 3 {
		t.Errorf("variant repetitions = %d, %d; want 2 (inherited), 3", s.Variants[0].Repetitions, s.Variants[1].Repetitions)
	}
	if got, want := s.PlannedDuration(), 3*45*time.Second*5; got != want {
		t.Errorf("PlannedDuration() = %v, want %v", got, want)
	}
	// A null value counts as unset.
	s, err = Parse([]byte("name: n\ntarget: {kind: testnet, role: bridge}\nclients:\nworkload: {kind: bulk, timeout: ~}\nramp: {steps: [1]}\n"), "null.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Clients != 2 || s.Workload.Timeout != Duration(12500*time.Millisecond) {
		t.Errorf("null values: clients %d, timeout %v; want defaults 2, 12.5s", s.Clients, s.Workload.Timeout)
	}
}

func TestRoundTrip(t *testing.T) {
	var scs []*Scenario
	for _, name := range []string{"local", "local-entry", "local-churn", "socks.example"} {
		s, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		scs = append(scs, s)
	}
	for _, f := range []string{"valid-full", "valid-minimal", "valid-relay-entry", "valid-empty-lists"} {
		s, err := Load("testdata/" + f + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		scs = append(scs, s)
	}
	for _, s := range scs {
		t.Run(s.Name, func(t *testing.T) {
			checkRoundTrip(t, s)
		})
	}
}

// checkRoundTrip asserts Parse(Marshal(s)) == s and that marshalling is
// stable.
func checkRoundTrip(t *testing.T, s *Scenario) {
	t.Helper()
	out, err := s.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Parse(out, "resolved.yaml")
	if err != nil {
		t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(s, back) {
		t.Fatalf("round trip changed the scenario\nbefore: %+v\nafter:  %+v\nYAML:\n%s", s, back, out)
	}
	again, err := back.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if string(again) != string(out) {
		t.Fatalf("Marshal is not stable:\n%s\n---\n%s", out, again)
	}
}

func TestMarshalSpellsOutDefaults(t *testing.T) {
	s, err := Load("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"clients: 2\n", "  size: 10MiB\n", "  steps: [1, 2]\n", "  step_duration: 30s\n",
		"  max_duration: 30m\n", "  max_bytes: 20GiB\n", "  saturation_gain: 0.1\n", "repetitions: 1\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Marshal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "thresholds") {
		t.Errorf("Marshal output has thresholds although none are set:\n%s", out)
	}
}

func TestValidateProgrammatic(t *testing.T) {
	s := Default()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate(Default()): %v", err)
	}
	s.Ramp.Steps = []int{1, 4, 2}
	if err := s.Validate(); err == nil || err.Error() != "scenario: ramp.steps[2]: 2 does not exceed the previous step (4): steps must be strictly increasing" {
		t.Errorf("Validate() = %v", err)
	}
	// Rules that no file can break, because parsing rejects the value first.
	s = Default()
	s.Payload.Size = -1
	if err := s.Validate(); err == nil || err.Error() != "scenario: payload.size: must be more than 0 bytes" {
		t.Errorf("Validate() with negative size = %v", err)
	}
	s = Default()
	s.Ramp.Warmup = -1
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "scenario: ramp.warmup: ") {
		t.Errorf("Validate() with negative warmup = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	want := "scenario testdata/no-such-file.yaml: cannot read it: no such file or directory (built-in scenarios: ci-gate, compare-bandwidthrate, compare-maxmem, compare-nofile, local, local-churn, local-entry, local-unconfined, relay-bridge.example, socks.example)"
	if err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v\nwant %s", err, want)
	}
	_, err = Builtin("nope")
	want = `scenario nope.yaml: no built-in scenario "nope" (built-ins: ci-gate, compare-bandwidthrate, compare-maxmem, compare-nofile, local, local-churn, local-entry, local-unconfined, relay-bridge.example, socks.example); to use your own file, give its path`
	if err == nil || err.Error() != want {
		t.Errorf("Builtin(nope) = %v\nwant %s", err, want)
	}
	if _, err := Builtin("local.yaml"); err != nil {
		t.Errorf("Builtin(local.yaml): %v", err)
	}
}

// TestDecodeProblemsAreAllReported: every problem found while decoding is
// reported, in file order, as values; of the rules checked afterwards only
// the first broken one is.
func TestDecodeProblemsAreAllReported(t *testing.T) {
	data := "name: t\ntarget:\n  kind: testnet\n  role: bridge\n  colour: blue\nworkload:\n  kind: bulk\n  timeout: soon\nramp:\n  steps: [1, 2]\n"
	_, err := Parse([]byte(data), "two.yaml")
	want := "scenario two.yaml:5: target.colour: unknown field (valid here: kind, role, testnet, relay, socks)\n" +
		`scenario two.yaml:8: workload.timeout: "soon" is not a duration (use e.g. 500ms, 30s, 1m30s)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("error is %T, want an ErrorList of 2", err)
	}
	wantProblems := []Error{
		{File: "two.yaml", Line: 5, Column: 3, Field: "target.colour", Msg: "unknown field (valid here: kind, role, testnet, relay, socks)"},
		{File: "two.yaml", Line: 8, Column: 12, Field: "workload.timeout", Msg: `"soon" is not a duration (use e.g. 500ms, 30s, 1m30s)`},
	}
	for i, p := range Problems(err) {
		if *p != wantProblems[i] {
			t.Errorf("problem %d = %+v, want %+v", i, *p, wantProblems[i])
		}
	}
	var first *Error
	if !errors.As(err, &first) || first != list[0] {
		t.Errorf("errors.As(*Error) = %v, want the first problem", first)
	}

	// A problem inside a flow list is attributed to its element.
	_, err = Parse([]byte("name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1, x, 3]}\n"), "flow.yaml")
	want = `scenario flow.yaml:4: ramp.steps[1]: expected a whole number, got "x"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if p := Problems(err); len(p) != 1 || p[0].Column != 19 {
		t.Errorf("Problems = %+v, want one at column 19", p)
	}

	// Broken rules: only the first, in file order.
	_, err = Parse([]byte("name: t\ntarget: {kind: testnet, role: bridge}\nclients: 0\nworkload: {kind: bulk}\nramp: {steps: [2, 1]}\n"), "rules.yaml")
	if p := Problems(err); len(p) != 1 || p[0].Field != "clients" || p[0].Line != 3 {
		t.Errorf("Problems = %v, want only clients on line 3", err)
	}

	// A flood of problems is cut short, and says so.
	data = "name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp:\n  steps: [" + strings.Repeat("x, ", 30) + "x]\n"
	_, err = Parse([]byte(data), "many.yaml")
	p := Problems(err)
	if len(p) != maxProblems+1 || p[maxProblems].Msg != "11 more problems not shown; fix the ones above first" {
		t.Errorf("got %d problems, the last %v; want %d and a count of the rest", len(p), p[len(p)-1], maxProblems+1)
	}
	if Problems(nil) != nil || Problems(errors.New("other")) != nil {
		t.Error("Problems of a non-scenario error is not nil")
	}
}

func TestTooLarge(t *testing.T) {
	data := []byte("name: t\ndescription: " + strings.Repeat("x", MaxFileSize) + "\n")
	const want = "scenario big.yaml: larger than 64KiB; scenario files are a few KiB, so check that this is the right file"
	if _, err := Parse(data, "big.yaml"); err == nil || err.Error() != want {
		t.Errorf("Parse(too large) = %v\nwant %s", err, want)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || err.Error() != "scenario "+path+want[len("scenario big.yaml"):] {
		t.Errorf("Load(too large) = %v", err)
	}
}

func TestExampleFilesOnDiskAreAllEmbedded(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.Contains(Names(), strings.TrimSuffix(f, ".yaml")) {
			t.Errorf("%s is not embedded", f)
		}
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

// TestTestnetCPUAboveTheMachine: the upper bound is this machine's CPUs.
func TestTestnetCPUAboveTheMachine(t *testing.T) {
	cpus := runtime.NumCPU()
	s, err := Parse(fmt.Appendf(nil, "name: n\ntarget: {kind: testnet, role: bridge, testnet: {cpu: %d}}\nworkload: {kind: bulk}\nramp: {steps: [1]}\n", cpus), "ok.yaml")
	if err != nil || s.Target.Testnet.CPU != float64(cpus) {
		t.Errorf("cpu: %d (all CPUs) refused: %v", cpus, err)
	}
	_, err = Parse(fmt.Appendf(nil, "name: n\ntarget: {kind: testnet, role: bridge, testnet: {cpu: %d.5}}\nworkload: {kind: bulk}\nramp: {steps: [1]}\n", cpus), "more.yaml")
	if want := fmt.Sprintf("scenario more.yaml:2: target.testnet.cpu: %d.5 cores is more than this machine's %d CPUs", cpus, cpus); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s...", err, want)
	}
}

func TestForVariant(t *testing.T) {
	sc, err := Parse([]byte(`name: ab
target:
  kind: testnet
  role: bridge
  testnet:
    torrc: {BandwidthRate: 1 MBytes, NumCPUs: "2"}
    nofile: 4096
workload: {kind: bulk}
ramp: {steps: [1, 2], step_duration: 10s}
repetitions: 3
variants:
  - name: base
  - name: fast
    torrc: {BandwidthRate: 4 MBytes}
    nofile: 8192
    repetitions: 2
`), "ab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base, fast := sc.ForVariant(sc.Variants[0]), sc.ForVariant(sc.Variants[1])
	if base.Repetitions != 3 || base.Variants != nil || base.Target.Testnet.Torrc["BandwidthRate"] != "1 MBytes" || base.Target.Testnet.Nofile != 4096 {
		t.Errorf("base variant: %+v %+v", base, base.Target.Testnet)
	}
	if fast.Repetitions != 2 || fast.Target.Testnet.Torrc["BandwidthRate"] != "4 MBytes" || fast.Target.Testnet.Torrc["NumCPUs"] != "2" || fast.Target.Testnet.Nofile != 8192 {
		t.Errorf("fast variant: %+v %+v", fast, fast.Target.Testnet)
	}
	if sc.Target.Testnet.Torrc["BandwidthRate"] != "1 MBytes" {
		t.Error("ForVariant changed the scenario it was called on")
	}
	// Each variant is a scenario of its own: it survives a round trip.
	b, err := fast.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b, "fast.yaml"); err != nil {
		t.Errorf("the variant's scenario does not validate: %v\n%s", err, b)
	}
}

// TestLoadRunKeepsAScenarioThatBreaksARule: a run directory's scenario is
// analysed as it ran, even when it breaks a rule (rules change between
// versions); a file that does not decode is still an error.
func TestLoadRunKeepsAScenarioThatBreaksARule(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenario.yaml")
	os.WriteFile(path, []byte("name: old\ntarget: {kind: relay, role: bridge, relay: {bridge_line: \"127.0.0.1:1 0123456789ABCDEF0123456789ABCDEF01234567\"}}\nworkload: {kind: bulk}\nramp: {steps: [1], step_duration: 10s}\n"), 0o644)
	sc, invalid, err := LoadRun(path)
	if err != nil || sc == nil || sc.Name != "old" || sc.Ramp.Steps[0] != 1 {
		t.Fatalf("LoadRun = %+v, %v", sc, err)
	}
	if invalid == nil || !strings.Contains(invalid.Error(), "payload.url") {
		t.Errorf("invalid = %v, want the payload.url rule", invalid)
	}
	if _, err := Load(path); err == nil {
		t.Error("Load accepted a scenario that breaks a rule")
	}
	os.WriteFile(path, []byte("name: [oops\n"), 0o644)
	if _, _, err := LoadRun(path); err == nil {
		t.Error("LoadRun accepted broken YAML")
	}
}

// TestSocksAllowRemote: a socks target stays on this machine unless
// allow_remote says otherwise, and no disguise of a remote address passes
// for loopback.
func TestSocksAllowRemote(t *testing.T) {
	scenario := func(addr, metricsURL, allowRemote string) string {
		return "name: t\ntarget:\n  kind: socks\n  socks:\n    addresses: [\"" + addr + "\"]\n    metrics_urls: [\"" + metricsURL + "\"]\n" +
			allowRemote + "workload: {kind: bulk}\nramp: {steps: [1]}\n"
	}
	for _, addr := range []string{"127.0.0.1:9050", "127.3.2.1:9050", "[::1]:9050", "localhost:9050", "LOCALHOST:9050", "[::ffff:127.0.0.1]:9050"} {
		if _, err := Parse([]byte(scenario(addr, "http://127.0.0.1:9035/metrics", "")), "loop.yaml"); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"192.0.2.1:9050", "127.1:9050", "2130706433:9050", "0x7f.0.0.1:9050", "0.0.0.0:9050", "[::]:9050",
		"localhost.example.org:9050", "127.0.0.1.nip.io:9050", "[fe80::1%lo]:9050", "10.0.0.1:9050"} {
		_, err := Parse([]byte(scenario(addr, "http://127.0.0.1:9035/metrics", "")), "remote.yaml")
		if p := Problems(err); len(p) != 1 || p[0].Field != "target.socks.addresses[0]" || !strings.Contains(p[0].Msg, "allow_remote") {
			t.Errorf("%s: got %v, want it refused as not loopback", addr, err)
		}
	}
	_, err := Parse([]byte(scenario("127.0.0.1:9050", "http://192.0.2.1:9035/metrics", "")), "m.yaml")
	if p := Problems(err); len(p) != 1 || p[0].Field != "target.socks.metrics_urls[0]" {
		t.Errorf("remote metrics URL: got %v", err)
	}
	s, err := Parse([]byte(scenario("192.0.2.1:9050", "http://192.0.2.1:9035/metrics", "    allow_remote: true\n")), "allowed.yaml")
	if err != nil {
		t.Fatalf("allow_remote: true: %v", err)
	}
	if !s.Target.Socks.AllowRemote {
		t.Error("AllowRemote not set")
	}
	checkRoundTrip(t, s)
	// allow_remote belongs to the socks target: a testnet's extra metrics
	// URLs stay on loopback whatever it says.
	_, err = Parse([]byte("name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1]}\nsampling: {metrics_urls: [\"http://192.0.2.1:9035/metrics\"]}\n"), "tn.yaml")
	if p := Problems(err); len(p) != 1 || p[0].Field != "sampling.metrics_urls[0]" {
		t.Errorf("testnet remote metrics URL: got %v", err)
	}
}

// TestBoundsAreInclusive: each upper bound itself is accepted, so the
// documented limits are usable. (The timeout must also be shorter than the
// measured window, at most the 1h step, and longer than max_p95_ttfb.)
func TestBoundsAreInclusive(t *testing.T) {
	churn := "name: t\ntarget: {kind: testnet, role: bridge, testnet: {nofile: 1048576}}\nclients: 128\nworkload: {kind: churn, timeout: 59m30s}\n" +
		"ramp: {steps: [1, 10000], step_duration: 1h}\nlimits: {max_duration: 24h, max_bytes: 1024TiB, circuit_rate: 10000, circuit_burst: 100000}\npayload: {size: 1GiB}\n" +
		"repetitions: 12\nthresholds: {min_capacity: 16GiB/s, max_p95_ttfb: 59m}\nonset: {latency_factor: 1000, connect_factor: 1000}\n"
	if _, err := Parse([]byte(churn), "max.yaml"); err != nil {
		t.Errorf("scenario at the bounds: %v", err)
	}
	bulk := "name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: slow-readers, read_rate: 1GiB/s}\nramp: {steps: [1, 100000]}\nrepetitions: 100\nlimits: {max_duration: 2h}\n"
	if _, err := Parse([]byte(bulk), "max.yaml"); err != nil {
		t.Errorf("scenario at the bounds: %v", err)
	}
}

// TestLoadFileOrBuiltin: a built-in name loads the built-in scenario, with
// or without ".yaml", unless a file of that name exists, which wins.
func TestLoadFileOrBuiltin(t *testing.T) {
	for _, arg := range []string{"local-churn", "local-churn.yaml"} {
		if s, err := LoadFileOrBuiltin(arg); err != nil || s.Name != "local-churn" {
			t.Errorf("%s: %v, %v", arg, s, err)
		}
	}
	dir := t.TempDir()
	t.Chdir(dir)
	src, err := Source("local")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("local-churn.yaml", src, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadFileOrBuiltin("local-churn.yaml"); err != nil || s.Name != "local" {
		t.Errorf("the file local-churn.yaml (a copy of local) did not win: %v, %v", s, err)
	}
	if _, err := LoadFileOrBuiltin("no-such-scenario.yaml"); err == nil {
		t.Error("a missing file that is no built-in loaded")
	}
}

// TestCircuitCapDefaults: relay targets get a cap below the live
// network's DoS defence, testnet and socks targets none; an explicit 0 is
// no cap, a null is unset, and the burst defaults to 30 s of the rate.
func TestCircuitCapDefaults(t *testing.T) {
	const relay = "name: t\ntarget: {kind: relay, role: entry, relay: {fingerprint: 0123456789ABCDEF0123456789ABCDEF01234567}}\npayload: {url: https://example.org/x}\nworkload: {kind: churn}\nramp: {steps: [1]}\n"
	const testnet = "name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: churn}\nramp: {steps: [1]}\n"
	socks, err := Builtin("socks.example")
	if err != nil {
		t.Fatal(err)
	}
	if l := socks.Limits; l.CircuitRate != 0 || l.CircuitBurst != 0 {
		t.Errorf("socks: circuit_rate %v, circuit_burst %d; want no cap", l.CircuitRate, l.CircuitBurst)
	}
	for _, tc := range []struct {
		name, src string
		rate      float64
		burst     int
	}{
		{"relay default", relay, 2, 60},
		{"relay null", relay + "limits: {circuit_rate: ~, circuit_burst: ~}\n", 2, 60},
		{"relay explicit no cap", relay + "limits: {circuit_rate: 0}\n", 0, 0},
		{"relay own rate", relay + "limits: {circuit_rate: 0.5}\n", 0.5, 15},
		{"relay own burst", relay + "limits: {circuit_burst: 10}\n", 2, 10},
		{"testnet default", testnet, 0, 0},
		{"testnet with a cap", testnet + "limits: {circuit_rate: 5}\n", 5, 150},
		{"tiny rate", testnet + "limits: {circuit_rate: 0.01}\n", 0.01, 1},
		{"burst capped", testnet + "limits: {circuit_rate: 10000}\n", 10000, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.src), "cap.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if s.Limits.CircuitRate != tc.rate || s.Limits.CircuitBurst != tc.burst {
				t.Errorf("circuit_rate %v, circuit_burst %d; want %v, %d", s.Limits.CircuitRate, s.Limits.CircuitBurst, tc.rate, tc.burst)
			}
			checkRoundTrip(t, s)
		})
	}
}
