package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// compareFormats are the values of compare's --format.
var compareFormats = []string{"text", "markdown", "json"}

// runCompare is `relaybench compare [--fail-on-regression PCT] [--format
// text|markdown|json] RUN_A RUN_B [RUN_C ...]`: each run after the first
// is compared with RUN_A, the baseline, benchstat's way (medians with
// confidence intervals, Mann-Whitney U test). Runs are re-analysed from
// their raw files, so a stale or missing summary.json does not matter; a
// run directory without raw files falls back to its summary.json. Nothing
// is written into the run directories.
func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	var failOn *float64
	var failOnRaw string
	fs.Func("fail-on-regression", "exit 1 when a significant change is worse than `PCT` percent: median goodput or capacity down, or median TTFB up (e.g. 10)", func(s string) error {
		failOnRaw = s
		return nil
	})
	format := fs.String("format", "text", "output `format`: text, markdown or json (a JSON array, one comparison per run after the baseline)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: relaybench compare [--fail-on-regression PCT] [--format text|markdown|json] RUN_A RUN_B [RUN_C ...]\n\n"+
			"Compares each run with RUN_A (the baseline) step by step.\n\n")
		fs.PrintDefaults()
	}
	runs, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if isSet(fs, "fail-on-regression") {
		pct, err := parsePercent(failOnRaw)
		if err != nil {
			return usagef("--fail-on-regression: %v", err)
		}
		failOn = &pct
	}
	if !slices.Contains(compareFormats, *format) {
		return usagef("--format: %q is not one of %s", *format, strings.Join(compareFormats, ", "))
	}
	if len(runs) < 2 {
		return usagef("compare: name at least two run directories, the baseline first: relaybench compare RUN_A RUN_B (got %d)", len(runs))
	}

	loaded := make([]loadedRun, len(runs))
	for i, dir := range runs {
		lr, err := loadCompareRun(dir)
		if err != nil {
			return err
		}
		for _, n := range lr.notes {
			fmt.Fprintf(stderr, "relaybench: %s\n", n)
		}
		loaded[i] = lr
	}

	var comps []*reports.Comparison
	var regressions []string
	for _, other := range loaded[1:] {
		base := loaded[0]
		diffs, notes := envDifferences(base, other)
		c := reports.Compare(base.analysis, other.analysis,
			reports.WithNames(base.name, other.name),
			reports.WithEnvDifferences(diffs, notes...))
		comps = append(comps, c)
		if failOn != nil {
			for _, r := range c.Regressions(*failOn) {
				regressions = append(regressions, fmt.Sprintf("%s vs %s: %s", other.name, base.name, r.Message))
			}
		}
	}

	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(comps); err != nil {
			return err
		}
	default:
		for i, c := range comps {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			render := c.Text
			if *format == "markdown" {
				render = c.Markdown
			}
			if err := render(stdout); err != nil {
				return err
			}
		}
	}
	if failOn == nil {
		return nil
	}
	// The regressions go where a reader of the format looks, except into
	// JSON, which must stay parseable.
	out := stdout
	if *format == "json" {
		out = stderr
	}
	title := fmt.Sprintf("regressions beyond %g%%", *failOn)
	if *format == "markdown" {
		fmt.Fprintf(out, "\n### %s\n\n", title)
	} else {
		fmt.Fprintf(out, "\n%s:\n", title)
	}
	if len(regressions) == 0 {
		fmt.Fprintln(out, "  none")
		return nil
	}
	for _, r := range regressions {
		if *format == "markdown" {
			fmt.Fprintf(out, "- %s\n", r)
		} else {
			fmt.Fprintf(out, "  - %s\n", r)
		}
	}
	return checkFailed{fmt.Errorf("compare: %d significant regression(s) beyond %g%%", len(regressions), *failOn)}
}

// parseInterspersed parses flags wherever they are among the run
// directories, so that `compare A B --format json` works as well as the
// flags first; after "--" everything is a directory.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parsePercent reads "10" or "10%" as 10.
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage (give a number such as 10 or 10%%)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative: give how much worse a change must be to fail, such as 10", s)
	}
	return v, nil
}

// loadedRun is one run directory as compare sees it.
type loadedRun struct {
	dir, name string
	analysis  *measure.Analysis
	// scenario is nil when scenario.yaml could not be read (a summary-only
	// run directory without it).
	scenario *scenarios.Scenario
	// notes are said on stderr: how the run was read.
	notes []string
}

