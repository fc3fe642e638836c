package maildir

import "testing"

// FailDataSync makes the n-th data sync of s (1 is the first) fail with
// err after syncing, as a writeback error comes back, for the tests of
// what transfer.Run journals then.
func FailDataSync(t *testing.T, s *Sink, n int, err error) {
	s.syncer = &recordingSyncer{t: t, inner: s.syncer, failOn: n, err: err}
}
