// Package metricsport owns everything relaybench reads from tor's MetricsPort:
// scraping it on a schedule, parsing the Prometheus text it serves, the typed
// view of the relay's counters and gauges that the analysis needs
// ([RelaySnapshot]), per-second rates between two snapshots ([Rates]), and the
// relay-declared overload signals that say when and why a relay stopped keeping
// up ([OnsetSignal]).
//
// The flow in a run is:
//
//	Sampler.Run            -> metrics.jsonl, one ScrapeRecord per line
//	rundir.ReadLines       -> []ScrapeRecord
//	Observations           -> []Observation (snapshot or failure, per URL)
//	ComputeRates / RateSeries, DetectOnsets
//
// Everything downstream of the log works on recorded data, so an analysis can
// be re-run on an old metrics.jsonl without a relay.
//
// Two facts about tor's output, measured with tor 0.4.9.11, shape this package:
// names ending in _total are not always counters (tor_relay_circuits_total and
// tor_relay_load_socket_total are gauges), so the declared TYPE is kept and used;
// and a MetricsPort that stops answering while under load is itself an overload
// signal, so failed scrapes are recorded like successful ones.
package metricsport
