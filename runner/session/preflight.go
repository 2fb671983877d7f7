package session

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// What a stream costs relaybench in file descriptors, and what else it
// holds open.
const (
	// fdsPerStream: the stream's connection to its SocksPort, and with the
	// built-in payload server the exit's connection to that server, both in
	// relaybench's process.
	fdsPerStream = 2
	// fdsMargin: the raw files, MetricsPort scrapes, /proc reads, the
	// payload server's listener and the runtime.
	fdsMargin = 64
	// fdsPerTor: the control connections and log of each tor process
	// relaybench starts.
	fdsPerTor = 4
	// maxOpenLoopStreams is the engine's cap on concurrent open-loop
	// requests (runner.WithMaxWorkers' default).
	maxOpenLoopStreams = 10000
	// testnetTors is the number of tor processes of the embedded network
	// besides the exits and middles: three authorities, the target, its
	// client.
	testnetTors = 5
)

// openFilesNeeded is how many file descriptors relaybench needs for sc at
// its highest load: streams × fdsPerStream plus a margin for every tor it
// starts. In the closed loop the streams are the highest ramp step; in the
// open loop (churn) as many requests as start within the request timeout
// may be open at once.
func openFilesNeeded(sc *scenarios.Scenario) (need, streams int) {
	streams = slices.Max(append([]int{0}, sc.Ramp.Steps...))
	if sc.Workload.Kind == scenarios.WorkloadChurn {
		timeout := sc.Workload.Timeout.Std()
		if timeout <= 0 {
			timeout = 60 * time.Second
		}
		streams = min(int(float64(streams)*timeout.Seconds()+0.5), maxOpenLoopStreams)
	}
	perStream := fdsPerStream
	if sc.Payload.URL != "" {
		perStream = 1 // the payload server is elsewhere
	}
	tors := sc.Clients
	if sc.Target.Kind == scenarios.TargetTestnet {
		tors += testnetTors
	}
	return streams*perStream + fdsMargin + tors*fdsPerTor, streams
}

// checkOpenFiles refuses sc before anything starts when relaybench's
// open-files limit (RLIMIT_NOFILE) cannot hold its streams: the run would
// otherwise fail part way with "too many open files" and blame the relay.
// It first raises the soft limit to the hard one, as far as that goes.
func checkOpenFiles(sc *scenarios.Scenario) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // nothing to check against; the run says so if it runs out
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return openFilesError(sc, lim.Cur, lim.Max)
}

// openFilesError is checkOpenFiles' verdict for the limits soft and hard
// (soft already raised as far as it goes).
func openFilesError(sc *scenarios.Scenario, soft, hard uint64) error {
	need, streams := openFilesNeeded(sc)
	if uint64(need) <= soft {
		return nil
	}
	return &ConfigError{fmt.Errorf("scenario %s needs about %d open files in relaybench (%d streams at its highest load, %d each, plus the tor processes and files), but relaybench's open-files limit is %d (hard limit %d): "+
		"raise it, e.g. `ulimit -n %d` in the shell that runs relaybench (above the hard limit, as root: `ulimit -Hn %d`, LimitNOFILE=%d in a systemd unit, or nofile in /etc/security/limits.conf), or lower ramp.steps",
		sc.Name, need, streams, fdsPerStream, soft, hard, need, need, need)}
}

// metricsProbeFor is how long a run waits for a MetricsPort to answer once
// before its load starts, and metricsProbeTimeout how long one try may
// take.
var (
	metricsProbeFor     = 5 * time.Second
	metricsProbeTimeout = 2 * time.Second
)

// checkMetricsPorts scrapes every MetricsPort the run samples, but for its
// own tor clients', until each answered once. One that never answers is a
// configuration error (a wrong URL, a MetricsPortPolicy that refuses
// 127.0.0.1, a relay not running), reported before the load starts: in the
// data it would read as the relay overloading.
func checkMetricsPorts(ctx context.Context, sc *scenarios.Scenario, endpoints []rundir.MetricsEndpoint) error {
	for _, m := range endpoints {
		if m.Role == rundir.RoleClient {
			continue
		}
		_, err := probeMetricsPort(ctx, m.URL)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			return &ConfigError{fmt.Errorf("the MetricsPort %s (%s) did not answer in %s, before the load started: %v: check that the relay runs with MetricsPort on that address and MetricsPortPolicy accept 127.0.0.1, or fix or remove %s",
				m.URL, m.Name, metricsProbeFor, err, metricsField(sc, m))}
		}
	}
	return nil
}

// probeMetricsPort scrapes url until it answers, for at most
// metricsProbeFor: a relay started just before the run may not listen yet.
func probeMetricsPort(ctx context.Context, url string) (metricsport.Scrape, error) {
	deadline := time.Now().Add(metricsProbeFor)
	for {
		sc, err := metricsport.ProbeScrape(ctx, url, metricsProbeTimeout)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return sc, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// metricsField names the scenario field a sampled MetricsPort came from.
func metricsField(sc *scenarios.Scenario, m rundir.MetricsEndpoint) string {
	switch {
	case m.Role == rundir.RoleOther:
		return "sampling.metrics_urls"
	case sc.Target.Kind == scenarios.TargetSocks:
		return "target.socks.metrics_urls"
	case sc.Target.Kind == scenarios.TargetRelay:
		return "target.relay.metrics_url"
	}
	return "the test network's target (see its log in the run directory)"
}
