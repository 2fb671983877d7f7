package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
)

// testdata/runs holds three real runs of a bridge limited by
// BandwidthRate/BandwidthBurst (ramp 1, 2, 4, 8 streams, 2 repetitions):
// bw1 and bw1-rerun at 1 MBytes, bw4 at 4 MBytes. Their raw files are
// megabytes (metrics.jsonl), so bw1 and bw1-rerun keep only scenario.yaml,
// run.json and summary.json (compare's summary fallback), and bw4 keeps
// its raw files but metrics.jsonl (compare's usual path: measure.Load and
// Analyze; without metrics there is no relay side, which compare does not
// need).
const runsDir = "testdata/runs"

func runDir(name string) string { return filepath.Join(runsDir, name) }

func TestCompareUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare"}, "name at least two run directories"},
		{[]string{"compare", runDir("bw1")}, "name at least two run directories"},
		{[]string{"compare", "--fail-on-regression", "x", runDir("bw1"), runDir("bw4")}, `--fail-on-regression: "x" is not a percentage`},
		{[]string{"compare", "--fail-on-regression", "-5", runDir("bw1"), runDir("bw4")}, `--fail-on-regression: "-5" is negative`},
		{[]string{"compare", "--fail-on-regression=", runDir("bw1"), runDir("bw4")}, `--fail-on-regression: "" is not a percentage`},
		{[]string{"compare", "--format", "xml", runDir("bw1"), runDir("bw4")}, `--format: "xml" is not one of text, markdown, json`},
		{[]string{"compare", "--bogus", runDir("bw1"), runDir("bw4")}, "-bogus"},
	} {
		var stdout, stderr bytes.Buffer
		err := runCompareCmd(tc.args, &stdout, &stderr)
		if got := exitCode(err); got != exitUsage {
			t.Errorf("%q: exit %d (%v), want %d", tc.args, got, err, exitUsage)
			continue
		}
		if all := err.Error() + stderr.String(); !strings.Contains(all, tc.want) {
			t.Errorf("%q: %q does not say %q", tc.args, all, tc.want)
		}
	}
}

// runCompareCmd runs `relaybench ARGS` (a compare).
func runCompareCmd(args []string, stdout, stderr *bytes.Buffer) error {
	return run(args, stdout, stderr)
}

func TestCompareNotARun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	var stdout, stderr bytes.Buffer
	err := runCompareCmd([]string{"compare", runDir("bw1"), dir}, &stdout, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a relaybench run directory") {
		t.Errorf("compare with a non-run dir: %v (exit %d), want exit 2 (usage) naming %s", err, exitCode(err), dir)
	}
}

