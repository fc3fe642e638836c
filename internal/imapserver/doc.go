// Package imapserver runs an in-process IMAP server on 127.0.0.1 for
// `mailferry demo` and tests: go-imap's imapserver speaks the protocol and
// this package keeps the mail, in memory, the way a faithful server does:
// BODY[] (and RFC822) is the appended bytes exactly, whatever they are, and
// keywords keep their spelling (compared case-insensitively). Other body
// sections, ENVELOPE and BODYSTRUCTURE come from go-imap's parser. It adds
// special-use attributes in LIST, an optional "." delimiter with an "INBOX."
// personal prefix (as Courier and some Dovecot setups have), optional TLS
// with a self-signed certificate, and misbehaviour for tests (UID sent after
// the body literal, altered bodies, partial APPENDs kept).
package imapserver
