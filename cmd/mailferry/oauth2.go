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
// attempt failed does the run stop. On a reconnect the command's stderr is
// collected and shown once per outage, not once per attempt and
// connection, so a helper that complains on every try does not flood a
// log.
type tokenCommand struct {
	flag    string // "--source-oauth2-token-command", for messages
	cmdline string
	env     []string // the command's environment: secretCommandEnv
	stderr  io.Writer
	warn    func(string)

	mu       sync.Mutex
	issued   bool // a token was given before: later calls are reconnects
	shownErr bool // its stderr was shown since the last token
}

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
	// The command has no --timeout of its own; the default only bounds
	// how long the attempts may take together.
	tok, err := openWithRetry(ctx, tc.flag+" (getting a token for a new connection)", tc.warn, defaultTimeout, func() (string, error) {
		var errOut bytes.Buffer
		tok, err := runSecretCommand(ctx, tc.cmdline, tc.env, &errOut)
		if err != nil {
			tc.failed(errOut.Bytes())
			return "", transfer.TemporaryError(err)
		}
		tc.stderr.Write(errOut.Bytes())
		return tok, nil
	})
	if err != nil {
		return "", fmt.Errorf("%s, on reconnecting: %w", tc.flag, err)
	}
	tc.succeeded()
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
