package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// signalError is the cause of a run stopped by a signal; it is
// errInterrupted and maps to the exit code 128 + the signal's number
// (130 for SIGINT, 143 for SIGTERM), as shells report a process killed by
// that signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string {
	return "interrupted by " + signalName(e.sig)
}

func (e *signalError) Is(target error) bool { return target == errInterrupted }

func (e *signalError) exitCode() int { return 128 + int(e.sig) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// stopOnSignal returns a context that the first SIGINT or SIGTERM cancels
// with a *signalError cause: the run then stops cleanly (the message in
// flight is finished or abandoned, what is durable is journaled, the
// summary is printed, locks are released). A second signal ends the
// process at once through exit, with the second signal's exit code; that
// is safe too, as the journal records only what the destination holds.
//
// The handler stays installed until release, also for the second signal:
// restoring the default disposition instead would bring back SIG_IGN for a
// process started with SIGINT ignored (a background job of a
// non-interactive shell, nohup), and the second Ctrl-C would do nothing.
//
// release stops the handling and returns the signal that came before it,
// nil if none: also one that came after the command had finished and
// checked its context, and one still waiting in the channel. So no signal
// is lost between the end of the work and the exit: one before release is
// answered with its exit code, one after it ends the process the default
// way.
func stopOnSignal(parent context.Context, stderr io.Writer, exit func(int)) (ctx context.Context, release func() *signalError) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(parent)
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case s := <-ch:
			cancel(&signalError{sig: s.(syscall.Signal)})
		case <-done:
			return
		}
		select {
		case s := <-ch:
			second := &signalError{sig: s.(syscall.Signal)}
			fmt.Fprintf(stderr, "mailferry: %s again: stopping at once; what the state file records is safe, run the same command again to continue\n", signalName(second.sig))
			exit(second.exitCode())
		case <-done:
		}
	}()
	return ctx, func() *signalError {
		signal.Stop(ch) // from here no signal reaches ch
		close(done)
		<-ended
		first, _ := context.Cause(ctx).(*signalError)
		if first == nil {
			select {
			case s := <-ch: // came while the goroutine was ending
				first = &signalError{sig: s.(syscall.Signal)}
			default:
			}
		}
		cancel(nil)
		return first
	}
}

// interruption is the error of a run that ctx stopped: the signal that
// did it, or errInterrupted.
func interruption(ctx context.Context) error {
	if se, ok := context.Cause(ctx).(*signalError); ok {
		return se
	}
	return errInterrupted
}
