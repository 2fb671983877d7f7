package stopsignal

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestContext: a stop signal cancels the context with a cause that names
// it and matches context.Canceled; a second one is caught, not fatal.
func TestContext(t *testing.T) {
	ctx, stop := Context()
	defer stop()
	if _, ok := Of(ctx); ok {
		t.Fatal("Of names a signal before any arrived")
	}
	for range 2 {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not cancel the context")
	}
	sig, ok := Of(ctx)
	if !ok || sig != syscall.SIGHUP {
		t.Errorf("Of = %v, %v; want SIGHUP", sig, ok)
	}
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) || err.Error() != "interrupted by SIGHUP" {
		t.Errorf("cause %q: want one matching context.Canceled saying interrupted by SIGHUP", err)
	}
}

// TestOfOtherCancel: a context ended otherwise names no signal.
func TestOfOtherCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sig, ok := Of(ctx); ok {
		t.Errorf("Of(canceled) = %v, want none", sig)
	}
}
