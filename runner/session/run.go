package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/measure/promexport"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/segment"
	"github.com/relaybench/relaybench/scenarios"
)

// Options say how a scenario is run, beyond the scenario itself.
type Options struct {
	// OutDir receives the run directory, <OutDir>/<time>-<scenario>.
	OutDir string
	// Progress receives progress lines and warnings (stderr in the CLI);
	// nil discards them.
	Progress io.Writer
	// DirAuthorities, for tests only, makes a `relay` target's clients use
	// a test network instead of the real Tor network, so that code path is
	// exercised with the embedded network standing in for the real one.
	DirAuthorities []string
	// OnClients, for tests only, sees the pool once it is bootstrapped.
	OnClients func([]*chutney.Client)
	// Metrics, when set, sees the run live: every request record, step
	// boundary, circuit and overload signal of the relay as it happens
	// (`run --metrics-addr` serves it). The caller serves it and keeps it
	// after Run returns.
	Metrics *promexport.Exporter

	// Segment, when its Count is not 0, runs only worker Segment.Index's
	// share of every step (`relaybench run --segment i/N`) with a pool of
	// its own; run.json records the segment and `relaybench merge` makes
	// one run of the workers' directories. See segment.go.
	Segment segment.Segment
	// ScrapeRelay makes a worker other than segment 0 scrape the relay's
	// MetricsPort and write env.json, which only segment 0 does by default.
	ScrapeRelay bool
	// StartAt, when not zero, puts the steps on the wall clock
	// (runner.WithStartAt): the workers of a segmented run, given the
	// same time, load the relay together. StartBound is how far a step
	// may begin from its schedule before run.json warns (0:
	// DefaultStartBound).
	StartAt    time.Time
	StartBound time.Duration
	// SkipRelayProof runs a relay target without proof that its operator
	// runs it (`relaybench run --skip-relay-proof`): no MetricsPort or
	// ControlPort of it need answer first (see proveRelay). run.json says
	// so.
	SkipRelayProof bool
	// WrapRaw, for tests only, wraps the writer of each raw file the run
	// streams (requests, steps, metrics, processes and circuits, named by
	// their rundir file names), e.g. with one that fails as a full disk
	// does.
	WrapRaw func(name string, w io.Writer) io.Writer

	// variant names the variant being run into the directory, if any.
	variant string
	// relayProof is what proveRelay found, for run.json.
	relayProof *rundir.RelayProof
}

// Result is what a run produced, also when it failed part way.
type Result struct {
	// Dir is the run directory.
	Dir string
	// Reps holds one summary per repetition of the ramp.
	Reps []runner.Summary
	// Circuits holds, per repetition and step, the circuits the pool's
	// clients' streams used (zero for socks targets, where we own no
	// client to ask).
	Circuits [][]int
	// Analysis is computed from the run directory after everything
	// stopped; nil when the run produced no requests file, and for a run
	// with variants (each variant directory has its own).
	Analysis *measure.Analysis
	// Ranking compares the variants of a run with variants.
	Ranking *reports.Ranking
}

// Run runs sc: it checks that relaybench's open-files limit holds the
// scenario's streams and, for a relay target, that its operator runs it
// (proveRelay), creates the run directory, brings up the target,
// checks that the MetricsPorts to sample answer, starts the samplers,
// drives the load and stops every process it started on every way out.
// A check that fails is a *ConfigError. A raw file that cannot be written
// stops the run at once (StoppedBy "write-failed"), keeping what was
// written. A scenario with variants runs each variant's repetitions
// interleaved (see runVariants). The Result is non-nil once the run
// directory exists, also with an error.
func Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*Result, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if err := CheckOptions(sc, opts); err != nil {
		return nil, err
	}
	if err := checkOpenFiles(sc); err != nil {
		return nil, err
	}
	proof, err := proveRelay(ctx, sc, opts.SkipRelayProof)
	if err != nil {
		return nil, err
	}
	if proof != nil {
		opts.relayProof = proof
		fmt.Fprintf(opts.Progress, "proof of operating the relay (%s): %s\n", proof.Kind, proof.Detail)
	}
	started := time.Now().UTC()
	dir := filepath.Join(opts.OutDir, started.Format("20060102-150405")+"-"+sc.Name+opts.runDirSuffix())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := writeScenario(dir, sc); err != nil {
		return &Result{Dir: dir}, err
	}
	if len(sc.Variants) > 0 {
		return runVariants(ctx, sc, dir, opts)
	}
	fmt.Fprintf(opts.Progress, "run %s: scenario %s, %s target as %s, %d steps, about %s\n",
		dir, sc.Name, sc.Target.Kind, roleOf(sc), len(sc.Ramp.Steps), sc.PlannedDuration())
	reps := make([]int, max(sc.Repetitions, 1))
	for i := range reps {
		reps[i] = i
	}
	return runInDir(ctx, sc, dir, reps, opts)
}

