// Package conformance is the shared test suite every source/sink pair runs:
// it fills a store with a corpus through the sink's Put, copies it with
// transfer.Run into another store, reads the destination back through the
// matching source and checks that every message arrived exactly once with
// its bytes, flags, keywords and arrival date (to the second).
//
// Bytes must be identical between local stores. Where a network store sits in
// the chain, the expected bytes follow the documented line-ending rule: a
// network store holds CRLF, a local store that receives network-form mail
// holds LF (see transfer.Message.CRLF).
//
// Chain runs the whole round trip, including the re-run checks (a second
// run copies nothing; a run after the state file is lost copies and
// duplicates nothing). Fill, ReadAll, Diff and CheckIndex are the
// pieces, for tests that need a different shape (crash tests, malformed
// input, servers).
//
// Store kinds: Maildir, MaildirFS, MboxDir and MboxFile for the local
// stores; IMAP (the in-process server) and Dovecot (a real one, skipped when
// it is not installed) for network stores, with the changes each server is
// documented to make (Store.Body, Store.FolderName).
//
// The crash tests re-execute the test binary (TestCrashChild) and SIGKILL it
// at random moments; MAILFERRY_CRASH_SEED replays a schedule.
package conformance
