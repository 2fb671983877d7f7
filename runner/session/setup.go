package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// Setup is how a run was set up, as its run directory says: the scenario
// as run and env.json.
type Setup struct {
	// Name is how the run is shown (RunName).
	Name string
	// Scenario is nil when scenario.yaml could not be read.
	Scenario *scenarios.Scenario
	// Env is nil when env.json could not be read; EnvErr says why.
	Env    *envinfo.Env
	EnvErr error
}

// ReadSetup reads the set-up of run directory dir. What cannot be read is
// left nil; SetupDifferences says what that leaves out.
func ReadSetup(dir string) Setup {
	s := Setup{Name: RunName(dir)}
	if sc, _, err := scenarios.LoadRun(filepath.Join(dir, rundir.ScenarioFile)); err == nil {
		s.Scenario = sc
	}
	s.Env, s.EnvErr = envinfo.ReadFile(filepath.Join(dir, rundir.EnvFile))
	return s
}

// RunName is how a run is shown: its directory's base name
// (<time>-<scenario>, or a variant's name), which tells two runs of one
// scenario apart.
func RunName(dir string) string {
	if n := filepath.Base(filepath.Clean(dir)); n != "." && n != string(filepath.Separator) {
		return n
	}
	return dir
}

// SetupDifferences lists how b's set-up differs from a's, the one rule for
// compare and for the variants of a run: the target's torrc overrides
// ("torrc/<option>"), every other scenario setting ("scenario/<yaml
// path>": a different ramp, payload, workload or open-files limit changes
// what a step means; name and description never matter), and envinfo.Diff
// of env.json (versions, the machine, sysctls, processes, the target's
// effective options) except the target's *Port options, which a test
// network picks anew every time. The notes say what could not be compared.
func SetupDifferences(a, b Setup) ([]reports.EnvDifference, []string) {
	var diffs []reports.EnvDifference
	var notes []string
	if a.Scenario != nil && b.Scenario != nil {
		diffs = append(diffs, reports.TorrcDifferences(testnetTorrc(a.Scenario), testnetTorrc(b.Scenario))...)
		diffs = append(diffs, scenarioDifferences(a.Scenario, b.Scenario)...)
	} else {
		for _, s := range []Setup{a, b} {
			if s.Scenario == nil {
				notes = append(notes, fmt.Sprintf("%s has no readable %s: torrc and scenario settings not compared", s.Name, rundir.ScenarioFile))
			}
		}
	}

	const notCompared = "tor versions, the target's effective config, sysctls and the machine not compared"
	switch {
	case a.EnvErr == nil && b.EnvErr == nil:
		for _, d := range envinfo.Diff(a.Env, b.Env) {
			if strings.HasPrefix(d.Key, "target/option/") && strings.HasSuffix(d.Key, "Port") {
				continue
			}
			diffs = append(diffs, reports.EnvDifference{Key: d.Key, A: d.A, B: d.B})
		}
	case errors.Is(a.EnvErr, fs.ErrNotExist) && errors.Is(b.EnvErr, fs.ErrNotExist):
		notes = append(notes, fmt.Sprintf("neither run has %s: %s", rundir.EnvFile, notCompared))
	default:
		for _, s := range []Setup{a, b} {
			switch {
			case errors.Is(s.EnvErr, fs.ErrNotExist):
				notes = append(notes, fmt.Sprintf("%s has no %s: %s", s.Name, rundir.EnvFile, notCompared))
			case s.EnvErr != nil:
				notes = append(notes, fmt.Sprintf("%s: %v: %s", s.Name, s.EnvErr, notCompared))
			}
		}
	}
	return diffs, notes
}

func testnetTorrc(sc *scenarios.Scenario) map[string]string {
	if sc.Target.Testnet == nil {
		return nil
	}
	return sc.Target.Testnet.Torrc
}

// scenarioDifferences lists the scenario settings that differ, as
// "scenario/<yaml path>". The name and description never matter, and the
// torrc is listed by TorrcDifferences.
func scenarioDifferences(a, b *scenarios.Scenario) []reports.EnvDifference {
	fa, fb := flattenScenario(a), flattenScenario(b)
	keys := slices.Sorted(maps.Keys(fa))
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []reports.EnvDifference
	for _, k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		if !oka {
			va = reports.Unset
		}
		if !okb {
			vb = reports.Unset
		}
		if va != vb {
			out = append(out, reports.EnvDifference{Key: "scenario/" + k, A: va, B: vb})
		}
	}
	return out
}

// flattenScenario turns a scenario into "ramp.step_duration" → "12s"
// pairs through its YAML form (the form scenario.yaml has); lists become
// one flow-style value.
func flattenScenario(sc *scenarios.Scenario) map[string]string {
	out := map[string]string{}
	b, err := yaml.Marshal(sc)
	if err != nil {
		return out
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
		case []any:
			j, err := json.Marshal(v)
			if err != nil {
				out[prefix] = fmt.Sprint(v)
				return
			}
			out[prefix] = string(j)
		case nil:
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", doc)
	for k := range out {
		if k == "name" || k == "description" || strings.HasPrefix(k, "target.testnet.torrc.") {
			delete(out, k)
		}
	}
	return out
}
