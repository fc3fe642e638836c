// Package conformance is the shared test suite of mailferry's stores. It
// knows no store: a store package's tests describe their store as a Store
// (constructors of its sink and source, and the changes it makes to what
// it holds) and call the suite with it, as restic's backends call
// backend/test and rclone's call fstests. The descriptions live in small
// test-only packages next to the stores (sink/maildir/maildirtest,
// sink/mbox/mboxtest, sink/imap/imaptest, source/pop3/pop3test), so a
// store's tests can pair it with another.
//
// Chain is the round trip: it fills a store with a corpus through the
// sink's Put, copies it with transfer.Run into another store, reads the
// destination back through the matching source and checks that every
// message arrived exactly once with its bytes, flags, keywords and arrival
// date (to the second), then that re-runs (same state, state lost, no
// journal) copy and duplicate nothing. Fill, ReadAll, Diff, DiffSubset and
// CheckIndex are its pieces, for tests that need another shape.
//
// Bytes must be identical between local stores. Where a network store sits in
// the chain, the expected bytes follow the documented line-ending rule: a
// network store holds CRLF, a local store that receives network-form mail
// holds LF (see transfer.Message.CRLF).
//
// Identity is the identity property for one source/sink pair: generated
// folders with planted collisions (IdentityCorpus), a destination pre-filled
// with part of the mail (Prefill), and every way a user re-runs, each run
// planned by a dry run first. After each run the destination holds the
// source's messages as a multiset by formats.ContentDigest; the dry run's
// counts per folder are what the run copies. MAILFERRY_SOAK=1 runs more
// seeds over larger folders.
//
// DiskFull, CheckError and CheckConsistent serve the failing-destination
// and malformed-input tests. The crash tests (crash_test.go: a child copy
// SIGKILLed at random moments, MAILFERRY_CRASH_SEED replays a schedule) and
// the campaigns against the binary (campaign_test.go) are this package's
// own tests; they name their stores through the store packages'
// descriptions, which is why Store is defined in package kind.
package conformance
