package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/scenarios"
)

// runRun is `relaybench run [SCENARIO]`.
func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	out := fs.String("out", "runs", "directory that receives the run directory")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	var sc *scenarios.Scenario
	switch fs.NArg() {
	case 0:
		sc = scenarios.Default()
	case 1:
		var err error
		if sc, err = loadScenario(fs.Arg(0)); err != nil {
			return usageError{err}
		}
	default:
		return usagef("run: one scenario at a time (got %d arguments)", fs.NArg())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runScenario(ctx, sc, runConfig{outDir: *out, stdout: stdout, progress: stderr})
	if res != nil {
		if res.ranking != nil {
			fmt.Fprintf(stdout, "\nvariants ranked by capacity (each variant's report is in %s/variants/<name>/):\n", res.dir)
			if terr := res.ranking.Text(stdout); terr != nil && err == nil {
				err = terr
			}
			for _, e := range res.ranking.Entries {
				if len(e.Failed) > 0 && err == nil {
					err = checkFailed{fmt.Errorf("variant %s failed thresholds: %s", e.Variant, strings.Join(e.Failed, ", "))}
				}
			}
		}
		if res.analysis != nil {
			fmt.Fprintln(stdout)
			if terr := reports.Terminal(stdout, res.analysis); terr != nil && err == nil {
				err = terr
			}
		}
		fmt.Fprintf(stdout, "\nresults in %s: report.html, report.md, steps.csv, summary.json, bench.txt and the raw files\n", res.dir)
		if a := res.analysis; a != nil && err == nil && len(a.Failed()) > 0 {
			err = checkFailed{fmt.Errorf("%d threshold(s) of scenario %s failed (see the FAIL lines above)", len(a.Failed()), sc.Name)}
		}
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: the run stopped early; every request measured so far is in %s", res.dir)
		}
	}
	return err
}

// loadScenario loads a file, or a built-in scenario by name (local,
// local-entry, ...), so `relaybench run local-churn` works without the file.
func loadScenario(arg string) (*scenarios.Scenario, error) {
	if _, err := os.Stat(arg); err != nil && slices.Contains(scenarios.Names(), strings.TrimSuffix(arg, ".yaml")) {
		return scenarios.Builtin(strings.TrimSuffix(arg, ".yaml"))
	}
	return scenarios.Load(arg)
}

// runConfig holds how a scenario is run, beyond the scenario itself.
type runConfig struct {
	outDir   string
	stdout   io.Writer
	progress io.Writer
	// dirAuthorities, for tests only, makes a `relay` target's clients use
	// a test network instead of the real Tor network, so that code path is
	// exercised with the embedded network standing in for the real one.
	dirAuthorities []string
	// onClients, for tests only, sees the pool once it is bootstrapped.
	onClients func([]*chutney.Client)
	// variant names the variant being run into the directory, if any.
	variant string
}

// runResult is what a run produced, also when it failed part way.
type runResult struct {
	dir string
	// reps holds one summary per repetition of the ramp.
	reps []runner.Summary
	// circuits holds, per repetition and step, the circuits the pool's
	// clients' streams used (zero for socks targets, where we own no
	// client to ask).
	circuits [][]int
	// analysis is computed from the run directory after everything
	// stopped; nil when the run produced no requests file, and for a run
	// with variants (each variant directory has its own).
	analysis *measure.Analysis
	// ranking compares the variants of a run with variants.
	ranking *reports.Ranking
}

// runScenario runs sc: it creates the run directory, brings up the target
// (an embedded network, tor clients for a real relay, or nothing for given
// SocksPorts), starts the MetricsPort sampler, drives the load and stops
// every process it started on every way out. A scenario with variants runs
// each variant's repetitions interleaved (see runVariants).
func runScenario(ctx context.Context, sc *scenarios.Scenario, cfg runConfig) (*runResult, error) {
	started := time.Now().UTC()
	dir := filepath.Join(cfg.outDir, started.Format("20060102-150405")+"-"+sc.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := writeScenario(dir, sc); err != nil {
		return &runResult{dir: dir}, err
	}
	if len(sc.Variants) > 0 {
		return runVariants(ctx, sc, dir, cfg)
	}
	fmt.Fprintf(cfg.progress, "run %s: scenario %s, %s target as %s, %d steps, about %s\n",
		dir, sc.Name, sc.Target.Kind, roleOf(sc), len(sc.Ramp.Steps), sc.PlannedDuration())
	reps := make([]int, max(sc.Repetitions, 1))
	for i := range reps {
		reps[i] = i
	}
	return runInDir(ctx, sc, dir, reps, cfg)
}

func writeScenario(dir string, sc *scenarios.Scenario) error {
	resolved, err := sc.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, measure.ScenarioFile), resolved, 0o644)
}

