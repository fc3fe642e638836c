package imapserver

import "testing"

// StartTest starts a server for a test, fails the test if it cannot, and
// closes the server when the test ends.
func StartTest(t testing.TB, opts Options) *Server {
	t.Helper()
	srv, err := Start(opts)
	if err != nil {
		t.Fatalf("imapserver: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}
