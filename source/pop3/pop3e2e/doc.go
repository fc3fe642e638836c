// Package pop3e2e holds the end-to-end tests of the POP3 source: transfer.Run
// from a POP3 maildrop (the in-process server of internal/pop3server, and
// Dovecot's POP3 when it is installed) into the mbox, Maildir and IMAP
// sinks, with re-runs, lost state, --delete-source under SIGKILL, and
// servers that stall, drop the connection or answer [IN-USE].
//
// It is a package of its own so the source's unit tests do not depend on
// the sinks.
package pop3e2e
