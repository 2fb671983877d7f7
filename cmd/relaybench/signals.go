package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that stop a run the way Ctrl-C does: what
// was measured is kept, analysed and reported. SIGHUP is what a closed ssh
// session or terminal sends; SIGTERM what kill and service managers send.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalCause is the cause of a context ended by one of stopSignals.
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return fmt.Sprintf("interrupted by %v", c.sig) }

// Is makes a signal cause match context.Canceled, like Ctrl-C's.
func (c signalCause) Is(target error) bool { return target == context.Canceled }

// signalContext returns a context canceled, with a signalCause, by the
// first of stopSignals. Later ones are caught too and ignored until stop
// is called, so that a second signal cannot cut short the writing of what
// was measured (a run stops within a second of the first).
func signalContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if sig, ok := s.(syscall.Signal); ok {
					cancel(signalCause{sig})
				} else {
					cancel(signalCause{syscall.SIGINT})
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// signalOf returns the signal that ended ctx, if one did.
func signalOf(ctx context.Context) (syscall.Signal, bool) {
	var c signalCause
	if errors.As(context.Cause(ctx), &c) {
		return c.sig, true
	}
	return 0, false
}