func writeScenario(dir string, sc *scenarios.Scenario) error {
	resolved, err := sc.Marshal()
	if err != nil {
		return err
	}
	return rundir.WriteFileAtomic(filepath.Join(dir, rundir.ScenarioFile), resolved, 0o644)
}

func roleOf(sc *scenarios.Scenario) string {
	if sc.Target.Kind == scenarios.TargetSocks {
		return "given SocksPorts"
	}
	return string(sc.Target.Role)
}

// AnalyzeDir loads a run directory, analyses it and writes summary.json
// and every report file. It never replaces a summary.json computed from
// intact raw files with one computed from damaged ones (the raw files
// were damaged since): it then writes nothing and returns the analysis
// with an error wrapping ErrSummaryKept.
func AnalyzeDir(dir string) (*measure.Analysis, error) {
	r, err := measure.Load(dir)
	if err != nil {
		return nil, err
	}
	a := measure.Analyze(r)
	if len(a.Problems) > 0 {
		if old, err := measure.ReadSummary(dir); err == nil && len(old.Problems) == 0 {
			return a, fmt.Errorf("%w: %s was computed from intact raw files and the raw files are damaged now (%d problems): move it away to replace it",
				ErrSummaryKept, filepath.Join(dir, rundir.SummaryFile), len(a.Problems))
		}
	}
	if err := reports.WriteAll(dir, a); err != nil {
		return a, fmt.Errorf("write the reports of %s: %w", dir, err)
	}
	return a, nil
}

// ErrSummaryKept is wrapped by AnalyzeDir's error when it kept a
// summary.json of intact raw files rather than replace it with the
// analysis of damaged ones.
var ErrSummaryKept = errors.New("summary.json and the reports not rewritten")

