// Package servertest starts the in-process IMAP server for tests. It is a
// package of its own so that "testing" stays out of the mailferry binary,
// which links internal/imapserver for its demo.
package servertest

import (
	"testing"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// Start starts a server for a test, fails the test if it cannot, and
// closes the server when the test ends.
func Start(t testing.TB, opts imapserver.Options) *imapserver.Server {
	t.Helper()
	srv, err := imapserver.Start(opts)
	if err != nil {
		t.Fatalf("imapserver: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}
