package chutney

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// StartClients starts one client per configuration in parallel and waits
// until every one is bootstrapped. tor is mostly single-threaded, so a pool
// of clients keeps the load generator from capping the load before the
// relay does. If any client fails, all of them are stopped and the error
// names it.
func StartClients(ctx context.Context, cfgs []ClientConfig) ([]*Client, error) {
	clients, _, err := StartPool(ctx, cfgs, PoolOptions{})
	return clients, err
}

// Default bounds of StartPool.
const (
	DefaultBootstrapTimeout = 2 * time.Minute
	DefaultStragglerTimeout = 30 * time.Second
)

// PoolOptions tune StartPool.
type PoolOptions struct {
	// BootstrapTimeout bounds the wait for the whole pool; 0 means
	// DefaultBootstrapTimeout. Without a bound, a client that can never
	// connect (its bridge out of sockets, say) would hold the run forever.
	BootstrapTimeout time.Duration
	// StragglerTimeout is how much longer the other clients get once one
	// has bootstrapped; 0 means DefaultStragglerTimeout. Clients of one
	// pool reach the same relay, so they bootstrap within seconds of each
	// other unless something refuses them.
	StragglerTimeout time.Duration
	// AllowPartial keeps the clients that bootstrapped when others did
	// not: those are stopped and returned as failures instead of failing
	// the pool, as long as at least one client is ready.
	AllowPartial bool
}

// StartPool starts one client per configuration in parallel and waits
// until they are bootstrapped, within opts' bounds. It returns the ready
// clients in configuration order (without the failed ones when
// opts.AllowPartial), the failures, and an error when the pool as a whole
// failed; then every client it started is stopped.
func StartPool(ctx context.Context, cfgs []ClientConfig, opts PoolOptions) (ready []*Client, failures []error, err error) {
	if opts.BootstrapTimeout <= 0 {
		opts.BootstrapTimeout = DefaultBootstrapTimeout
	}
	if opts.StragglerTimeout <= 0 {
		opts.StragglerTimeout = DefaultStragglerTimeout
	}
	wctx, cancel := context.WithTimeoutCause(ctx, opts.BootstrapTimeout,
		fmt.Errorf("not bootstrapped within %s", opts.BootstrapTimeout))
	defer cancel()
	var (
		once      sync.Once
		straggler *time.Timer
	)
	stragglerCtx, stopStragglers := context.WithCancelCause(wctx)
	defer stopStragglers(nil)
	clients := make([]*Client, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() {
			c, err := StartClient(wctx, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			if err := c.WaitBootstrapped(stragglerCtx); err != nil {
				errs[i] = err
				return
			}
			once.Do(func() {
				straggler = time.AfterFunc(opts.StragglerTimeout, func() {
					stopStragglers(fmt.Errorf("still not bootstrapped %s after the first client of the pool was", opts.StragglerTimeout))
				})
			})
		})
	}
	wg.Wait()
	if straggler != nil {
		straggler.Stop()
	}
	for i, e := range errs {
		if e == nil {
			ready = append(ready, clients[i])
			continue
		}
		failures = append(failures, e)
		if clients[i] != nil {
			clients[i].Stop()
		}
	}
	switch {
	case len(failures) == 0:
		return ready, nil, nil
	case opts.AllowPartial && len(ready) > 0 && ctx.Err() == nil:
		return ready, failures, nil
	}
	StopClients(ready)
	return nil, failures, fmt.Errorf("start %d tor clients: %w", len(cfgs), errors.Join(failures...))
}

// StopClients stops every non-nil client, in parallel.
func StopClients(clients []*Client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(c.Stop)
		}
	}
	wg.Wait()
}
