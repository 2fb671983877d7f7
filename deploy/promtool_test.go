package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// tool returns the path of a Prometheus binary (promtool, prometheus). A
// missing one skips the test on a developer's machine and fails it in CI
// (CI=true), where scripts/setup.sh installs Debian's prometheus package.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI must run this test: scripts/setup.sh test installs it (Debian package prometheus)", name)
	}
	t.Skipf("%s is not installed: run scripts/setup.sh test (Debian package prometheus) to run this test", name)
	return ""
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, "promtool"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPromtoolRules checks the rules and runs their unit tests
// (prometheus/tests/), and checks the scrape config with them.
func TestPromtoolRules(t *testing.T) {
	t.Logf("%s", promtool(t, "check", "rules", rulesFile))
	tests, err := filepath.Glob("prometheus/tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests in prometheus/tests/ (%v)", err)
	}
	t.Logf("%s", promtool(t, append([]string{"test", "rules"}, tests...)...))
	t.Logf("%s", promtool(t, "check", "config", "prometheus/prometheus.yml"))
}

// TestPromtoolRulesTestsCanFail runs a rule test that expects an alert the
// input cannot raise: promtool must report it, or the passing rule tests
// above would prove nothing.
func TestPromtoolRulesTestsCanFail(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`rule_files: [%q]
tests:
  - interval: 15s
    input_series:
      - series: 'tor_relay_load_oom_bytes_total{job="tor-relay",instance="relay",subsys="cell"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: TorRelayOOM
        exp_alerts:
          - exp_labels: {severity: critical, signal: oom, job: tor-relay, instance: relay}
`, abs)
	path := filepath.Join(dir, "wrong.yml")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool(t, "promtool"), "test", "rules", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "TorRelayOOM") {
		t.Errorf("promtool passed a rule test whose alert cannot fire (%v):\n%s", err, out)
	}
}

// TestDashboardQueriesParse hands every PromQL query of the dashboard to
// promtool as a recording rule, with Grafana's variables filled in, so a
// query Prometheus would refuse fails here.
func TestDashboardQueriesParse(t *testing.T) {
	exprs, _ := dashboardQueries(t)
	fill := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$scenario", ".*", "$relay_job", "tor-relay")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		filled := fill.Replace(e)
		if strings.Contains(filled, "$") {
			t.Errorf("query %q uses a variable the test does not know: add it to the replacer", e)
		}
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: filled})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := promtool(t, "check", "rules", path)
	if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(rules))) {
		t.Errorf("promtool did not accept all %d dashboard queries:\n%s", len(rules), out)
	}
}
