package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// runCompareCmd goes through run when main.go dispatches compare, and
// straight to runCompare until then.
func runCompareCmd(args []string, stdout, stderr *bytes.Buffer) error {
	err := run(args, stdout, stderr)
	var ue usageError
	if errors.As(err, &ue) && strings.Contains(err.Error(), `unknown command "compare"`) {
		stdout.Reset()
		stderr.Reset()
		return runCompare(args[1:], stdout, stderr)
	}
	return err
}

func TestCompareNotARun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	var stdout, stderr bytes.Buffer
	err := runCompareCmd([]string{"compare", runDir("bw1"), dir}, &stdout, &stderr)
	if exitCode(err) != exitRunFailure || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a relaybench run directory") {
		t.Errorf("compare with a non-run dir: %v (exit %d), want exit 3 naming %s", err, exitCode(err), dir)
	}
}

// TestCompareFailOnRegression: the baseline at 4 MBytes, the run at
// 1 MBytes, is a regression at every step (exit 1); the other way round
// is an improvement (exit 0).
func TestCompareFailOnRegression(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runCompareCmd([]string{"compare", "--fail-on-regression", "10", runDir("bw4"), runDir("bw1")}, &stdout, &stderr)
	if !errors.As(err, &checkFailed{}) {
		t.Fatalf("bw4 → bw1: %v, want checkFailed\n%s", err, stdout.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"regressions beyond 10%:",
		"bw1 vs bw4: step 1 (1 streams): median goodput",
		"down by more than 10%",
		"torrc/BandwidthRate: 4 MBytes → 1 MBytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "no raw files (requests.jsonl): using summary.json") {
		t.Errorf("stderr does not say bw1 was read from its summary: %q", stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	if err := runCompareCmd([]string{"compare", "--fail-on-regression", "10", runDir("bw1"), runDir("bw4")}, &stdout, &stderr); err != nil {
		t.Errorf("bw1 → bw4: %v, want no regression\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "regressions beyond 10%:\n  none") {
		t.Errorf("bw1 → bw4 does not say there is no regression:\n%s", stdout.String())
	}

	// Without --fail-on-regression a regression is reported, never exit 1.
	stdout.Reset()
	if err := runCompareCmd([]string{"compare", runDir("bw4"), runDir("bw1")}, &stdout, &stderr); err != nil {
		t.Errorf("bw4 → bw1 without --fail-on-regression: %v", err)
	}
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
	if md := stdout.String(); !strings.Contains(md, "### goodput per second") || !strings.Contains(md, "|-----") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"10": 10, "10%": 10, " 2.5 % ": 2.5, "0": 0} {
		if got, err := parsePercent(in); err != nil || got != want {
			t.Errorf("parsePercent(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "NaN", "Inf", "-1", "10%%"} {
		if _, err := parsePercent(in); err == nil {
			t.Errorf("parsePercent(%q) succeeded", in)
		}
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
