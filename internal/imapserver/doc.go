// Package imapserver runs an in-process IMAP server on 127.0.0.1 for
// `mailferry demo` and tests: go-imap's imapmemserver underneath, with
// special-use attributes in LIST (which imapmemserver does not keep), an
// optional "." delimiter with an "INBOX." personal prefix (as Courier and
// some Dovecot setups have), optional TLS with a self-signed certificate,
// and misbehaviour for tests (UID sent after the body literal).
package imapserver
