package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// A signal that comes after the command has returned, but before the
// handler is released, is still answered: release returns it, so the
// exit code is 143 and not 0. Without one, release returns nil.
func TestReleaseReturnsALateSignal(t *testing.T) {
	// The test's own handler keeps the test process alive whatever
	// release does, and tells when the signal has been delivered.
	delivered := make(chan os.Signal, 1)
	signal.Notify(delivered, syscall.SIGTERM)
	defer signal.Stop(delivered)
	exited := -1
	ctx, release := stopOnSignal(context.Background(), io.Discard, func(code int) { exited = code })
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM was not delivered")
	}
	late := release()
	if late == nil || late.sig != syscall.SIGTERM || late.exitCode() != 143 {
		t.Fatalf("release after a SIGTERM returned %v", late)
	}
	if context.Cause(ctx) == nil {
		t.Error("the context was not cancelled")
	}
	if exited != -1 {
		t.Errorf("one signal ended the process with %d", exited)
	}

	_, release = stopOnSignal(context.Background(), io.Discard, func(code int) { exited = code })
	if late := release(); late != nil {
		t.Errorf("release without a signal returned %v", late)
	}
}
