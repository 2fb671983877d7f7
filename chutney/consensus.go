package chutney

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/scenarios"
)

// LiveConsensusParams are the consensus parameters the embedded network's
// authorities vote unless told otherwise (WithConsensusParams): tor's DoS
// defences switched on, as the live network's consensus switches them on
// (tor's own defaults leave them off), with tor 0.4.9's default for every
// threshold spelled out, so that network.json and a report say what the
// relays enforced. The live consensus may set other values at any time
// (its `params` line says which); a scenario sets them with
// target.testnet.consensus_params.
//
// What they mean for a load generator that makes one circuit per stream
// from one address (dos.c): once the address holds 3 connections to a
// relay, its CREATE cells there are counted, and after a burst of 90 at
// more than 3 a second the relay refuses them for an hour or more
// (tor_relay_dos_total{type="circuit_rejected"}, "marked_address"). More
// than 100 open connections, or new ones faster than 20 a second after 40,
// are closed ("concurrent_conn_rejected", "conn_rejected"). Bridges never
// enforce either: tor runs its DoS defences only in public_server_mode.
var LiveConsensusParams = map[string]int{
	"DoSCircuitCreationEnabled":             1,
	"DoSCircuitCreationMinConnections":      3,
	"DoSCircuitCreationRate":                3,
	"DoSCircuitCreationBurst":               90,
	"DoSCircuitCreationDefenseType":         2,
	"DoSCircuitCreationDefenseTimePeriod":   3600,
	"DoSConnectionEnabled":                  1,
	"DoSConnectionMaxConcurrentCount":       100,
	"DoSConnectionDefenseType":              2,
	"DoSConnectionConnectRate":              20,
	"DoSConnectionConnectBurst":             40,
	"DoSConnectionConnectDefenseTimePeriod": 86400,
	"DoSRefuseSingleHopClientRendezvous":    1,
}

// WithConsensusParams sets consensus parameters the authorities vote, over
// LiveConsensusParams (a parameter given here replaces its default). Start
// refuses a name or value tor would not take as meant
// (scenarios.CheckConsensusParam).
func WithConsensusParams(params map[string]int) Option {
	return func(c *config) {
		if c.consensusParams == nil {
			c.consensusParams = map[string]int{}
		}
		maps.Copy(c.consensusParams, params)
	}
}

// consensusParams merges overrides over LiveConsensusParams and checks
// the result.
func consensusParams(overrides map[string]int) (map[string]int, error) {
	params := maps.Clone(LiveConsensusParams)
	maps.Copy(params, overrides)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if err := scenarios.CheckConsensusParam(name, int64(params[name])); err != nil {
			return nil, fmt.Errorf("consensus parameter %s: %w", name, err)
		}
	}
	return params, nil
}

// consensusParamsLine is the value of the authorities' ConsensusParams
// option: name=value pairs in name order, as a consensus lists them.
func consensusParamsLine(params map[string]int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(params)) {
		parts = append(parts, name+"="+strconv.Itoa(params[name]))
	}
	return strings.Join(parts, " ")
}

// parseParamsLine parses the value of a consensus's "params" line.
func parseParamsLine(line string) (map[string]int, error) {
	params := map[string]int{}
	for kv := range strings.FieldsSeq(line) {
		name, value, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(value)
		if !ok || err != nil {
			return nil, fmt.Errorf("consensus params: %q is not name=integer", kv)
		}
		params[name] = n
	}
	return params, nil
}

// paramsOfConsensus returns the parameters of a consensus document: its
// "params" line, or none when it has no such line.
func paramsOfConsensus(doc string) (map[string]int, error) {
	for line := range strings.SplitSeq(doc, "\n") {
		if rest, ok := strings.CutPrefix(line, "params "); ok {
			return parseParamsLine(rest)
		}
		if strings.HasPrefix(line, "r ") {
			break // the header, where params is, has ended
		}
	}
	return map[string]int{}, nil
}

// ConsensusParams returns the parameters of the consensus tor holds
// (GETINFO dir/status-vote/current/consensus): what a relay enforces,
// read from the relay itself. The process must cache directory documents
// (a relay with a DirPort does).
func (p *TorProcess) ConsensusParams() (map[string]int, error) {
	doc, err := p.GetInfo("dir/status-vote/current/consensus")
	if err != nil {
		return nil, err
	}
	return paramsOfConsensus(doc)
}

// RoleTorrc returns the torrc options the target needs to act as a relay of
// that role on the live network does, before a scenario's own torrc. The
// embedded network's target is a public relay whatever role its clients
// give it, and for role bridge that matters: a bridge enforces no DoS
// defence at all, since tor runs them only in public_server_mode
// (options_act_relay_dos, dos_consensus_has_changed), whatever its torrc
// and the consensus say. Switching them off in the target's torrc, which
// wins over the consensus, stands in for that.
func RoleTorrc(role scenarios.Role) []TorrcOption {
	if role != scenarios.RoleBridge {
		return nil
	}
	return []TorrcOption{
		{Key: "DoSCircuitCreationEnabled", Value: "0"},
		{Key: "DoSConnectionEnabled", Value: "0"},
		{Key: "DoSRefuseSingleHopClientRendezvous", Value: "0"},
		{Key: "DoSStreamCreationEnabled", Value: "0"},
	}
}
