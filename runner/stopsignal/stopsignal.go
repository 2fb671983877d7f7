// Package stopsignal owns how relaybench is stopped from outside: the
// signals that stop a run the way Ctrl-C does (what was measured is kept,
// analysed and reported), and a context that those signals cancel with a
// cause naming the signal, so that the command can exit 128 + its number.
package stopsignal

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// Signals are the signals that stop a run the way Ctrl-C does. SIGHUP is
// what a closed ssh session or terminal sends; SIGTERM what kill and
// service managers send.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// cause is the cause of a context ended by one of Signals.
type cause struct{ sig syscall.Signal }

func (c cause) Error() string { return "interrupted by " + Name(c.sig) }

// names are the signals of Signals as the user sent them: Go's own
// descriptions read "interrupted by terminated".
var names = map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP"}

// Name is how messages name a signal: SIGINT, SIGTERM or SIGHUP, others
// by Go's description.
func Name(sig syscall.Signal) string {
	if n, ok := names[sig]; ok {
		return n
	}
	return sig.String()
}

// Is makes a signal cause match context.Canceled, like Ctrl-C's.
func (c cause) Is(target error) bool { return target == context.Canceled }

// Context returns a context canceled, with a cause naming the signal, by
// the first of Signals. Later ones are caught too and ignored until stop
// is called, so that a second signal cannot cut short the writing of what
// was measured (a run stops within a second of the first).
func Context() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, Signals...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if sig, ok := s.(syscall.Signal); ok {
					cancel(cause{sig})
				} else {
					cancel(cause{syscall.SIGINT})
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

// Notify returns a context canceled by the first of Signals, as
// signal.NotifyContext does: a second one is not caught, so it stops the
// process at once (for commands that have nothing to write on the way out).
func Notify() (ctx context.Context, stop func()) {
	return signal.NotifyContext(context.Background(), Signals...)
}

// Of returns the signal that ended ctx (a context of Context), if one did.
func Of(ctx context.Context) (syscall.Signal, bool) {
	var c cause
	if errors.As(context.Cause(ctx), &c) {
		return c.sig, true
	}
	return 0, false
}

// Interrupted is the error of a command that Signal stopped after it kept
// what it had done; the command exits 128 + Signal, as a shell reports a
// process killed by it.
type Interrupted struct {
	Signal syscall.Signal
	Err    error
}

func (e *Interrupted) Error() string { return e.Err.Error() }
func (e *Interrupted) Unwrap() error { return e.Err }