// runInDir runs the given repetitions of sc into dir, with one target
// brought up for them and stopped after. The raw files are appended to, so
// that a variant's interleaved repetitions, each with a fresh target,
// accumulate in one directory that reads like a run without variants.
func runInDir(ctx context.Context, sc *scenarios.Scenario, dir string, reps []int, cfg runConfig) (_ *runResult, err error) {
	res := &runResult{dir: dir}
	info := measure.RunInfo{Scenario: sc.Name, Variant: cfg.variant, Started: time.Now().UTC()}
	if old, rerr := measure.ReadRunInfo(dir); rerr == nil {
		info.Started = old.Started // a variant's later repetition
	}
	// Registered first, so it runs last: after every file is closed and
	// every process stopped, the run is described and analysed from what
	// reached the disk, whichever way the run ended.
	defer func() {
		info.Finished = time.Now().UTC()
		if n := len(res.reps); n > 0 {
			info.StoppedBy = res.reps[n-1].StoppedBy
		}
		if err != nil {
			info.Error = err.Error()
		}
		if werr := measure.WriteRunInfo(dir, info); werr != nil && err == nil {
			err = werr
		}
		if _, serr := os.Stat(filepath.Join(dir, measure.RequestsFile)); serr != nil {
			return // failed before any load: nothing to analyse
		}
		a, aerr := analyzeDir(dir)
		if aerr != nil {
			fmt.Fprintf(cfg.progress, "warning: could not analyse %s: %v\n", dir, aerr)
			return
		}
		res.analysis = a
	}()

	netDir := "testnet"
	if reps[0] > 0 {
		netDir = fmt.Sprintf("testnet-%d", reps[0]) // keep each repetition's tor logs
	}
	tgt, err := setUpTarget(ctx, sc, dir, netDir, cfg)
	if err != nil {
		return res, err
	}
	defer tgt.close()

	plan := runner.Plan{Scenario: sc, Endpoints: tgt.endpoints, LoopbackOnly: tgt.loopbackOnly}
	if sc.Payload.URL == "" {
		srv, err := payload.Listen("127.0.0.1:0")
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
	}

	requests, err := os.OpenFile(filepath.Join(dir, measure.RequestsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return res, err
	}
	defer requests.Close()
	plan.Records = requests

	// What the run ran on, captured once the target is up so that its
	// effective configuration can be read over its control port.
	env := envinfo.Capture(ctx, tgt.envSources())
	if err := env.WriteFile(filepath.Join(dir, envinfo.FileName)); err != nil {
		return res, fmt.Errorf("write %s: %w", envinfo.FileName, err)
	}
	info.Metrics = slices.Clone(tgt.metrics)
	info.Warnings = append(info.Warnings, tgt.warnings...)
	for i, u := range sc.Sampling.MetricsURLs {
		info.Metrics = append(info.Metrics, measure.MetricsEndpoint{URL: u, Name: fmt.Sprintf("extra%d", i), Role: measure.RoleOther})
	}
	if err := measure.WriteRunInfo(dir, info); err != nil {
		return res, err
	}
	var metricsURLs []string
	for _, m := range info.Metrics {
		metricsURLs = append(metricsURLs, m.URL)
	}
	samplerDone := make(chan error, 1)
	samplerCtx, stopSampler := context.WithCancel(context.Background())
	defer func() {
		stopSampler()
		<-samplerDone
	}()
	if len(metricsURLs) > 0 {
		metrics, err := os.OpenFile(filepath.Join(dir, measure.MetricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return res, err
		}
		defer metrics.Close()
		sampler := &metricsport.Sampler{URLs: metricsURLs, Interval: sc.Sampling.Interval.Std(), Out: metrics}
		go func() { samplerDone <- sampler.Run(samplerCtx) }()
	} else {
		samplerDone <- nil
	}

	if cfg.onClients != nil {
		cfg.onClients(tgt.clients)
	}
	procFile, err := os.OpenFile(filepath.Join(dir, measure.ProcessesFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return res, err
	}
	defer procFile.Close()
	procSampler := &procstat.Sampler{Processes: tgt.processes, Interval: sc.Sampling.Interval.Std(), Out: procFile}
	procDone := make(chan struct{})
	go func() { procSampler.Run(samplerCtx); close(procDone) }()
	defer func() { stopSampler(); <-procDone }()

	circuits, err := recordCircuits(samplerCtx, tgt.clients, filepath.Join(dir, measure.CircuitsFile))
	if err != nil {
		return res, err
	}
	defer circuits.Close()
	stepsFile, err := os.OpenFile(filepath.Join(dir, measure.StepsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return res, err
	}
	defer stepsFile.Close()
	// Each step's boundaries reach the disk as the step ends: the analysis
	// needs them, and a crash must not take the finished steps with it.
	var stepsErr error
	stepDone := func(st runner.StepSummary) {
		line, _ := json.Marshal(st)
		if _, err := stepsFile.Write(append(line, '\n')); err != nil && stepsErr == nil {
			stepsErr = fmt.Errorf("write %s: %w", measure.StepsFile, err)
		}
	}

	// The pool outlives each repetition's engine: a client that died stays
	// out of the pool, and a dead network node aborts whatever runs.
	var (
		mu       sync.Mutex
		current  *runner.Engine
		dead     = map[int]bool{}
		abortErr error
	)
	markDead := func(i int) {
		mu.Lock()
		defer mu.Unlock()
		dead[i] = true
		if current != nil {
			current.MarkDead(i)
		}
	}
	abort := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		abortErr = err
		if current != nil {
			current.Abort(err)
		}
	}
	// A tor client of the pool that dies is noticed at once: its endpoint
	// leaves the pool and the run goes on with the rest.
	for i, c := range tgt.clients {
		go func() {
			select {
			case <-c.Process.Exited():
				fmt.Fprintf(cfg.progress, "\nwarning: tor client %s died (%v); going on with the rest of the pool\n%s\n", c.Name, c.Process.ExitError(), c.Process.LogTail(5))
				markDead(i)
			case <-samplerCtx.Done():
			}
		}()
	}
	if tgt.network != nil {
		died := tgt.network.Died()
		go func() {
			select {
			case p := <-died:
				fmt.Fprintf(cfg.progress, "\nerror: test network node %s died (%v): stopping the run\n%s\n", p.Name, p.ExitError(), p.LogTail(10))
				abort(fmt.Errorf("test network node %s died: %w", p.Name, p.ExitError()))
			case <-samplerCtx.Done():
			}
		}()
	}
	for _, rep := range reps {
		plan.Repetition = rep
		engine, err := runner.New(plan, runner.WithProgress(progressPrinter(cfg.progress, sc, rep)), runner.WithStepDone(stepDone))
		if err != nil {
			return res, err
		}
		mu.Lock()
		current = engine
		for i := range dead {
			engine.MarkDead(i)
		}
		if abortErr != nil {
			engine.Abort(abortErr)
		}
		mu.Unlock()
		summary, err := engine.Run(ctx)
		fmt.Fprintln(cfg.progress)
		res.reps = append(res.reps, summary)
		var circ []int
		for _, st := range summary.Steps {
			circ = append(circ, circuits.UsedBetween(st.Start, st.End))
		}
		res.circuits = append(res.circuits, circ)
		if err != nil {
			return res, err
		}
	}
	return res, stepsErr
}

func roleOf(sc *scenarios.Scenario) string {
	if sc.Target.Kind == scenarios.TargetSocks {
		return "given SocksPorts"
	}
	return string(sc.Target.Role)
}

// circuitLog writes measure.CircuitRecords as they arrive and keeps when each
// circuit was first used.
type circuitLog struct {
	mu    sync.Mutex
	f     *os.File
	used  map[string]time.Time
	built []time.Time
}

// recordCircuits watches every pool client's CIRC and STREAM events until
// ctx ends.
func recordCircuits(ctx context.Context, clients []*chutney.Client, path string) (*circuitLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l := &circuitLog{f: f, used: map[string]time.Time{}}
	for _, c := range clients {
		err := c.WatchCircuits(ctx, func(circ chutney.Circuit, at time.Time) {
			l.write(measure.CircuitRecord{Time: at.UTC(), Client: c.Name, Event: measure.CircuitBuilt, ID: circ.ID, Path: circ.Path}, func() {
				l.built = append(l.built, at)
			})
		})
		if err == nil {
			err = c.WatchStreams(ctx, func(id string, at time.Time) {
				key := c.Name + "/" + id
				l.mu.Lock()
				_, seen := l.used[key]
				l.mu.Unlock()
				if !seen {
					l.write(measure.CircuitRecord{Time: at.UTC(), Client: c.Name, Event: measure.CircuitUsed, ID: id}, func() { l.used[key] = at })
				}
			})
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *circuitLog) write(rec measure.CircuitRecord, note func()) {
	line, _ := json.Marshal(rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Write(append(line, '\n'))
	note()
}

// UsedBetween counts the circuits whose first stream opened in [from, to).
func (l *circuitLog) UsedBetween(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.used {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// Close closes the file.
func (l *circuitLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// target is what a scenario's target kind set up.
type target struct {
	network   *chutney.Network
	clients   []*chutney.Client
	endpoints []runner.Endpoint
	// metrics lists the MetricsPorts to sample, the target's first.
	metrics      []measure.MetricsEndpoint
	loopbackOnly bool
	// warnings are what went wrong setting up without stopping the run.
	warnings []string
}

// processes lists the local processes the run depends on, for the
// process sampler: every tor of an embedded network, the client pool and
// the harness itself.
func (t *target) processes() []procstat.Process {
	out := []procstat.Process{{Name: "harness", Role: "harness", PID: os.Getpid()}}
	if t.network != nil {
		for _, n := range t.network.Nodes {
			if p := n.Process(); p != nil {
				role := "relay"
				if n.Role == chutney.RoleTarget {
					role = "target"
				}
				proc := procstat.Process{Name: n.Nickname, Role: role, PID: p.PID()}
				if n.Cgroup != nil {
					proc.Cgroup = n.Cgroup // the quota's evidence
				}
				out = append(out, proc)
			}
		}
	}
	for _, c := range t.clients {
		out = append(out, procstat.Process{Name: c.Name, Role: "client", PID: c.Process.PID()})
	}
	return out
}

func (t *target) close() {
	chutney.StopClients(t.clients)
	if t.network != nil {
		t.network.Stop()
	}
}

// setUpTarget starts what the target kind needs and returns the SOCKS
// endpoints to load through. On failure everything it started is stopped.
func setUpTarget(ctx context.Context, sc *scenarios.Scenario, dir, netDir string, cfg runConfig) (_ *target, err error) {
	t := &target{}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	mode, _ := chutney.ParseClientMode(string(sc.Target.Role))
	var clientCfgs []chutney.ClientConfig
	switch sc.Target.Kind {
	case scenarios.TargetTestnet:
		opts := []chutney.Option{chutney.WithProgress(prefixWriter{cfg.progress, "  testnet: "})}
		keys := make([]string, 0, len(sc.Target.Testnet.Torrc))
		for k := range sc.Target.Testnet.Torrc {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			opts = append(opts, chutney.WithTargetTorrc(chutney.TorrcOption{Key: k, Value: sc.Target.Testnet.Torrc[k]}))
		}
		if n := sc.Target.Testnet.Nofile; n > 0 {
			opts = append(opts, chutney.WithTargetNofile(uint64(n)))
		}
		opts = append(opts, testnetShape(sc.Target.Testnet)...)
		if t.network, err = chutney.Start(ctx, filepath.Join(dir, netDir), opts...); err != nil {
			return nil, err
		}
		t.loopbackOnly = true
		t.metrics = append(t.metrics, measure.MetricsEndpoint{URL: t.network.Target().MetricsURL(), Name: t.network.Target().Nickname, Role: measure.RoleTarget})
		for i := range sc.Clients {
			port, err := chutney.FreePort()
			if err != nil {
				return nil, err
			}
			clientCfgs = append(clientCfgs, t.network.ClientConfig(fmt.Sprintf("load%d", i), mode, port))
		}
	case scenarios.TargetRelay:
		r := sc.Target.Relay
		if r.MetricsURL != "" {
			t.metrics = append(t.metrics, measure.MetricsEndpoint{URL: r.MetricsURL, Name: "relay", Role: measure.RoleTarget})
		}
		fingerprint := r.Fingerprint
		if fingerprint == "" && r.BridgeLine != "" {
			if f := strings.Fields(r.BridgeLine); len(f) > 1 {
				fingerprint = f[1]
			}
		}
		for i := range sc.Clients {
			port, err := chutney.FreePort()
			if err != nil {
				return nil, err
			}
			clientCfgs = append(clientCfgs, chutney.ClientConfig{
				Name: fmt.Sprintf("load%d", i), DataDir: filepath.Join(dir, "clients", fmt.Sprintf("load%d", i)),
				Mode: mode, Fingerprint: fingerprint, BridgeLine: r.BridgeLine, MetricsPort: port,
				DirAuthorities: cfg.dirAuthorities,
			})
		}
	case scenarios.TargetSocks:
		t.loopbackOnly = true
		for i, u := range sc.Target.Socks.MetricsURLs {
			t.metrics = append(t.metrics, measure.MetricsEndpoint{URL: u, Name: fmt.Sprintf("relay%d", i), Role: measure.RoleTarget})
		}
		for i, addr := range sc.Target.Socks.Addresses {
			t.endpoints = append(t.endpoints, runner.Endpoint{Name: fmt.Sprintf("socks%d", i), Addr: addr})
		}
		return t, nil
	}
	fmt.Fprintf(cfg.progress, "starting %d tor clients (target as %s)...\n", len(clientCfgs), mode)
	start := time.Now()
	// A client that cannot bootstrap (its bridge out of sockets, say) is
	// part of what is measured: the run goes on with the others and says
	// so, rather than failing or waiting forever.
	var failures []error
	t.clients, failures, err = chutney.StartPool(ctx, clientCfgs, chutney.PoolOptions{AllowPartial: true})
	if err != nil {
		return nil, err
	}
	for _, f := range failures {
		w := fmt.Sprintf("a tor client of the pool did not bootstrap and was left out: %s", strings.SplitN(f.Error(), "\n", 2)[0])
		t.warnings = append(t.warnings, w)
		fmt.Fprintf(cfg.progress, "warning: %v\n", f)
	}
	fmt.Fprintf(cfg.progress, "%d of %d tor clients bootstrapped in %s\n", len(t.clients), len(clientCfgs), time.Since(start).Round(100*time.Millisecond))
	for _, c := range t.clients {
		t.endpoints = append(t.endpoints, runner.Endpoint{Name: c.Name, Addr: c.SocksAddr})
		t.metrics = append(t.metrics, measure.MetricsEndpoint{URL: fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort), Name: c.Name, Role: measure.RoleClient})
	}
	return t, nil
}

// progressPrinter shows the live progress line: on a terminal it is
// rewritten in place, elsewhere (CI logs) a line every 5 s.
func progressPrinter(w io.Writer, sc *scenarios.Scenario, rep int) func(runner.Progress) {
	tty := isTerminal(w)
	var last time.Time
	unit := "streams"
	if sc.Workload.Kind == scenarios.WorkloadChurn {
		unit = "req/s"
	}
	return func(p runner.Progress) {
		line := fmt.Sprintf("rep %d/%d step %d/%d (%d %s)  %5.1fs  %7.2f MiB/s  %6d requests  %4d errors",
			rep+1, max(sc.Repetitions, 1), p.Step+1, len(sc.Ramp.Steps), p.Load, unit, p.Elapsed.Seconds(), p.MiBps, p.Requests, p.Errors)
		if tty {
			fmt.Fprintf(w, "\r%s", line)
			return
		}
		if time.Since(last) >= 5*time.Second {
			fmt.Fprintln(w, line)
			last = time.Now()
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// envSources lists the processes env.json describes: every tor of an
// embedded network (the target with its control port, so that its
// effective configuration is read), the client pool and the harness. A
// remote relay or a given SocksPort is described by what the scenario
// says; env.json then notes that the target's config was not readable.
func (t *target) envSources() []envinfo.Source {
	torPath, _ := exec.LookPath("tor")
	out := []envinfo.Source{envinfo.Harness()}
	if t.network != nil {
		for _, n := range t.network.Nodes {
			p := n.Process()
			if p == nil {
				continue
			}
			src := envinfo.Source{Name: n.Nickname, Role: envinfo.RoleRelay, PID: p.PID(), TorBinary: torPath}
			if bin, err := exec.LookPath(n.TorBinary); err == nil {
				src.TorBinary = bin // the target may run another build
			}
			if n.Role == chutney.RoleTarget {
				src.Role = envinfo.RoleTarget
			}
			if c := p.Control(); c != nil {
				src.GetInfo = envinfo.GetInfoFunc(c)
				if src.Role == envinfo.RoleTarget {
					src.GetConf = envinfo.GetConfFunc(c)
				}
			}
			out = append(out, src)
		}
	}
	for _, c := range t.clients {
		src := envinfo.Source{Name: c.Name, Role: envinfo.RoleClient, PID: c.Process.PID(), TorBinary: torPath}
		if ctl := c.Process.Control(); ctl != nil {
			src.GetInfo = envinfo.GetInfoFunc(ctl)
		}
		out = append(out, src)
	}
	return out
}
