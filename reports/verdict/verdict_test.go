package verdict

import (
	"reflect"
	"strings"
	"testing"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
)

// The expected sections below are written out by hand from the analyses'
// numbers (3 MiB/s = 3×2^20 bytes/s), not produced by the code under test.

func TestSectionsOfAFullVerdict(t *testing.T) {
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
		Steps: []measure.StepResult{
			{Step: 0, Load: 1, Requests: 10},
			{Step: 1, Load: 2, Bottlenecks: []measure.Bottleneck{{Kind: measure.BottleneckClient, Name: "load0", Utilisation: 0.95, Evidence: "load0 at 95%"}}},
			{Step: 2, Load: 4, Bottlenecks: []measure.Bottleneck{{Kind: measure.BottleneckMachine, Name: "machine", Utilisation: 0.99, Evidence: "machine at 99%"}}},
		},
		Capacity: &measure.Capacity{Step: 1, Load: 2, Goodput: measure.Estimate{N: 10, Mean: 3 << 20, Low: 2.5 * (1 << 20), High: 3.5 * (1 << 20)},
			RelayReadBps: 3.25 * (1 << 20), RelayWrittenBps: 3.5 * (1 << 20), LowerBound: true, Reasons: []string{"load0 at 95%"},
			Attribution: measure.AttributionLoadGenerator, AttributionEvidence: []string{"load0 at 95%"}},
		Onset: &measure.Onset{Step: 1, Load: 2, Cause: "latency", LoadGeneratorBound: true,
			Signals:     []measure.Signal{{Name: "latency", Source: "client", Evidence: "p95 ×3"}, {Name: "saturation", Source: "client", Evidence: "+2%"}},
			Attribution: measure.AttributionLoadGenerator, AttributionEvidence: []string{"load0 at 95%"}},
		Gates: []measure.Gate{
			{Name: "min_capacity", Limit: "5MiB/s", Value: "3.00 MiB/s", Detail: "capacity at step 2"},
			{Name: "max_error_rate", Limit: "1.00%", Value: "0.10%", Passed: true, Detail: "1 of 1000"},
		},
		Warnings: []string{"tor client load1 of the pool died"},
		Notes:    []string{"circuits.jsonl is empty"},
	}
	v := Of(a)
	if v.FailedGates() != 1 {
		t.Errorf("FailedGates = %d, want 1", v.FailedGates())
	}
	want := []Section{
		{Kind: KindCapacity, Head: "capacity: ≥ 3.00 MiB/s, load-generator-bound (95% CI 2.50–3.50) at step 2 (2 streams); the relay read 3.25 and wrote 3.50 MiB/s there",
			Lines: []Line{{LineLowerBound, "this is a LOWER BOUND of the relay's capacity, not its capacity:"}, {LineItem, "load0 at 95%"}}},
		{Kind: KindOnset, Head: "overload onset: step 2 (2 streams), cause latency, load-generator-bound",
			Lines: []Line{{LineItem, "latency (client): p95 ×3"}, {LineItem, "saturation (client): +2%"},
				{LineLimitOther, "limited by the load generator (tor clients or relaybench):"}, {LineItem, "load0 at 95%"},
				{LineGeneratorBound, "the load generator was at its limit at this step: client-side signals may describe it rather than the relay"}}},
		{Kind: KindBottlenecks, Head: "bottlenecks:",
			Lines: []Line{{LineItem, "step 2 (2 streams): load0 at 95%"}, {LineItem, "step 3 (4 streams): machine at 99%"}}},
		{Kind: KindThresholdsFailed, Head: "thresholds: FAILED",
			Lines: []Line{{LineGateFailed, "FAIL min_capacity: 3.00 MiB/s (limit 5MiB/s): capacity at step 2"},
				{LineGatePassed, "ok   max_error_rate: 0.10% (limit 1.00%): 1 of 1000"}}},
		{Kind: KindWarnings, Head: "warnings during the run:", Lines: []Line{{LineItem, "tor client load1 of the pool died"}}},
		{Kind: KindNotes, Head: "notes on the raw data:", Lines: []Line{{LineItem, "circuits.jsonl is empty"}}},
	}
	checkSections(t, v.Sections(), want)
}

