package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/runner/rundir"
)

const (
	dashboardFile = "grafana/relaybench.json"
	rulesFile     = "prometheus/rules/relaybench.rules.yml"
	scrapesDir    = "../measure/metricsport/testdata/scrapes"
)

// dashboardQueries returns the PromQL expressions of the dashboard (panel
// targets and annotations, "expr") and its variable queries ("query" and
// "definition" strings, which are Grafana's label_values() calls).
func dashboardQueries(t *testing.T) (exprs, variables []string) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok {
					switch k {
					case "expr":
						exprs = append(exprs, s)
					case "query", "definition":
						variables = append(variables, s)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	slices.Sort(exprs)
	return exprs, variables
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

// exportedFamilies returns relaybench's series names and types as package
// promexport registers them, after a run has touched every family.
func exportedFamilies(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	e := promexport.New()
	e.SetRun(promexport.Run{Scenario: "s", LoadUnit: "streams", Endpoints: 1, RelaySignals: []string{"oom"}})
	e.StepStarted(rundir.StepSummary{StepKey: rundir.StepKey{Step: 0}, Load: 1, Start: time.Now()})
	e.Observe(&rundir.Record{StepKey: rundir.StepKey{Step: 0}, Load: 1, Endpoint: 0, ConnectNS: 1e6, TTFBNS: 2e6, TTLBNS: 3e6, Bytes: 10})
	e.Circuit(rundir.CircuitRecord{Event: rundir.CircuitBuilt})
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dto.MetricType{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetType()
	}
	return out
}

// torFamilies returns the families a real tor MetricsPort serves: those of
// the fixture scrapes of relays, clients and an authority.
func torFamilies(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(scrapesDir, "*.prom"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture scrapes in %s (%v)", scrapesDir, err)
	}
	out := map[string]dto.MetricType{}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, mf := range mfs {
			out[name] = mf.GetType()
		}
	}
	return out
}

// nameRE matches PromQL identifiers: metric names and recording rule
// names. A label name or function name matches too; only the prefixes the
// check cares about are kept.
var nameRE = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// usedNames returns the relaybench and tor relay series names in exprs.
func usedNames(exprs []string) []string {
	var out []string
	for _, e := range exprs {
		for _, n := range nameRE.FindAllString(e, -1) {
			if strings.HasPrefix(n, "relaybench_") || strings.HasPrefix(n, "tor_relay_") ||
				strings.HasPrefix(n, "relaybench:") || strings.HasPrefix(n, "tor_relay:") {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// seriesFamily maps a series name to its family: a histogram's _bucket,
// _sum and _count series belong to the histogram.
func seriesFamily(name string, families map[string]dto.MetricType) (string, bool) {
	if _, ok := families[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(name, suffix)
		if found && families[base] == dto.MetricType_HISTOGRAM {
			return base, true
		}
	}
	return "", false
}

// unknownNames returns the names in used that nothing defines: relaybench_*
// not registered by promexport, tor_relay_* not served by tor, and
// recording rule names (with a colon) not recorded by the rules.
func unknownNames(used []string, exported, tor map[string]dto.MetricType, recorded []string) []string {
	var out []string
	for _, n := range used {
		var ok bool
		switch {
		case strings.Contains(n, ":"):
			ok = slices.Contains(recorded, n)
		case strings.HasPrefix(n, "relaybench_"):
			_, ok = seriesFamily(n, exported)
		default:
			_, ok = seriesFamily(n, tor)
		}
		if !ok {
			out = append(out, n)
		}
	}
	return out
}

// TestDashboardAndRulesUseRealMetricNames lists every series name the
// dashboard's queries and the rules use and checks each against what
// defines it; and that the dashboard shows every family relaybench
// exports and the relay's traffic, circuits, onionskins, OOM, DoS,
// rate-limit and socket families.
func TestDashboardAndRulesUseRealMetricNames(t *testing.T) {
	exported, tor := exportedFamilies(t), torFamilies(t)
	rf := readRules(t)
	var recorded, ruleExprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded = append(recorded, r.Record)
			}
			ruleExprs = append(ruleExprs, r.Expr)
		}
	}
	exprs, variables := dashboardQueries(t)
	dashNames := usedNames(append(slices.Clone(exprs), variables...))
	t.Logf("the dashboard's %d queries use: %s", len(exprs), strings.Join(dashNames, " "))
	if bad := unknownNames(dashNames, exported, tor, recorded); len(bad) > 0 {
		t.Errorf("the dashboard queries series nothing defines: %s", strings.Join(bad, " "))
	}
	ruleNames := usedNames(ruleExprs)
	t.Logf("the rules use: %s", strings.Join(ruleNames, " "))
	if bad := unknownNames(ruleNames, exported, tor, nil); len(bad) > 0 {
		// Rules may use recording rules of their own group.
		var really []string
		for _, n := range bad {
			if !slices.Contains(recorded, n) {
				really = append(really, n)
			}
		}
		if len(really) > 0 {
			t.Errorf("the rules use series nothing defines: %s", strings.Join(really, " "))
		}
	}

	// Everything relaybench exports is on the dashboard, directly or
	// through a recording rule the dashboard shows.
	shown := map[string]bool{}
	for _, n := range append(dashNames, usedNamesOfRecorded(rf, dashNames)...) {
		if f, ok := seriesFamily(n, exported); ok {
			shown[f] = true
		}
		if f, ok := seriesFamily(n, tor); ok {
			shown[f] = true
		}
	}
	for name := range exported {
		if !shown[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	for _, name := range []string{
		"tor_relay_traffic_bytes", "tor_relay_circuits_total", "tor_relay_load_onionskins_total", "tor_relay_load_oom_bytes_total",
		"tor_relay_dos_total", "tor_relay_load_global_rate_limit_reached_total", "tor_relay_load_tcp_exhaustion_total", "tor_relay_load_socket_total",
	} {
		if !shown[name] {
			t.Errorf("the dashboard does not show the relay's %s", name)
		}
	}
}

// usedNamesOfRecorded returns the series names behind the recording rules
// among names.
func usedNamesOfRecorded(rf ruleFile, names []string) []string {
	var exprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" && slices.Contains(names, r.Record) {
				exprs = append(exprs, r.Expr)
			}
		}
	}
	return usedNames(exprs)
}

// TestUnknownNamesFindsMistakes makes sure the name check can fail: a
// misspelt relaybench series, a tor family tor does not serve, a
// histogram suffix on a counter and an unrecorded rule name are caught.
func TestUnknownNamesFindsMistakes(t *testing.T) {
	exported, tor := exportedFamilies(t), torFamilies(t)
	used := usedNames([]string{
		`rate(relaybench_recieved_bytes_total[1m])`,
		`tor_relay_load_onionskin_total`,
		`relaybench_requests_total_bucket`,
		`relaybench:nothing:rate1m`,
		`histogram_quantile(0.95, sum by (le) (rate(relaybench_ttfb_seconds_bucket[1m]))) + tor_relay_traffic_bytes`,
	})
	got := unknownNames(used, exported, tor, []string{"relaybench:received_bytes:rate1m"})
	want := []string{"relaybench:nothing:rate1m", "relaybench_recieved_bytes_total", "relaybench_requests_total_bucket", "tor_relay_load_onionskin_total"}
	if !slices.Equal(got, want) {
		t.Errorf("unknown names %q, want %q", got, want)
	}
}
