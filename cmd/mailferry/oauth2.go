package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/transfer"
)

// tokenCommand runs an --X-oauth2-token-command for every new connection.
//
// Until it has given a token once, a failure is final: the command is
// wrong or cannot work here, and the run stops before it starts, with the
// command's stderr passed through as it writes it (it may ask for a
// passphrase). Once a token was issued, the connections that follow are
// reconnects in a running copy, and a failing or silent command there is
// most likely an identity provider out for a few seconds: it is tried
// again with the same backoff as opening an endpoint, and only when every
// attempt failed does the run stop.
//
// One outage is retried by one caller at a time: other connections that
// need a token meanwhile wait for its end rather than each retrying (and
// warning) on its own, then get a token of their own, or fail with the
// same error. On a reconnect the command's stderr is collected and shown
// once per outage, not once per attempt and connection, so a helper that
// complains on every try does not flood a log.
type tokenCommand struct {
	flag    string // "--source-oauth2-token-command", for messages
	cmdline string
	env     []string // the command's environment: secretCommandEnv
	stderr  io.Writer
	warn    func(string)

	mu       sync.Mutex
	issued   bool         // a token was given before: later calls are reconnects
	shownErr bool         // its stderr was shown since the last token
	outage   *tokenOutage // the retries under way, if any
}

// tokenOutage is one caller's retries of a failing command.
type tokenOutage struct {
	done chan struct{} // closed when the retries have ended
	err  error         // their final error, set before done is closed
}

// maxOutageWaits bounds how often one reconnect waits for another's
// retries, so a provider that keeps failing and recovering cannot hold a
// connection forever.
const maxOutageWaits = 3

// Token returns a fresh token; it is account.Credentials.OAuth2Token.
func (tc *tokenCommand) Token(ctx context.Context) (string, error) {
	tc.mu.Lock()
	reconnect := tc.issued
	tc.mu.Unlock()
	if !reconnect {
		tok, err := runSecretCommand(ctx, tc.cmdline, tc.env, tc.stderr)
		if err != nil {
			return "", fmt.Errorf("%s: %w", tc.flag, err)
		}
		tc.succeeded()
		return tok, nil
	}
	tok, err := tc.reconnectToken(ctx)
	if err != nil {
		return "", fmt.Errorf("%s, on reconnecting: %w", tc.flag, err)
	}
	tc.succeeded()
	return tok, nil
}

// reconnectToken gets a token on a reconnect: at once when the command
// works, else after the retries of the current outage, which it leads when
// no other caller does.
func (tc *tokenCommand) reconnectToken(ctx context.Context) (string, error) {
	var err error
	for range maxOutageWaits {
		tc.mu.Lock()
		o := tc.outage
		tc.mu.Unlock()
		if o != nil {
			select {
			case <-o.done:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if o.err != nil {
				return "", o.err
			}
		}
		var tok string
		if tok, err = tc.attempt(ctx); err == nil {
			return tok, nil
		}
		tc.mu.Lock()
		if tc.outage != nil {
			// Another caller found the outage first: wait for its retries.
			tc.mu.Unlock()
			continue
		}
		o = &tokenOutage{done: make(chan struct{})}
		tc.outage = o
		tc.mu.Unlock()

		first := err
		// The command has no --timeout of its own; the default only bounds
		// how long the attempts may take together.
		tok, err = openWithRetry(ctx, tc.flag+" (getting a token for a new connection)", tc.warn, defaultTimeout, func() (string, error) {
			if first != nil {
				// The attempt that found the outage counts as the first.
				err := first
				first = nil
				return "", err
			}
			return tc.attempt(ctx)
		})
		tc.mu.Lock()
		o.err = err
		tc.outage = nil
		close(o.done)
		tc.mu.Unlock()
		return tok, err
	}
	return "", err
}

// attempt runs the command once on a reconnect, its stderr collected: a
// failure is Temporary and shows the stderr unless this outage showed it.
func (tc *tokenCommand) attempt(ctx context.Context) (string, error) {
	var errOut bytes.Buffer
	tok, err := runSecretCommand(ctx, tc.cmdline, tc.env, &errOut)
	if err != nil {
		tc.failed(errOut.Bytes())
		return "", transfer.TemporaryError(err)
	}
	tc.stderr.Write(errOut.Bytes())
	return tok, nil
}

func (tc *tokenCommand) succeeded() {
	tc.mu.Lock()
	tc.issued, tc.shownErr = true, false
	tc.mu.Unlock()
}

// failed records a failed attempt on a reconnect and shows the command's
// stderr, unless it was shown already during this outage.
func (tc *tokenCommand) failed(errOut []byte) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	text := strings.TrimRight(string(errOut), "\r\n")
	if tc.shownErr || text == "" {
		return
	}
	tc.shownErr = true
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(tc.stderr, "%s: %s\n", tc.flag, line)
	}
}
