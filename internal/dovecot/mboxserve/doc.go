// Package mboxserve holds the proof that an mbox directory written by
// sink/mbox reads back as the original mail in programs that are not
// mailferry: Python's mailbox module, mutt, and Dovecot's mbox driver
// serving the directory over IMAP with the configuration the README gives.
// It has no code of its own, only tests, kept apart from package dovecot so
// the harness does not depend on the sink.
package mboxserve