// TestCompareFailOnRegression: the baseline at 4 MBytes, the run at
// 1 MBytes, both with 2 repetitions: far apart, but too few repetitions to
// test, so the check passes and says what it could not test. With 6
// repetitions a side the same drop is a regression at every step (exit 1);
// the other way round an improvement (exit 0).
func TestCompareFailOnRegression(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runCompareCmd([]string{"compare", "--fail-on-regression", "10", runDir("bw4"), runDir("bw1")}, &stdout, &stderr); err != nil {
		t.Fatalf("bw4 → bw1 (2 repetitions each): %v, want exit 0: too few repetitions is not a regression\n%s", err, stdout.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"regressions beyond 10%:\n  none\nnot tested (too few repetitions; not counted as regressions):\n",
		"bw1 vs bw4: 11 of 11 metrics not tested: too few repetitions to test (bw4 ran 2, bw1 ran 2; the U test needs at least 4 per side",
		"too few repetitions to test (n=2)",
		"torrc/BandwidthRate: 4 MBytes → 1 MBytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "no raw files (requests.jsonl): using summary.json") {
		t.Errorf("stderr does not say bw1 was read from its summary: %q", stderr.String())
	}

	fast, slow := summaryRun(t, "fast", 3e6), summaryRun(t, "slow", 0.7e6)
	stdout.Reset()
	stderr.Reset()
	err := runCompareCmd([]string{"compare", "--fail-on-regression", "10", fast, slow}, &stdout, &stderr)
	if reports.JudgementOf(err) != reports.Failed {
		t.Fatalf("fast → slow (6 repetitions each): %v, want a failed check\n%s", err, stdout.String())
	}
	for _, want := range []string{
		"regressions beyond 10%:",
		"slow vs fast: step 1 (1 streams): median goodput 2.86 MiB/s → 0.668 MiB/s (-76.67%, p=0.002 n=6), down by more than 10%",
		"slow vs fast: capacity (fast at step 1",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "not tested") {
		t.Errorf("6 repetitions a side: nothing may be left untested:\n%s", stdout.String())
	}

	stdout.Reset()
	if err := runCompareCmd([]string{"compare", "--fail-on-regression", "10", slow, fast}, &stdout, &stderr); err != nil {
		t.Errorf("slow → fast: %v, want no regression\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "regressions beyond 10%:\n  none\n") {
		t.Errorf("slow → fast does not say there is no regression:\n%s", stdout.String())
	}

	// Without --fail-on-regression a regression is reported, never exit 1.
	stdout.Reset()
	if err := runCompareCmd([]string{"compare", fast, slow}, &stdout, &stderr); err != nil {
		t.Errorf("fast → slow without --fail-on-regression: %v", err)
	}
}

// summaryRun writes a run directory holding only a summary.json (compare's
// summary fallback): one step of 1 stream, 6 repetitions whose goodputs
// spread 1 % apart around goodput, TTFB 50 ms, the capacity there.
func summaryRun(t *testing.T, name string, goodput float64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := measure.StepResult{Step: 0, Load: 1, Reps: 6, Requests: 60, OK: 60, WindowSeconds: 60, Bytes: goodput * 60}
	for rep := range 6 {
		g := goodput * (0.975 + 0.01*float64(rep))
		s.RepGoodput = append(s.RepGoodput, g)
		s.RepStats = append(s.RepStats, measure.RepStat{Rep: rep, Goodput: g, Requests: 10, TTFBP50: 0.05, TTFBP95: 0.05})
	}
	a := &measure.Analysis{Version: measure.AnalysisVersion, RunHeader: measure.RunHeader{Scenario: "synthetic", Target: "testnet relay as bridge", Workload: "bulk",
		LoadUnit: "streams", Repetitions: 6, StoppedBy: "completed"}, Steps: []measure.StepResult{s},
		Capacity: &measure.Capacity{Step: 0, Load: 1, RepGoodput: s.RepGoodput}}
	if err := measure.WriteSummary(dir, a); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompareFormats(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Flags after the directories work too; three runs make two
	// comparisons with the first as baseline.
	args := []string{"compare", runDir("bw1"), runDir("bw1-rerun"), runDir("bw4"), "--format", "json", "--fail-on-regression", "10%"}
	if err := runCompareCmd(args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var comps []reports.Comparison
	if err := json.Unmarshal(stdout.Bytes(), &comps); err != nil {
		t.Fatalf("--format json is not a JSON array of comparisons: %v\n%s", err, stdout.String())
	}
	if len(comps) != 2 || comps[0].A.Name != "bw1" || comps[0].B.Name != "bw1-rerun" || comps[1].B.Name != "bw4" {
		t.Fatalf("comparisons %d: %+v", len(comps), comps)
	}
	if len(comps[1].EnvDifferences) == 0 || comps[1].EnvDifferences[0].Key != "torrc/BandwidthBurst" {
		t.Errorf("bw1 → bw4 environment differences %+v", comps[1].EnvDifferences)
	}
	if !strings.Contains(stderr.String(), "regressions beyond 10%:") {
		t.Errorf("with --format json the regression check goes to stderr: %q", stderr.String())
	}

	stdout.Reset()
	if err := runCompareCmd([]string{"compare", "--format", "markdown", runDir("bw1"), runDir("bw4")}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if md := stdout.String(); !strings.Contains(md, "### goodput, MiB/s: median of the repetitions' goodput") || !strings.Contains(md, "|-----") {
		t.Errorf("markdown:\n%s", md)
	}
}

// TestCompareEnvDifferences: env.json on both sides adds envinfo.Diff to
// the torrc differences; on one side only, a note says what was left out.
func TestCompareEnvDifferences(t *testing.T) {
	tmp := t.TempDir()
	copyRun := func(name string) string {
		dst := filepath.Join(tmp, name)
		if err := os.CopyFS(dst, os.DirFS(runDir(name))); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	a, b := copyRun("bw1"), copyRun("bw1-rerun")
	writeEnv := func(dir, somaxconn string) {
		env := `{"version": 1, "machine": {"cores": 2}, "sysctls": {"net.core.somaxconn": "` + somaxconn + `"}}`
		if err := os.WriteFile(filepath.Join(dir, rundir.EnvFile), []byte(env), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeEnv(a, "4096")
	var stdout, stderr bytes.Buffer
	if err := runCompareCmd([]string{"compare", a, b}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "none found") || !strings.Contains(stdout.String(), "bw1-rerun has no env.json") {
		t.Errorf("env.json on one side only:\n%s", stdout.String())
	}
	writeEnv(b, "128")
	stdout.Reset()
	if err := runCompareCmd([]string{"compare", a, b}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "sysctl/net.core.somaxconn: 4096 → 128") || strings.Contains(stdout.String(), "none found") {
		t.Errorf("env.json on both sides:\n%s", stdout.String())
	}
}