// runInDir runs the given repetitions of sc into dir, with one target
// brought up for them and stopped after. The raw files are appended to, so
// that a variant's interleaved repetitions, each with a fresh target,
// accumulate in one directory that reads like a run without variants.
func runInDir(ctx context.Context, sc *scenarios.Scenario, dir string, reps []int, opts Options) (_ *Result, err error) {
	res := &Result{Dir: dir}
	info := &runInfo{dir: dir, info: rundir.RunInfo{Scenario: sc.Name, Variant: opts.variant, Started: time.Now().UTC(), RelayProof: opts.relayProof}}
	var earlier []string
	if old, rerr := rundir.ReadRunInfo(dir); rerr == nil {
		info.info.Started = old.Started // a variant's later repetition
		earlier = old.Warnings
	}
	warn := newRunWarnings(opts.Progress, earlier, func(ws []string) {
		info.update(func(i *rundir.RunInfo) { i.Warnings = ws }) // best effort: a failed write stops the run elsewhere
	})
	// Registered first, so it runs last: after every file is closed and
	// every process stopped, the run is described and analysed from what
	// reached the disk, whichever way the run ended.
	defer func() {
		werr := info.update(func(i *rundir.RunInfo) {
			i.Finished = time.Now().UTC()
			if n := len(res.Reps); n > 0 {
				i.StoppedBy = res.Reps[n-1].StoppedBy
			}
			if errors.Is(err, rundir.ErrWrite) {
				i.StoppedBy = "write-failed" // also when it failed after the last step
			}
			if err != nil {
				i.Error = err.Error()
			}
			if oa := (*OnsetAbortError)(nil); errors.As(err, &oa) {
				i.OnsetAbort = &oa.Abort
			}
			i.Warnings = warn.final()
		})
		if werr != nil && err == nil {
			err = werr
		}
		if _, serr := os.Stat(filepath.Join(dir, rundir.RequestsFile)); serr != nil {
			return // failed before any load: nothing to analyse
		}
		a, aerr := AnalyzeDir(dir)
		if aerr != nil {
			fmt.Fprintf(opts.Progress, "warning: could not analyse %s: %v\n", dir, aerr)
		}
		res.Analysis = a // shown even when its files could not be written
	}()

	netDir := "testnet"
	if reps[0] > 0 {
		netDir = fmt.Sprintf("testnet-%d", reps[0]) // keep each repetition's tor logs
	}
	tgt, err := setUpTarget(ctx, sc, dir, netDir, opts)
	if err != nil {
		return res, err
	}
	defer tgt.close()
	for _, w := range tgt.warnings {
		warn.record(w) // said by setUpTarget, with the client's log
	}

	// What is sampled: the target's MetricsPort first, then the pool's,
	// then any the scenario adds (of a segmented run, the relay's only by
	// the worker that scrapes it). Each but the pool's must answer once
	// before the load starts.
	var metrics []rundir.MetricsEndpoint
	metrics = append(metrics, tgt.metrics...)
	for i, u := range sc.Sampling.MetricsURLs {
		metrics = append(metrics, rundir.MetricsEndpoint{URL: u, Name: fmt.Sprintf("extra%d", i), Role: rundir.RoleOther})
	}
	metrics = opts.relayMetrics(metrics)
	if err := checkMetricsPorts(ctx, sc, metrics); err != nil {
		return res, err
	}

	plan := runner.Plan{Scenario: opts.workerScenario(sc), Endpoints: tgt.endpoints, LoopbackOnly: tgt.loopbackOnly}
	if sc.Payload.URL == "" {
		// A test network's exits reach the payload on an address of its
		// own, apart from the relays' and the load clients'; a socks
		// target's tor keeps the default.
		addr := payload.DefaultAddr
		if sc.Target.Kind == scenarios.TargetTestnet {
			addr = chutney.PayloadAddress + ":0"
		}
		srv, err := payload.Listen(addr, payload.WithErrorLog(warn.serverErrors()))
		if err != nil {
			return res, err
		}
		defer srv.Close()
		plan.PayloadURL = srv.BytesURL
		plan.Verify = true
		plan.Seed = payload.DefaultSeed
	} else {
		url := sc.Payload.URL
		plan.PayloadURL = func(int64) string { return url }
		// A URL served by `relaybench serve` is verified like the
		// built-in server's: its responses say they are relaybench's.
		plan.VerifySeeded = true
	}

	// The raw files, closed once the samplers and watchers stopped.
	var files []io.Closer
	defer func() {
		for _, f := range slices.Backward(files) {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	openRaw := func(name string) (*rawFile, error) {
		f, err := opts.openRaw(dir, name)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	requests, err := openRaw(rundir.RequestsFile)
	if err != nil {
		return res, err
	}
	plan.Records = requests

	// What the run ran on, captured once the target is up so that its
	// effective configuration can be read over its control port.
	// Of a segmented run, only the worker that scrapes the relay does.
	if opts.scrapesRelay() {
		env := envinfo.Capture(ctx, tgt.envSources())
		if err := env.WriteFile(filepath.Join(dir, rundir.EnvFile)); err != nil {
			return res, fmt.Errorf("write %s: %w", rundir.EnvFile, err)
		}
	}
	if err := info.update(func(i *rundir.RunInfo) {
		i.Metrics = metrics
		i.Segment = opts.segmentInfo(sc, len(tgt.endpoints))
	}); err != nil {
		return res, err
	}

	// The pool outlives each repetition's engine: a client that died stays
	// out of the pool, a dead network node or a raw file that cannot be
	// written aborts whatever runs.
	st := &runState{dead: map[int]bool{}}
	samplerCtx, stopSamplers := context.WithCancel(context.Background())
	var samplers sync.WaitGroup
	defer func() {
		stopSamplers()
		samplers.Wait()
	}()
	// A sampler whose file cannot be written stops the run: without its
	// file the run has no record of what it sampled.
	startSampler := func(name string, run func(context.Context) error) {
		samplers.Go(func() {
			if err := run(samplerCtx); err != nil {
				st.abort(fmt.Errorf("%s sampler: %w", name, err))
			}
		})
	}
	var metricsURLs []string
	targetURL := ""
	for _, m := range metrics {
		metricsURLs = append(metricsURLs, m.URL)
		if m.Role == rundir.RoleTarget && targetURL == "" {
			targetURL = m.URL
		}
	}
	live := newLive(opts.Metrics, sc, opts.variant, len(plan.Endpoints), targetURL)
	if sc.Onset.Abort {
		live.abortOnDeclared(func(sig metricsport.OnsetSignal, step rundir.StepSummary) {
			st.abort(&OnsetAbortError{rundir.OnsetAbort{Repetition: step.Repetition, Step: step.Step, Load: step.Load,
				At: sig.At, Signal: string(sig.Name), Series: sig.Series, Evidence: sig.Evidence}})
		})
	}
	if len(metricsURLs) > 0 {
		out, err := openRaw(rundir.MetricsFile)
		if err != nil {
			return res, err
		}
		sampler := &metricsport.Sampler{URLs: metricsURLs, Interval: sc.Sampling.Interval.Std(), Out: out,
			OnScrape: bothScrapes(warn.scrapes(sc.Sampling.Interval.Std()), live.scrape())}
		startSampler("MetricsPort", sampler.Run)
	}

	if opts.OnClients != nil {
		opts.OnClients(tgt.clients)
	}
	procFile, err := openRaw(rundir.ProcessesFile)
	if err != nil {
		return res, err
	}
	procSampler := &procstat.Sampler{Processes: tgt.processes, Interval: sc.Sampling.Interval.Std(), Out: procFile}
	startSampler("process", procSampler.Run)

	circFile, err := openRaw(rundir.CircuitsFile)
	if err != nil {
		return res, err
	}
	circuits, err := recordCircuits(samplerCtx, tgt.clients, circFile, st.abort, live.circuit())
	if err != nil {
		return res, err
	}
	stepsFile, err := openRaw(rundir.StepsFile)
	if err != nil {
		return res, err
	}
	stepsLog := rundir.NewWriter[rundir.StepSummary](stepsFile, rundir.StepsFile)
	// Each step's boundaries reach the disk as the step ends: the analysis
	// needs them, and a crash must not take the finished steps with it.
	stepDone := func(s rundir.StepSummary) {
		if err := stepsLog.Write(s); err != nil {
			st.abort(err)
		}
		live.stepDone(s)
		if w := opts.lateStep(sc, s); w != "" {
			warn.add(w)
		}
	}

	// A tor client of the pool that dies is noticed at once: its endpoint
	// leaves the pool and the run goes on with the rest.
	for i, c := range tgt.clients {
		go func() {
			select {
			case <-c.Process.Exited():
				fmt.Fprintf(opts.Progress, "\n%s\n", c.Process.LogTail(5))
				warn.add(fmt.Sprintf("tor client %s of the pool died (%v); the run went on with the rest of the pool", c.Name, c.Process.ExitError()))
				st.markDead(i)
			case <-samplerCtx.Done():
			}
		}()
	}
	if tgt.network != nil {
		died := tgt.network.Died()
		go func() {
			select {
			case p := <-died:
				fmt.Fprintf(opts.Progress, "\nerror: test network node %s died (%v): stopping the run\n%s\n", p.Name, p.ExitError(), p.LogTail(10))
				st.abort(fmt.Errorf("test network node %s died: %w", p.Name, p.ExitError()))
			case <-samplerCtx.Done():
			}
		}()
	}
	for _, rep := range reps {
		plan.Repetition = rep
		engineOpts := append(opts.engineOptions(sc, rep), runner.WithProgress(progressPrinter(opts.Progress, sc, rep)), runner.WithStepDone(stepDone))
		engine, err := runner.New(plan, append(engineOpts, live.options()...)...)
		if err != nil {
			return res, err
		}
		st.setEngine(engine)
		summary, err := engine.Run(ctx)
		fmt.Fprintln(opts.Progress)
		res.Reps = append(res.Reps, summary)
		var circ []int
		for _, s := range summary.Steps {
			circ = append(circ, circuits.usedBetween(s.Start, s.End))
		}
		res.Circuits = append(res.Circuits, circ)
		if err != nil {
			return res, err
		}
		if err := st.err(); err != nil {
			return res, err // between repetitions: no engine ran to see it
		}
	}
	return res, st.err()
}

// OnsetAbortError is why a run with onset.abort stopped: the relay
// declared overload during a step. It wraps runner.ErrOnsetAbort, so the
// run is stopped by "onset-abort"; run.json records Abort.
type OnsetAbortError struct{ Abort rundir.OnsetAbort }

func (e *OnsetAbortError) Error() string {
	a := e.Abort
	return fmt.Sprintf("onset.abort: the relay declared overload (%s) during step %d (load %d) of repetition %d, so the run stopped there; what was measured is kept: %s",
		a.Signal, a.Step+1, a.Load, a.Repetition+1, a.Evidence)
}

// Unwrap returns runner.ErrOnsetAbort.
func (e *OnsetAbortError) Unwrap() error { return runner.ErrOnsetAbort }

// runInfo is run.json while the run goes: every change is written at once
// (atomically), so that a crash leaves the latest.
type runInfo struct {
	mu   sync.Mutex
	dir  string
	info rundir.RunInfo
}

// update applies change and rewrites run.json.
func (r *runInfo) update(change func(*rundir.RunInfo)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	change(&r.info)
	return rundir.WriteRunInfo(r.dir, r.info)
}

// rawFile is a raw file of the run directory opened for appending, written
// through the test hook Options.WrapRaw when set.
type rawFile struct {
	io.Writer
	f *os.File
}

// Name is the file's path, for the messages of rundir.Writer.
func (r *rawFile) Name() string { return r.f.Name() }

// Close closes the file.
func (r *rawFile) Close() error { return r.f.Close() }

// bothScrapes calls each of fs that is not nil with every scrape.
func bothScrapes(fs ...func(metricsport.ScrapeRecord)) func(metricsport.ScrapeRecord) {
	fs = slices.DeleteFunc(fs, func(f func(metricsport.ScrapeRecord)) bool { return f == nil })
	return func(rec metricsport.ScrapeRecord) {
		for _, f := range fs {
			f(rec)
		}
	}
}

// openRaw opens the raw file dir/name for appending.
func (o Options) openRaw(dir, name string) (*rawFile, error) {
	f, err := rundir.OpenAppend(dir, name)
	if err != nil {
		return nil, err
	}
	r := &rawFile{Writer: f, f: f}
	if o.WrapRaw != nil {
		r.Writer = o.WrapRaw(name, f)
	}
	return r, nil
}

// runState is what outlives each repetition's engine: the pool's dead
// clients and the reason to abort, handed to every engine that starts.
type runState struct {
	mu       sync.Mutex
	current  *runner.Engine
	dead     map[int]bool
	abortErr error
}

func (s *runState) markDead(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead[i] = true
	if s.current != nil {
		s.current.MarkDead(i)
	}
}

// abort stops the running engine, and any later one, with err; the first
// reason wins.
func (s *runState) abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abortErr == nil {
		s.abortErr = err
	}
	if s.current != nil {
		s.current.Abort(s.abortErr)
	}
}

// err is why the run was aborted, nil if it was not.
func (s *runState) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abortErr
}

func (s *runState) setEngine(e *runner.Engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = e
	for i := range s.dead {
		e.MarkDead(i)
	}
	if s.abortErr != nil {
		e.Abort(s.abortErr)
	}
}