// TestSectionsNotJudged: damaged input, a run stopped part way or a run
// without any request judges no gate, passed or failed: the gates are
// listed with what they measured, under a head that says why.
func TestSectionsNotJudged(t *testing.T) {
	gates := []measure.Gate{
		{Name: "min_capacity", Limit: "5MiB/s", Value: "3.00 MiB/s", Detail: "capacity at step 2"},
		{Name: "max_error_rate", Limit: "1.00%", Value: "0.10%", Passed: true, Detail: "1 of 1000"},
	}
	gateLines := []Line{{LineGateNotJudged, "--   min_capacity: 3.00 MiB/s (limit 5MiB/s): capacity at step 2"},
		{LineGateNotJudged, "--   max_error_rate: 0.10% (limit 1.00%): 1 of 1000"}}
	steps := []measure.StepResult{{Step: 0, Load: 1, Requests: 10}, {Step: 1, Load: 2, Requests: 3, Canceled: 2, Interrupted: true}}
	for _, tc := range []struct {
		name string
		a    *measure.Analysis
		want []Section
	}{
		{"damaged", &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"}, Steps: steps[:1], Gates: gates,
			Problems: []string{"requests.jsonl: 1 damaged line skipped (line 5: invalid character 'x'); the 99 good lines were read"}},
			[]Section{
				{Kind: KindThresholdsNotJudged, Head: "thresholds: NOT JUDGED (fail closed): the input is missing or damaged (1 problem, listed under problems)", Lines: gateLines},
				{Kind: KindProblems, Head: "problems with the raw data:", Lines: []Line{{LineItem, "requests.jsonl: 1 damaged line skipped (line 5: invalid character 'x'); the 99 good lines were read"}}},
			}},
		{"interrupted", &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams", StoppedBy: "canceled"}, Steps: steps, Gates: gates,
			Interruptions: []measure.Interruption{{Rep: 0, Step: 1, Load: 2, StoppedBy: "canceled", Seconds: 2.5, Canceled: 2}}},
			[]Section{
				{Kind: KindInterrupted, Head: "interrupted: the run stopped before its end", Lines: []Line{{LineItem,
					"the run stopped (canceled) during step 2 (2 streams) of repetition 1, 2.5 s into it; 2 requests cut by the stop are counted apart, not as failures; no onset or capacity is drawn from that step"}}},
				{Kind: KindThresholdsNotJudged, Head: "thresholds: NOT JUDGED (fail closed): the run stopped before its end, during step 2 (2 streams) of repetition 1", Lines: gateLines},
			}},
		{"killed", &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams", StoppedBy: "unknown"}, Steps: steps, Gates: gates,
			Interruptions: []measure.Interruption{{Rep: 0, Step: 1, Load: 2, StoppedBy: "unknown", Seconds: 2.5, Inferred: true}}},
			[]Section{
				{Kind: KindInterrupted, Head: "interrupted: the run stopped before its end", Lines: []Line{{LineItem,
					"the run ended without recording how (killed or crashed) during step 2 (2 streams) of repetition 1, 2.5 s into it; steps.jsonl has no line for that step: its boundaries were inferred from its requests; no onset or capacity is drawn from that step"}}},
				{Kind: KindThresholdsNotJudged, Head: "thresholds: NOT JUDGED (fail closed): the run stopped before its end, during step 2 (2 streams) of repetition 1", Lines: gateLines},
			}},
		{"no request", &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"}, Steps: []measure.StepResult{{Step: 0, Load: 1}}, Gates: gates},
			[]Section{{Kind: KindThresholdsNotJudged, Head: "thresholds: NOT JUDGED (fail closed): the run recorded no request", Lines: gateLines}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Of(tc.a)
			capacity := "capacity: unknown (no step carried any bytes)"
			want := append([]Section{
				{Kind: KindCapacityUnknown, Head: capacity},
				{Kind: KindNoOnset, Head: "overload onset: none seen"},
			}, tc.want...)
			checkSections(t, v.Sections(), want)
		})
	}
}

func TestSectionsOfAnEmptyRun(t *testing.T) {
	checkSections(t, Of(&measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "req/s"}}).Sections(), []Section{
		{Kind: KindCapacityUnknown, Head: "capacity: unknown (no step carried any bytes)"},
		{Kind: KindNoOnset, Head: "overload onset: none seen"},
	})
}

