// Package e2e holds end-to-end tests of the IMAP source and sink through
// transfer.Run: IMAP to IMAP, to and from local archives, against the
// in-process server and Dovecot, with faults injected by a proxy.
package e2e
