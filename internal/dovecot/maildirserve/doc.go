// Package maildirserve holds the proof that a Maildir written by
// sink/maildir is a Maildir Dovecot serves as it is: folders (nested,
// non-ASCII, with escaped characters), flags and keywords, arrival dates
// and message bytes. It has no code of its own, only tests, kept apart from
// package dovecot so the harness does not depend on the sink.
package maildirserve