// TestSectionsOfAMeasuredCapacity: a capacity that is not a lower bound
// and has no relay data is one line; gates that all passed say so.
func TestSectionsOfAMeasuredCapacity(t *testing.T) {
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "req/s"}, Steps: []measure.StepResult{{Step: 0, Load: 8, Requests: 100}},
		Capacity: &measure.Capacity{Step: 0, Load: 8, Goodput: measure.Estimate{N: 3, Mean: 1 << 20, Low: 0.75 * (1 << 20), High: 1.25 * (1 << 20)}},
		Onset:    &measure.Onset{Step: 0, Load: 8, Cause: "rate-limit"},
		Gates:    []measure.Gate{{Name: "max_error_rate", Limit: "1.00%", Value: "0.00%", Passed: true, Detail: "none failed"}},
	}
	checkSections(t, Of(a).Sections(), []Section{
		{Kind: KindCapacity, Head: "capacity: 1.00 MiB/s (95% CI 0.75–1.25) at step 1 (8 req/s)"},
		{Kind: KindOnset, Head: "overload onset: step 1 (8 req/s), cause rate-limit"},
		{Kind: KindThresholdsPassed, Head: "thresholds: passed", Lines: []Line{{LineGatePassed, "ok   max_error_rate: 0.00% (limit 1.00%): none failed"}}},
	})
}

// TestSectionsOfHealthAndRules: the last healthy step stands beside the
// capacity; a latency rule that lacked samples says so, also when no onset
// was seen; a capacity withheld says why.
func TestSectionsOfHealthAndRules(t *testing.T) {
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
		Capacity: &measure.Capacity{Step: 1, Load: 2, Goodput: measure.Estimate{N: 8, Mean: 3 << 20, Low: 2.75 * (1 << 20), High: 3.25 * (1 << 20)},
			LastHealthy: &measure.StepRef{Step: 2, Load: 4, Goodput: measure.Estimate{Mean: 2.5 * (1 << 20)}}},
		LatencyRules: []measure.LatencyRule{
			{Name: "connect", Insufficient: "insufficient samples: the first step has 5 connect samples, a p95 needs at least 20"},
			{Name: "ttfb", SkippedSteps: []int{3, 4}},
		},
	}
	rules := []Line{
		{LineRuleNotApplied, "connect rule not applied: insufficient samples: the first step has 5 connect samples, a p95 needs at least 20"},
		{LineRuleNotApplied, "ttfb rule did not judge step 4, 5: fewer than 20 samples"},
	}
	checkSections(t, Of(a).Sections(), []Section{
		{Kind: KindCapacity, Head: "capacity: 3.00 MiB/s (95% CI 2.75–3.25) at step 2 (2 streams)",
			Lines: []Line{{LineLastHealthy, "last healthy step: step 3 (4 streams) at 2.50 MiB/s, the highest load up to the onset at which no errors, connect or ttfb rule fired"}}},
		{Kind: KindNoOnset, Head: "overload onset: none seen", Lines: rules},
	})
	a.Capacity, a.NoCapacity = nil, "streams failed or slowed from the first step on (onset at step 1, errors): no healthy step to take it from"
	a.Onset = &measure.Onset{Step: 0, Load: 1, Cause: "errors"}
	checkSections(t, Of(a).Sections(), []Section{
		{Kind: KindCapacityUnknown, Head: "capacity: unknown (streams failed or slowed from the first step on (onset at step 1, errors): no healthy step to take it from)"},
		{Kind: KindOnset, Head: "overload onset: step 1 (1 streams), cause errors", Lines: rules},
	})
}

func checkSections(t *testing.T, got, want []Section) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d sections, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("section %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestSectionsOfARelayBoundCapacity: a capacity the relay limited says so
// with its evidence; the onset's evidence that a signal already states
// (relay-cpu) is not repeated, the rest is.
func TestSectionsOfARelayBoundCapacity(t *testing.T) {
	const quota = "rbtarget used 0.24 of its 0.25-core quota (p90 0.25), throttled in 611 of 807 periods"
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
		Capacity: &measure.Capacity{Step: 2, Load: 4, Goodput: measure.Estimate{N: 6, Mean: 9 << 20, Low: 8.5 * (1 << 20), High: 9.5 * (1 << 20)},
			Attribution: measure.AttributionRelay, AttributionEvidence: []string{quota, "also at its limit: machine at 95%"}},
		Onset: &measure.Onset{Step: 2, Load: 4, Cause: measure.SignalRelayCPU,
			Signals:     []measure.Signal{{Name: measure.SignalRelayCPU, Source: "relay", Evidence: quota}},
			Attribution: measure.AttributionRelay, AttributionEvidence: []string{quota, "also at its limit: machine at 95%"}},
	}
	checkSections(t, Of(a).Sections(), []Section{
		{Kind: KindCapacity, Head: "capacity: 9.00 MiB/s, relay-bound (95% CI 8.50–9.50) at step 3 (4 streams)",
			Lines: []Line{{LineLimitRelay, "limited by the relay under test:"}, {LineItem, quota}, {LineItem, "also at its limit: machine at 95%"}}},
		{Kind: KindOnset, Head: "overload onset: step 3 (4 streams), cause relay-cpu, relay-bound",
			Lines: []Line{{LineItem, "relay-cpu (relay): " + quota},
				{LineLimitRelay, "limited by the relay under test:"}, {LineItem, "also at its limit: machine at 95%"}}},
	})
}

