package session

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/measure/envinfo"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// target is what a scenario's target kind set up.
type target struct {
	network   *chutney.Network
	clients   []*chutney.Client
	endpoints []runner.Endpoint
	// metrics lists the MetricsPorts to sample, the target's first.
	metrics      []rundir.MetricsEndpoint
	loopbackOnly bool
	// warnings are what went wrong setting up without stopping the run.
	warnings []string
}

// processes lists the local processes the run depends on, for the
// process sampler: every tor of an embedded network, the client pool and
// the harness itself.
func (t *target) processes() []procstat.Process {
	out := []procstat.Process{{Name: "harness", Role: rundir.RoleHarness, PID: os.Getpid()}}
	if t.network != nil {
		for _, n := range t.network.Nodes {
			if p := n.Process(); p != nil {
				role := rundir.RoleRelay
				if n.Role == chutney.RoleTarget {
					role = rundir.RoleTarget
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
		out = append(out, procstat.Process{Name: c.Name, Role: rundir.RoleClient, PID: c.Process.PID()})
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
func setUpTarget(ctx context.Context, sc *scenarios.Scenario, dir, netDir string, opts Options) (_ *target, err error) {
	t := &target{}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	mode := sc.Target.Role
	var clientCfgs []chutney.ClientConfig
	switch sc.Target.Kind {
	case scenarios.TargetTestnet:
		// The role's own options first, so that the scenario's torrc wins.
		netOpts := []chutney.Option{chutney.WithProgress(prefixWriter{opts.Progress, "  testnet: "}), chutney.WithTargetTorrc(chutney.RoleTorrc(mode)...)}
		keys := make([]string, 0, len(sc.Target.Testnet.Torrc))
		for k := range sc.Target.Testnet.Torrc {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			netOpts = append(netOpts, chutney.WithTargetTorrc(chutney.TorrcOption{Key: k, Value: sc.Target.Testnet.Torrc[k]}))
		}
		if n := sc.Target.Testnet.Nofile; n > 0 {
			netOpts = append(netOpts, chutney.WithTargetNofile(uint64(n)))
		}
		netOpts = append(netOpts, chutney.ShapeOptions(sc.Target.Testnet)...)
		if t.network, err = chutney.Start(ctx, filepath.Join(dir, netDir), netOpts...); err != nil {
			return nil, err
		}
		t.loopbackOnly = true
		t.metrics = append(t.metrics, rundir.MetricsEndpoint{URL: t.network.Target().MetricsURL(), Name: t.network.Target().Nickname, Role: rundir.RoleTarget})
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
			t.metrics = append(t.metrics, rundir.MetricsEndpoint{URL: r.MetricsURL, Name: "relay", Role: rundir.RoleTarget})
		}
		fingerprint := relayFingerprint(r)
		for i := range sc.Clients {
			port, err := chutney.FreePort()
			if err != nil {
				return nil, err
			}
			clientCfgs = append(clientCfgs, chutney.ClientConfig{
				Name: fmt.Sprintf("load%d", i), DataDir: filepath.Join(dir, "clients", fmt.Sprintf("load%d", i)),
				Mode: mode, Fingerprint: fingerprint, BridgeLine: r.BridgeLine, MetricsPort: port,
				DirAuthorities: opts.DirAuthorities, ExitNodes: r.ExitNodes, MiddleNodes: r.MiddleNodes,
			})
		}
	case scenarios.TargetSocks:
		t.loopbackOnly = true
		for i, u := range sc.Target.Socks.MetricsURLs {
			t.metrics = append(t.metrics, rundir.MetricsEndpoint{URL: u, Name: fmt.Sprintf("relay%d", i), Role: rundir.RoleTarget})
		}
		for i, addr := range sc.Target.Socks.Addresses {
			t.endpoints = append(t.endpoints, runner.Endpoint{Name: fmt.Sprintf("socks%d", i), Addr: addr})
		}
		return t, nil
	}
	fmt.Fprintf(opts.Progress, "starting %d tor clients (target as %s)...\n", len(clientCfgs), mode)
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
		fmt.Fprintf(opts.Progress, "warning: %v\n", f)
	}
	fmt.Fprintf(opts.Progress, "%d of %d tor clients bootstrapped in %s\n", len(t.clients), len(clientCfgs), time.Since(start).Round(100*time.Millisecond))
	for _, c := range t.clients {
		t.endpoints = append(t.endpoints, runner.Endpoint{Name: c.Name, Addr: c.SocksAddr})
		t.metrics = append(t.metrics, rundir.MetricsEndpoint{URL: fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort), Name: c.Name, Role: rundir.RoleClient})
	}
	return t, nil
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
			src := envinfo.Source{Name: n.Nickname, Role: rundir.RoleRelay, PID: p.PID(), TorBinary: torPath}
			if bin, err := exec.LookPath(n.TorBinary); err == nil {
				src.TorBinary = bin // the target may run another build
			}
			if n.Role == chutney.RoleTarget {
				src.Role = rundir.RoleTarget
			}
			if c := p.Control(); c != nil {
				src.GetInfo = envinfo.GetInfoFunc(c)
				if src.Role == rundir.RoleTarget {
					src.GetConf = envinfo.GetConfFunc(c)
				}
			}
			out = append(out, src)
		}
	}
	for _, c := range t.clients {
		src := envinfo.Source{Name: c.Name, Role: rundir.RoleClient, PID: c.Process.PID(), TorBinary: torPath}
		if ctl := c.Process.Control(); ctl != nil {
			src.GetInfo = envinfo.GetInfoFunc(ctl)
		}
		out = append(out, src)
	}
	return out
}
