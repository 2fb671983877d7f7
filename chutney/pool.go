package chutney

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// StartClients starts one client per configuration in parallel and waits
// until every one is bootstrapped. tor is mostly single-threaded, so a pool
// of clients keeps the load generator from capping the load before the
// relay does. If any client fails, all of them are stopped and the error
// names it.
func StartClients(ctx context.Context, cfgs []ClientConfig) ([]*Client, error) {
	clients := make([]*Client, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() {
			c, err := StartClient(ctx, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			if err := c.WaitBootstrapped(ctx); err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		StopClients(clients)
		return nil, fmt.Errorf("start %d tor clients: %w", len(cfgs), err)
	}
	return clients, nil
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