// TestSectionsOfAPathCapacity: a live relay's capacity without its own
// evidence is the path's, a lower bound of unknown attribution.
func TestSectionsOfAPathCapacity(t *testing.T) {
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
		Capacity: &measure.Capacity{Step: 0, Load: 1, Goodput: measure.Estimate{N: 1, Mean: 5 << 20, Low: 5 << 20, High: 5 << 20},
			LowerBound: true, Path: true, Reasons: []string{"nothing measured"}, Attribution: measure.AttributionUnknown},
	}
	got := Of(a).Sections()[0]
	if got.Head != "path capacity: ≥ 5.00 MiB/s, whose limit is unknown (95% CI 5.00–5.00) at step 1 (1 streams)" {
		t.Errorf("head %q", got.Head)
	}
}

// TestSectionsOfALiveRelay: a relay target's verdict says how the run knew
// that its operator runs the relay and that the test raised its advertised
// bandwidth for days; a run that onset.abort stopped says where and on
// which signal, with the evidence, right after the onset.
func TestSectionsOfALiveRelay(t *testing.T) {
	const bandwidth = "this test raised the relay's advertised bandwidth for up to 5 days: tor advertises the highest rate it sustained for 10 seconds in the last 5 days, " +
		"so the bandwidth scanners may give it more weight and the network send it more clients until that rate ages out; " +
		"its traffic in the coming days is not its usual load, and a rerun meanwhile meets a busier relay"
	for _, tc := range []struct {
		name  string
		proof *rundir.RelayProof
		want  string
	}{
		{"metricsport", &rundir.RelayProof{Kind: rundir.ProofMetricsPort, Detail: "the MetricsPort http://127.0.0.1:9035/metrics answered with 20 tor_relay_* metric families"},
			"proof of operating it (metricsport): the MetricsPort http://127.0.0.1:9035/metrics answered with 20 tor_relay_* metric families"},
		{"skipped", &rundir.RelayProof{Kind: rundir.ProofSkipped, Detail: "whatever"}, "proof of operating it: none, skipped with --skip-relay-proof"},
		{"unrecorded", nil, "proof of operating it: not recorded (a run from before relaybench asked for one)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"}, LiveRelay: &measure.LiveRelay{Proof: tc.proof},
				OnsetAbort: &rundir.OnsetAbort{Repetition: 1, Step: 2, Load: 8, Signal: "rate-limit", Evidence: "rose between 10:00:01 and 10:00:02"}}
			checkSections(t, Of(a).Sections(), []Section{
				{Kind: KindCapacityUnknown, Head: "capacity: unknown (no step carried any bytes)"},
				{Kind: KindNoOnset, Head: "overload onset: none seen"},
				{Kind: KindOnsetAbort, Head: "aborted at step 3 (8 streams) of repetition 2 on rate-limit (onset.abort): the relay declared overload, so the run stopped there",
					Lines: []Line{{LineItem, "rose between 10:00:01 and 10:00:02"}}},
				{Kind: KindLiveRelay, Head: "relay on the live network:", Lines: []Line{{LineItem, tc.want}, {LineItem, bandwidth}}},
			})
		})
	}
}

