// Package imapconn is the IMAP connection code shared by source/imap and
// sink/imap: dialing with implicit TLS, STARTTLS or (when asked) plaintext,
// certificate verification with advice when it fails, login (LOGIN,
// AUTHENTICATE PLAIN, XOAUTH2, OAUTHBEARER), a watchdog per command (go-imap
// has no response timeout), classification of errors into the
// transfer classes, a pool of connections that reconnects after any
// protocol error, and the mapping between transfer folder names
// ("/"-separated UTF-8, "INBOX") and the server's names (its hierarchy
// delimiter and personal namespace prefix).
package imapconn