// loadCompareRun analyses dir from its raw files. A directory without
// requests.jsonl but with summary.json (raw files deleted to save space,
// or a copy of the summary alone) is read from its summary.json instead.
// Anything else that is not a run is a run failure naming dir.
func loadCompareRun(dir string) (loadedRun, error) {
	lr := loadedRun{dir: dir, name: runName(dir)}
	_, rerr := os.Stat(filepath.Join(dir, rundir.RequestsFile))
	_, serr := os.Stat(filepath.Join(dir, rundir.SummaryFile))
	if errors.Is(rerr, fs.ErrNotExist) && serr == nil {
		a, err := measure.ReadSummary(dir)
		if err != nil {
			return lr, fmt.Errorf("%s has no raw files and its summary cannot be read: %w", dir, err)
		}
		lr.analysis = a
		lr.notes = append(lr.notes, fmt.Sprintf("%s: no raw files (%s): using %s", dir, rundir.RequestsFile, rundir.SummaryFile))
		lr.notes = append(lr.notes, staleSummaryNotes(dir, a)...)
		// LoadRun: the scenario as it ran, even if a rule changed since.
		if sc, _, err := scenarios.LoadRun(filepath.Join(dir, rundir.ScenarioFile)); err == nil {
			lr.scenario = sc
		}
		return lr, nil
	}
	r, err := measure.Load(dir)
	if err != nil {
		return lr, err
	}
	lr.analysis = measure.Analyze(r)
	lr.scenario = r.Scenario
	return lr, nil
}

// staleSummaryNotes warns about a summary.json written before it kept the
// raw samples: its steps then compare as "no samples".
func staleSummaryNotes(dir string, a *measure.Analysis) []string {
	var out []string
	for _, s := range a.Steps {
		if s.Goodput.N > 0 && len(s.GoodputSeries) == 0 || s.TTFB.N > 0 && len(s.TTFBSamples) == 0 {
			out = append(out, fmt.Sprintf("%s: its %s predates the raw samples (goodput_series, ttfb_samples): run `relaybench analyze` on the raw files, or those steps show no samples", dir, rundir.SummaryFile))
			break
		}
	}
	return out
}

// runName is how a run is shown: its directory's base name
// (<time>-<scenario>), which tells two runs of one scenario apart.
func runName(dir string) string {
	if n := filepath.Base(filepath.Clean(dir)); n != "." && n != string(filepath.Separator) {
		return n
	}
	return dir
}

// envDifferences gathers how two runs' set-ups differ: the target's torrc
// overrides and the other scenario settings from scenario.yaml, and
// envinfo.Diff of env.json when both runs have one. The notes say what
// could not be compared.
func envDifferences(a, b loadedRun) ([]reports.EnvDifference, []string) {
	var diffs []reports.EnvDifference
	var notes []string
	if a.scenario != nil && b.scenario != nil {
		diffs = append(diffs, reports.TorrcDifferences(testnetTorrc(a.scenario), testnetTorrc(b.scenario))...)
		diffs = append(diffs, scenarioDifferences(a.scenario, b.scenario)...)
	} else {
		for _, r := range []loadedRun{a, b} {
			if r.scenario == nil {
				notes = append(notes, fmt.Sprintf("%s has no readable %s: torrc and scenario settings not compared", r.name, rundir.ScenarioFile))
			}
		}
	}

	ea, erra := envinfo.ReadFile(filepath.Join(a.dir, rundir.EnvFile))
	eb, errb := envinfo.ReadFile(filepath.Join(b.dir, rundir.EnvFile))
	switch {
	case erra == nil && errb == nil:
		for _, d := range envinfo.Diff(ea, eb) {
			diffs = append(diffs, reports.EnvDifference{Key: d.Key, A: d.A, B: d.B})
		}
	case errors.Is(erra, fs.ErrNotExist) && errors.Is(errb, fs.ErrNotExist):
		notes = append(notes, fmt.Sprintf("neither run has %s: tor versions, the target's effective config, sysctls and the machine not compared", rundir.EnvFile))
	default:
		for _, r := range []struct {
			name string
			err  error
		}{{a.name, erra}, {b.name, errb}} {
			switch {
			case errors.Is(r.err, fs.ErrNotExist):
				notes = append(notes, fmt.Sprintf("%s has no %s: tor versions, the target's effective config, sysctls and the machine not compared", r.name, rundir.EnvFile))
			case r.err != nil:
				notes = append(notes, fmt.Sprintf("%s: %v: tor versions, the target's effective config, sysctls and the machine not compared", r.name, r.err))
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
// "scenario/<yaml path>": a different ramp, payload or workload changes
// what a step means. The name and description never matter, and the torrc
// is listed by TorrcDifferences.
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
