// Package deploy holds no code: it is the home of the files that put a
// relaybench run beside the relay in Prometheus and Grafana, and of their
// tests.
//
//	prometheus/prometheus.yml         scrape config: relaybench and the relay's MetricsPort
//	prometheus/rules/                 recording and alert rules for the overload onset
//	prometheus/tests/                 promtool unit tests of every rule
//	grafana/relaybench.json           dashboard: load and latency beside tor_relay_*
//
// The tests check every metric name the dashboard and the rules use
// against what package promexport registers and what a real tor
// MetricsPort serves (measure/metricsport's fixture scrapes), run promtool
// on the rules, the config and the dashboard's queries, and, with real
// tor, scrape a run with a real Prometheus.
package deploy
