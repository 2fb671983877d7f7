package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/testkit"
)

// TestRelayDeclaredSignals: onset.abort stops on tor's own overload
// counters, not on relaybench's sockets threshold or an unreachable
// MetricsPort.
func TestRelayDeclaredSignals(t *testing.T) {
	got := metricsport.RelayDeclared()
	for _, want := range []metricsport.SignalName{metricsport.SignalOnionskinsDropped, metricsport.SignalOOM, metricsport.SignalTCPExhaustion, metricsport.SignalRateLimit} {
		if !slices.Contains(got, want) {
			t.Errorf("RelayDeclared() = %v lacks %s", got, want)
		}
	}
	for _, not := range []metricsport.SignalName{metricsport.SignalSockets, metricsport.SignalMetricsPortUnreachable} {
		if slices.Contains(got, not) {
			t.Errorf("RelayDeclared() = %v holds %s, which the relay does not declare", got, not)
		}
	}
}

// TestLiveSignalsAbortOnDeclared feeds liveSignals scrapes of a fake
// relay: a counter that rises between steps, or sockets near the limit
// during one, do not abort; the rate limiter tripping during a step does,
// once, with the step it ran in.
func TestLiveSignalsAbortOnDeclared(t *testing.T) {
	mp := testkit.StartMetricsPort(t)
	var calls []rundir.StepSummary
	var signals []metricsport.OnsetSignal
	s := &liveSignals{url: mp.URL(), fired: map[metricsport.SignalName]bool{},
		declared: func(sig metricsport.OnsetSignal, step rundir.StepSummary) {
			calls = append(calls, step)
			signals = append(signals, sig)
		}}
	scrape := func() {
		t.Helper()
		sc, err := metricsport.ProbeScrape(context.Background(), mp.URL(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var fams []rundir.MetricFamily
		fams = append(fams, sc.Families...)
		s.scrape(metricsport.ScrapeRecord{URL: mp.URL(), At: time.Now(), OK: true, Families: fams})
	}
	scrape() // the baseline
	mp.AddRateLimitReached(0, 3)
	scrape() // between steps: not our load
	s.stepStarted(rundir.StepSummary{StepKey: rundir.StepKey{Repetition: 0, Step: 1}, Load: 4})
	mp.Update(func(st *testkit.RelayState) { st.SocketsOpened = st.SocketLimit })
	scrape()
	if len(calls) != 0 {
		t.Fatalf("aborted on %v: want no abort for a rise between steps or for sockets", signals)
	}
	mp.AddRateLimitReached(0, 1)
	scrape()
	mp.AddRateLimitReached(0, 1)
	scrape()
	if len(calls) != 1 || calls[0].Step != 1 || calls[0].Load != 4 || signals[0].Name != metricsport.SignalRateLimit || signals[0].Evidence == "" {
		t.Fatalf("abort calls %+v with %+v; want one, at step 1 (load 4), on rate-limit with its evidence", calls, signals)
	}
}

// TestRunStopsAtOnsetAbort runs a socks target through fake SocksPorts and
// a fake MetricsPort (no tor) with onset.abort: the relay's rate limiter
// trips during the second of three steps, and the run stops there, soon,
// by onset-abort, keeping what it measured: run.json and summary.json
// name the step and the signal, the second step's requests are on disk
// and the step is an interruption.
func TestRunStopsAtOnsetAbort(t *testing.T) {
	sc, _, mp := fakeScenario(t, 1, 2, 3)
	sc.Onset.Abort = true
	mp.AddRateLimitReached(2, 2) // before the run: the baseline, no abort
	opts := testOptions(t)
	rose := make(chan time.Time, 1)
	// Once the first step is on disk, the second runs: trip the limiter
	// half a second into it.
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			dirs, _ := filepath.Glob(filepath.Join(opts.OutDir, "*", rundir.StepsFile))
			if len(dirs) == 1 {
				if lines, err := rundir.ReadFile[rundir.StepSummary](filepath.Dir(dirs[0]), rundir.StepsFile); err == nil && len(lines.Records) >= 1 {
					time.Sleep(500 * time.Millisecond)
					mp.AddRateLimitReached(0, 7)
					rose <- time.Now()
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	res, err := Run(context.Background(), sc, opts)
	var oa *OnsetAbortError
	if !errors.Is(err, runner.ErrOnsetAbort) || !errors.As(err, &oa) {
		t.Fatalf("Run error = %v; want the onset abort", err)
	}
	var roseAt time.Time
	select {
	case roseAt = <-rose:
	default:
		t.Fatal("the rate limiter was never tripped")
	}
	if oa.Abort.Step != 1 || oa.Abort.Signal != string(metricsport.SignalRateLimit) {
		t.Errorf("aborted at step %d on %s; want step 1 (0-based) on rate-limit", oa.Abort.Step, oa.Abort.Signal)
	}
	steps := res.Reps[0].Steps
	if res.Reps[0].StoppedBy != "onset-abort" || len(steps) != 2 || !steps[1].Interrupted {
		t.Fatalf("stopped by %q after %d steps (last interrupted: %v); want onset-abort in the second", res.Reps[0].StoppedBy, len(steps), len(steps) > 1 && steps[1].Interrupted)
	}
	// Sampled every 200 ms: the stop follows the rise within a scrape or
	// two, not at the step's end 2.5 s later.
	if late := steps[1].End.Sub(roseAt); late > 1500*time.Millisecond {
		t.Errorf("the step ended %s after the rate limiter tripped; want the run stopped within a few scrapes", late)
	}
	info, err := rundir.ReadRunInfo(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.StoppedBy != "onset-abort" || info.OnsetAbort == nil || info.OnsetAbort.Step != 1 || info.OnsetAbort.Evidence == "" {
		t.Errorf("run.json stopped_by %q, onset_abort %+v; want onset-abort at step 1 with evidence", info.StoppedBy, info.OnsetAbort)
	}
	lines, err := rundir.ReadFile[rundir.Record](res.Dir, rundir.RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	inSecond := 0
	for _, r := range lines.Records {
		if r.Step == 1 {
			inSecond++
		}
	}
	if inSecond == 0 {
		t.Error("no request of the step the run stopped in is on disk")
	}
	a := res.Analysis
	if a == nil || a.StoppedBy != "onset-abort" || len(a.Interruptions) != 1 || a.Interruptions[0].Step != 1 {
		t.Fatalf("analysis %+v; want stopped by onset-abort with step 1 interrupted", a)
	}
	if a.OnsetAbort == nil || a.OnsetAbort.Step != 1 || a.LiveRelay != nil {
		t.Errorf("summary onset_abort %+v, live_relay %+v; want the abort at step 1 and no live relay (a socks target)", a.OnsetAbort, a.LiveRelay)
	}
	report, err := os.ReadFile(filepath.Join(res.Dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "aborted at step 2 (2 streams) on rate-limit (onset.abort)") {
		t.Errorf("report.md does not say where the run was aborted:\n%s", report)
	}
}
