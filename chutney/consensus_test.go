package chutney

import (
	"maps"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/scenarios"
)

func TestConsensusParamsMergeOverLiveDefaults(t *testing.T) {
	got, err := consensusParams(nil)
	if err != nil {
		t.Fatalf("the live-like defaults fail their own check: %v", err)
	}
	if !maps.Equal(got, LiveConsensusParams) {
		t.Errorf("no overrides: %v, want LiveConsensusParams", got)
	}
	// The defaults are tor's own (scenarios.ConsensusParamRanges), but for
	// the switches, which the live consensus turns on.
	for name, v := range LiveConsensusParams {
		r, known := scenarios.ConsensusParamRanges[name]
		switch {
		case !known:
			t.Errorf("%s is not a parameter scenarios checks", name)
		case strings.HasSuffix(name, "Enabled") || name == "DoSRefuseSingleHopClientRendezvous":
			if v != 1 {
				t.Errorf("%s = %d, want 1 (on, as on the live network)", name, v)
			}
		case int64(v) != r.Default:
			t.Errorf("%s = %d, want tor's default %d", name, v, r.Default)
		}
	}

	got, err = consensusParams(map[string]int{"DoSCircuitCreationRate": 2, "cbttestfreq": 10})
	if err != nil {
		t.Fatal(err)
	}
	if got["DoSCircuitCreationRate"] != 2 || got["cbttestfreq"] != 10 || got["DoSCircuitCreationBurst"] != 90 {
		t.Errorf("overrides not merged over the defaults: %v", got)
	}
	if LiveConsensusParams["DoSCircuitCreationRate"] != 3 {
		t.Error("merging changed LiveConsensusParams")
	}
	if _, err := consensusParams(map[string]int{"DoSCircuitCreationEnabled": 2}); err == nil || !strings.Contains(err.Error(), "DoSCircuitCreationEnabled") {
		t.Errorf("out-of-range override: err = %v, want one naming the parameter", err)
	}
	var cfg config
	WithConsensusParams(map[string]int{"a": 1})(&cfg)
	WithConsensusParams(map[string]int{"b": 2, "a": 3})(&cfg)
	if want := map[string]int{"a": 3, "b": 2}; !maps.Equal(cfg.consensusParams, want) {
		t.Errorf("WithConsensusParams twice: %v, want %v", cfg.consensusParams, want)
	}
}

func TestConsensusParamsLine(t *testing.T) {
	params := map[string]int{"dos_num_circ_max_outq": 3, "DoSCircuitCreationRate": 3, "DoSCircuitCreationBurst": 90, "neg": -5}
	line := consensusParamsLine(params)
	// A consensus lists them in strcmp order, upper case before lower.
	if want := "DoSCircuitCreationBurst=90 DoSCircuitCreationRate=3 dos_num_circ_max_outq=3 neg=-5"; line != want {
		t.Errorf("line %q, want %q", line, want)
	}
	back, err := parseParamsLine(line)
	if err != nil || !maps.Equal(back, params) {
		t.Errorf("parse(%q) = %v, %v; want %v", line, back, err, params)
	}
	if _, err := parseParamsLine("a=1 b"); err == nil {
		t.Error("a pair without a value parsed")
	}
	if _, err := parseParamsLine("a=x"); err == nil {
		t.Error("a non-integer value parsed")
	}
}

func TestParamsOfConsensus(t *testing.T) {
	doc := "network-status-version 3\nvote-status consensus\nconsensus-method 34\n" +
		"known-flags Authority Exit Fast Guard HSDir Running Stable V2Dir Valid\n" +
		"params DoSCircuitCreationEnabled=1 DoSCircuitCreationRate=3\n" +
		"dir-source rbauth0 AB 127.0.0.1 127.0.0.1 7001 5001\n" +
		"r rbtarget AAAA BBBB 2026-01-01 00:00:00 127.0.0.1 5003 7003\ns Fast Guard Running Stable V2Dir Valid\n"
	got, err := paramsOfConsensus(doc)
	if want := map[string]int{"DoSCircuitCreationEnabled": 1, "DoSCircuitCreationRate": 3}; err != nil || !maps.Equal(got, want) {
		t.Errorf("params = %v, %v; want %v", got, err, want)
	}
	// Without a params line tor uses its defaults: no parameters.
	got, err = paramsOfConsensus("network-status-version 3\nr x\nparams a=1\n")
	if err != nil || len(got) != 0 {
		t.Errorf("a consensus without params in its header: %v, %v; want none", got, err)
	}
}

// Only the authorities vote the parameters; a bridge's stand-in switches
// the DoS defences off in the target's torrc, other roles keep them.
func TestConsensusParamsInTorrcs(t *testing.T) {
	n := &Network{Dir: "/tmp/net", ConsensusParams: map[string]int{"DoSCircuitCreationEnabled": 1, "DoSCircuitCreationRate": 2}}
	for _, role := range []Role{RoleAuthority, RoleExit, RoleMiddle, RoleTarget} {
		got := n.relayTorrc(&Node{Role: role, Nickname: "n", DataDir: "/tmp/net/n"}).String()
		voted := strings.Contains(got, "\nConsensusParams DoSCircuitCreationEnabled=1 DoSCircuitCreationRate=2\n")
		if voted != (role == RoleAuthority) {
			t.Errorf("%s torrc votes the parameters: %v\n%s", role, voted, got)
		}
	}
	if RoleTorrc(scenarios.RoleEntry) != nil || RoleTorrc(scenarios.RoleMiddle) != nil {
		t.Error("entry and middle targets get torrc options; they enforce what a public relay does")
	}
	off := map[string]bool{}
	for _, o := range RoleTorrc(scenarios.RoleBridge) {
		if _, known := scenarios.ConsensusParamRanges[o.Key]; !known || o.Value != "0" {
			t.Errorf("bridge option %s: want a known DoS switch set to 0", o)
		}
		off[o.Key] = true
	}
	for name := range LiveConsensusParams {
		if (strings.HasSuffix(name, "Enabled") || name == "DoSRefuseSingleHopClientRendezvous") && !off[name] {
			t.Errorf("a bridge target keeps %s, which the live-like consensus turns on", name)
		}
	}
}

func TestMissingParams(t *testing.T) {
	voted := map[string]int{"a": 1, "b": 2}
	if err := missingParams(map[string]int{"a": 1, "b": 2, "AuthDirMaxServersPerAddr": 0}, voted); err != nil {
		t.Errorf("a consensus with every voted parameter and one more: %v", err)
	}
	err := missingParams(map[string]int{"a": 1, "b": 3}, voted)
	if err == nil || !strings.Contains(err.Error(), "lack the voted b=2") {
		t.Errorf("a parameter with another value: %v", err)
	}
	if err := missingParams(map[string]int{"b": 2}, voted); err == nil || !strings.Contains(err.Error(), "a=1") {
		t.Errorf("a missing parameter: %v", err)
	}
}
