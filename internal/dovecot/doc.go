// Package dovecot runs a private Dovecot IMAP and POP3 server on 127.0.0.1
// for tests and benchmarks, so sources and sinks are exercised against the
// server most people actually run, not only against our in-process fakes.
//
// Each server gets its own directory (configuration, sockets, state, log,
// TLS certificate, mail), random free ports, and the static users it was
// given. Mail is Maildir++ with the listescape plugin, so a folder level
// holding '.', '/' or '\' is stored as \2e, \2f or \5c: the same layout
// sink/maildir writes, which lets a test point Dovecot at a backup and serve
// it as it is.
//
// Tests call Start, which skips the test when the dovecot binary is missing
// (unless MAILFERRY_REQUIRE_DOVECOT=1) and stops the server when the test
// ends. Programs that are not tests (benchmarks) use Launch and Close.
package dovecot
