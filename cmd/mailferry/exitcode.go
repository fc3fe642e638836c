package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

// Exit codes, as documented in the README ("Exit codes").
const (
	exitOK          = 0   // done
	exitFailed      = 1   // connection, authentication, fatal I/O, a locked state file
	exitUsage       = 2   // usage or configuration error
	exitPartial     = 3   // finished, but some messages failed
	exitMonitoring  = 4   // done, but the metrics or the report could not be written (or pushed)
	exitInterrupted = 130 // SIGINT (128 + 2)
	exitTerminated  = 143 // SIGTERM (128 + 15)
)

// usageError is a mistake on the command line or in the configuration: the
// run did not start. Exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errInterrupted marks a run stopped by a signal; the *signalError that
// says which one is errInterrupted too.
var errInterrupted = errors.New("interrupted")

// partialError means the run finished but some messages failed; the
// failures were already reported one by one.
type partialError struct{ failed int }

func (e *partialError) Error() string {
	return fmt.Sprintf("%s failed (listed above); everything else was copied. A re-run retries only the failed ones", plural.Count(e.failed, "message"))
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var ue *usageError
	var pe *partialError
	var se *signalError
	var me *monitoringError
	var je *jobsFailedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &je):
		return je.code
	case errors.As(err, &se):
		return se.exitCode()
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue), errors.Is(err, transfer.ErrSameMailbox):
		return exitUsage
	case errors.As(err, &pe):
		return exitPartial
	case errors.As(err, &me):
		return exitMonitoring
	case errors.Is(err, transfer.ErrLocked):
		return exitFailed
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitFailed
	}
}