// TestSectionsOfACircuitCapCapacity: a capacity relaybench's own
// circuit-rate cap limited is a lower bound bound by the cap, and the
// verdict says the cap, not the relay, limited the load.
func TestSectionsOfACircuitCapCapacity(t *testing.T) {
	const capped = "relaybench's circuit-rate cap (limits.circuit_rate 2/s, circuit_burst 60) held the load back: ... Raise limits.circuit_rate"
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "req/s"},
		Capacity: &measure.Capacity{Step: 1, Load: 4, Goodput: measure.Estimate{N: 1, Mean: 1 << 20, Low: 1 << 20, High: 1 << 20},
			LowerBound: true, Reasons: []string{capped}, Attribution: measure.AttributionCircuitCap, AttributionEvidence: []string{capped}},
		Onset: &measure.Onset{Step: 1, Load: 4, Cause: measure.SignalSaturation,
			Signals:     []measure.Signal{{Name: measure.SignalSaturation, Source: "client", Evidence: "goodput flat"}},
			Attribution: measure.AttributionCircuitCap, AttributionEvidence: []string{capped}, LoadGeneratorBound: true},
	}
	checkSections(t, Of(a).Sections(), []Section{
		{Kind: KindCapacity, Head: "capacity: ≥ 1.00 MiB/s, circuit-rate-cap-bound (95% CI 1.00–1.00) at step 2 (4 req/s)",
			Lines: []Line{{LineLowerBound, "this is a LOWER BOUND of the relay's capacity, not its capacity:"}, {LineItem, capped}}},
		{Kind: KindOnset, Head: "overload onset: step 2 (4 req/s), cause saturation, circuit-rate-cap-bound",
			Lines: []Line{{LineItem, "saturation (client): goodput flat"},
				{LineLimitOther, "limited by relaybench's circuit-rate cap (limits.circuit_rate), not the relay:"}, {LineItem, capped},
				{LineGeneratorBound, "the load generator was at its limit at this step: client-side signals may describe it rather than the relay"}}},
	})
}

// TestSectionsOfADoSOnset: the relay's DoS defence is an onset with its
// advice, limited by the defence, not the relay's capacity.
func TestSectionsOfADoSOnset(t *testing.T) {
	const ev = "http://127.0.0.1:9035/metrics: rose ...; over the measured window: circuit_rejected +120, marked_address +1"
	a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
		Onset: &measure.Onset{Step: 2, Load: 8, Cause: "dos",
			Signals:     []measure.Signal{{Name: "dos", Source: "relay", Evidence: ev, Advice: measure.DoSAdvice}},
			Attribution: measure.AttributionDoSDefence, AttributionEvidence: []string{"dos (relay): " + ev, "also at its limit: machine"}},
	}
	checkSections(t, Of(a).Sections()[1:2], []Section{
		{Kind: KindOnset, Head: "overload onset: step 3 (8 streams), cause dos, dos-defence-bound",
			Lines: []Line{{LineItem, "dos (relay): " + ev}, {LineItem, "what to do: " + measure.DoSAdvice},
				{LineLimitOther, "limited by the relay's DoS defence (it refused relaybench's client address), not its capacity:"},
				{LineItem, "also at its limit: machine"}}},
	})
}

// TestSectionsOfALiveRelaySayWhetherTheContentWasVerified: a relay
// target's section says whether the bytes counted were relaybench's
// payload, from the run's counts of successful and verified downloads.
func TestSectionsOfALiveRelaySayWhetherTheContentWasVerified(t *testing.T) {
	for _, tc := range []struct {
		name                string
		succeeded, verified int
		want                string
	}{
		{"all", 120, 120, "content: all 120 successful downloads were relaybench's payload, checked byte for byte"},
		{"none", 120, 0, "content: not verified: none of the 120 successful downloads came from a relaybench payload server, so the bytes counted may be anything that answered payload.url; serve it with `relaybench serve`"},
		{"some", 120, 117, "content: 117 of 120 successful downloads verified as relaybench's payload; the other 3 came without its X-Payload-Seed header (another server answered, or something on the path changed the response)"},
		{"no download", 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &measure.Analysis{RunHeader: measure.RunHeader{LoadUnit: "streams"},
				LiveRelay: &measure.LiveRelay{Proof: &rundir.RelayProof{Kind: rundir.ProofSkipped}, Succeeded: tc.succeeded, Verified: tc.verified}}
			var got []string
			for _, s := range Of(a).Sections() {
				if s.Kind == KindLiveRelay {
					for _, l := range s.Lines {
						got = append(got, l.Text)
					}
				}
			}
			var content []string
			for _, l := range got {
				if strings.HasPrefix(l, "content: ") {
					content = append(content, l)
				}
			}
			switch {
			case tc.want == "" && len(content) != 0:
				t.Errorf("content lines %q; want none", content)
			case tc.want != "" && (len(content) != 1 || content[0] != tc.want):
				t.Errorf("content lines %q; want\n%s", content, tc.want)
			case len(got) != 2+len(content):
				t.Errorf("lines %q; want the proof, the content and the bandwidth note", got)
			}
		})
	}
}
