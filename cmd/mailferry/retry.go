package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

// openRetryDelays are the waits before each new attempt to open a server
// endpoint that failed with a temporary error. A POP3 server keeps a
// maildrop locked ([IN-USE]) until it notices that the previous session's
// client is gone, which after a killed run takes a few seconds.
var openRetryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// openSilentAttempts is how many times a server that accepts connections
// but does not answer within the timeout is tried. Such a server is nearly
// always the wrong port or scheme (a TLS port spoken to in plaintext waits
// for a handshake that never comes), which no retry mends; a second try
// covers a server that was only overloaded once.
const openSilentAttempts = 2

// defaultTimeout is --timeout's default: how long a server may keep us
// waiting for a connection, the greeting, or the answer to one command.
const defaultTimeout = 60 * time.Second

// openWithRetry calls open until it succeeds, fails with an error that is
// not transfer.Temporary, or the retries run out. what names the endpoint in
// the warnings; timeout is the --timeout each attempt is bounded by.
//
// The total time is bounded too. A server that does not answer is tried
// openSilentAttempts times with no delay between (each try has waited the
// whole timeout), so it fails within --timeout × openSilentAttempts. And
// no attempt starts that could end later than openBudget after the first.
func openWithRetry[T any](ctx context.Context, what string, warn func(string), timeout time.Duration, open func() (T, error)) (T, error) {
	start := time.Now()
	budget := openBudget(timeout)
	silent := 0
	for attempt := 0; ; attempt++ {
		v, err := open()
		if err == nil || transfer.ClassOf(err) != transfer.Temporary {
			return v, err
		}
		delay := openRetryDelays[min(attempt, len(openRetryDelays)-1)]
		if errors.Is(err, account.ErrNoAnswer) {
			// The attempt has waited the whole timeout already.
			silent++
			delay = 0
		}
		tries := fmt.Sprintf("tried %s in %s", plural.Count(attempt+1, "time"), time.Since(start).Round(100*time.Millisecond))
		if attempt == len(openRetryDelays) || silent >= openSilentAttempts {
			return v, fmt.Errorf("%w (%s)", err, tries)
		}
		if time.Since(start)+delay+timeout > budget {
			return v, fmt.Errorf("%w (%s; one more would take longer than %s)", err, tries, budget)
		}
		if warn != nil {
			again := "trying again now"
			if delay > 0 {
				again = "trying again in " + delay.String()
			}
			warn(fmt.Sprintf("%s: %v; %s", what, err, again))
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(delay):
		}
	}
}

// openBudget is the longest openWithRetry may take: every attempt its full
// timeout, and every delay.
func openBudget(timeout time.Duration) time.Duration {
	total := timeout * time.Duration(len(openRetryDelays)+1)
	for _, d := range openRetryDelays {
		total += d
	}
	return total
}

// openError describes an endpoint that could not be opened; a server that
// never answered gets advice on what that usually means.
func openError(role string, ep Endpoint, err error) error {
	if errors.Is(err, account.ErrNoAnswer) {
		proto := "pop3"
		if ep.IsIMAP() {
			proto = "imap"
		}
		return fmt.Errorf("%s %s: %w; the server accepted the connection but did not answer: %s",
			role, ep, err, account.NoAnswerHint(proto, ep.Security))
	}
	return fmt.Errorf("%s %s: %w", role, ep, err)
}
