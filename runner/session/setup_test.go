package session

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/scenarios"
)

// One rule for compare and for variants: torrc, every scenario setting but
// name and description, env.json but the target's *Port options.
func TestSetupDifferencesOneRule(t *testing.T) {
	scenario := func(name, rate string, nofile int) *scenarios.Scenario {
		sc, err := scenarios.Builtin("local")
		if err != nil {
			t.Fatal(err)
		}
		sc.Name, sc.Description = name, "about "+name
		sc.Target.Testnet.Torrc = map[string]string{"BandwidthRate": rate}
		sc.Target.Testnet.Nofile = nofile
		return sc
	}
	env := func(orPort, somaxconn string) *envinfo.Env {
		return &envinfo.Env{Version: 1, Sysctls: map[string]string{"net.core.somaxconn": somaxconn},
			Target: &envinfo.TargetConfig{Name: "rbtarget", Options: map[string]string{"ORPort": orPort, "BandwidthRate": "1048576"}}}
	}
	a := Setup{Name: "a", Scenario: scenario("a", "1 MBytes", 0), Env: env("5001", "4096")}
	b := Setup{Name: "b", Scenario: scenario("b", "4 MBytes", 1024), Env: env("5002", "128")}
	diffs, notes := SetupDifferences(a, b)
	var got []string
	for _, d := range diffs {
		got = append(got, fmt.Sprintf("%s: %s → %s", d.Key, d.A, d.B))
	}
	want := []string{
		"torrc/BandwidthRate: 1 MBytes → 4 MBytes",
		"scenario/target.testnet.nofile: (unset) → 1024",
		"sysctl/net.core.somaxconn: 4096 → 128",
	}
	if !slices.Equal(got, want) || len(notes) != 0 {
		t.Errorf("differences:\n%s\nnotes %q\nwant:\n%s", strings.Join(got, "\n"), notes, strings.Join(want, "\n"))
	}

	// What is missing is said, not guessed.
	a.Scenario, a.Env, a.EnvErr = nil, nil, fs.ErrNotExist
	b.Env, b.EnvErr = nil, errors.New("parse env.json: bad")
	diffs, notes = SetupDifferences(a, b)
	wantNotes := []string{
		"a has no readable scenario.yaml: torrc and scenario settings not compared",
		"a has no env.json: tor versions, the target's effective config, sysctls and the machine not compared",
		"b: parse env.json: bad: tor versions, the target's effective config, sysctls and the machine not compared",
	}
	if len(diffs) != 0 || !slices.Equal(notes, wantNotes) {
		t.Errorf("with a side missing: differences %v, notes:\n%s\nwant:\n%s", diffs, strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
}
