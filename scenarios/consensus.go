package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// ParamRange is the range tor accepts for one consensus parameter and the
// value it uses when the consensus does not set it.
type ParamRange struct {
	Min, Max, Default int64
	// Why explains a minimum stricter than tor's own.
	Why string
}

// ConsensusParamRanges are the consensus parameters of tor 0.4.9's DoS
// defences (src/core/or/dos.c, dos.h), which relaybench's embedded network
// votes (chutney.LiveConsensusParams), with the range tor clamps each to.
// Other parameters may be voted too; tor reads every one as a 32-bit
// integer.
var ConsensusParamRanges = map[string]ParamRange{
	// Circuit creation: an address with at least MinConnections open
	// connections whose CREATE cells exceed Rate per second after a
	// Burst is marked for DefenseTimePeriod plus up to half of it, and
	// its CREATE cells are refused (DefenseType 2) meanwhile.
	"DoSCircuitCreationEnabled":        {Min: 0, Max: 1, Default: 0},
	"DoSCircuitCreationMinConnections": {Min: 1, Max: math.MaxInt32, Default: 3},
	"DoSCircuitCreationRate":           {Min: 1, Max: math.MaxInt32, Default: 3},
	"DoSCircuitCreationBurst":          {Min: 1, Max: math.MaxInt32, Default: 90},
	"DoSCircuitCreationDefenseType":    {Min: 1, Max: 2, Default: 2},
	// tor takes 0 and up, but marks an address for the period plus
	// crypto_rand_int_range(1, period/2), which asserts 1 < period/2: a
	// period below 4 would crash the relay at the first address it marks.
	"DoSCircuitCreationDefenseTimePeriod": {Min: 4, Max: math.MaxInt32, Default: 3600,
		Why: "below 4 the relay's tor would crash when it marks an address"},
	// Connections: more than MaxConcurrentCount open connections from one
	// address, or new ones faster than ConnectRate per second after a
	// ConnectBurst (the address is then refused for
	// ConnectDefenseTimePeriod plus up to half of it), are closed
	// (DefenseType 2).
	"DoSConnectionEnabled":                  {Min: 0, Max: 1, Default: 0},
	"DoSConnectionMaxConcurrentCount":       {Min: 1, Max: math.MaxInt32, Default: 100},
	"DoSConnectionDefenseType":              {Min: 1, Max: 2, Default: 2},
	"DoSConnectionConnectRate":              {Min: 1, Max: math.MaxInt32, Default: 20},
	"DoSConnectionConnectBurst":             {Min: 1, Max: math.MaxInt32, Default: 40},
	"DoSConnectionConnectDefenseTimePeriod": {Min: 10, Max: math.MaxInt32, Default: 86400},
	// Rendezvous points refuse ESTABLISH_RENDEZVOUS from one-hop clients.
	"DoSRefuseSingleHopClientRendezvous": {Min: 0, Max: 1, Default: 0},
	// Exits limit BEGIN and RESOLVE cells per circuit (tor 0.4.9).
	"DoSStreamCreationEnabled":     {Min: 0, Max: 1, Default: 0},
	"DoSStreamCreationRate":        {Min: 1, Max: math.MaxInt32, Default: 100},
	"DoSStreamCreationBurst":       {Min: 1, Max: math.MaxInt32, Default: 300},
	"DoSStreamCreationDefenseType": {Min: 1, Max: 3, Default: 2},
	// How often an address may fill a circuit's outbound cell queue
	// before it is marked as by the circuit creation defence; 0 is never.
	"dos_num_circ_max_outq": {Min: 0, Max: math.MaxInt32, Default: 3},
}

// consensusParamRE is what tor's directory format allows as a parameter
// name (dir-spec: a Keyword, with '_' as tor's own names use it).
var consensusParamRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckConsensusParam says what is wrong with voting value for the
// consensus parameter name, or nil: the name must be a keyword, a known
// parameter's value within tor's range, any other a 32-bit integer. A
// known parameter in other letter case is refused, since tor matches names
// exactly and would ignore it.
func CheckConsensusParam(name string, value int64) error {
	if !consensusParamRE.MatchString(name) {
		return fmt.Errorf("%s is not a consensus parameter name: use letters, digits, '_' and '-', e.g. DoSCircuitCreationRate", quote(name))
	}
	r, known := ConsensusParamRanges[name]
	if !known {
		for k := range ConsensusParamRanges {
			if strings.EqualFold(k, name) {
				return fmt.Errorf("%s is not a consensus parameter; tor matches names exactly: did you mean %s?", quote(name), k)
			}
		}
		r = ParamRange{Min: math.MinInt32, Max: math.MaxInt32}
	}
	if value < r.Min || value > r.Max {
		if !known {
			return fmt.Errorf("%d is out of range: consensus parameters are 32-bit integers (%d to %d)", value, r.Min, r.Max)
		}
		why := ""
		if r.Why != "" {
			why = "; " + r.Why
		}
		return fmt.Errorf("%d is out of range: use %d to %d (tor's default %d%s)", value, r.Min, r.Max, r.Default, why)
	}
	return nil
}

// checkConsensusParams checks every parameter of params, in name order.
func checkConsensusParams(c *checker, path string, params map[string]int) *Error {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := CheckConsensusParam(name, int64(params[name])); err != nil {
			return c.errf(path+"."+name, "%v", err)
		}
	}
	return nil
}
