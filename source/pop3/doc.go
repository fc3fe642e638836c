// Package pop3 is the transfer.Source for a POP3 maildrop (pop3:// with
// STLS, pop3s:// with implicit TLS): one folder, INBOX, with messages
// deleted only when transfer.Run says they are durable and journaled.
//
// # Sessions
//
// A server that lets several sessions read one maildrop (Dovecot does
// unless pop3_lock_session is set) gets up to four at once (pool.go), one
// per concurrent Fetch of transfer's chunks, so the RETRs of different
// chunks, and the server processes answering them, run side by side. A
// further session is opened only while every open one is busy, one at a
// time, and only when CAPA lists UIDL; it is used only if it lists the
// maildrop exactly as the open ones do (then the listing is shared, not
// held once per session). A server that refuses it ([IN-USE], a connection
// limit), or one that lists differently (mail arrived meanwhile), leaves
// the source with the sessions it has: the chunks then take turns. Delete
// marks and QUITs on one session and ends the idle others with QUIT,
// marking nothing in them.
//
// # What comes from github.com/knadh/go-pop3, and what does not
//
// STAT, LIST, UIDL, TOP, DELE and QUIT run on go-pop3. RETR does not
// (retr.go): go-pop3's RetrRaw collects the whole message into a buffer
// (a 20 MB message is about 90 MB of allocations) and waits a round trip
// per message. Fetch instead writes the RETRs itself on the same
// connection, up to 32 ahead when the server offers PIPELINING (RFC 2449),
// and streams each answer through one 64 KiB buffer, removing the
// byte-stuffing as go-pop3 does (a line "..x" becomes ".x", a line ".."
// becomes ".", the lone "." ends the message, line ends become CRLF; a fuzz
// test holds the two to the same bytes). A connection lost in the middle
// of a pipeline delivers the messages answered whole and no other; the
// next session fetches the rest.
//
// Around it:
//   - Deadlines. go-pop3 sets none, so a silent server would hang a RETR
//     forever. The connection it gets is a deadlineConn that gives every
//     Read and Write its own deadline (Options.Timeout) and remembers the
//     first I/O error. go-pop3 returns -ERR replies and broken connections
//     alike as plain errors; that remembered error is how they are told
//     apart (errors.go).
//   - The AUTHORIZATION state is done here (handshake.go), not by go-pop3,
//     which has no CAPA, no STLS, no SASL, and writes user name and password
//     into the command line unchecked. The greeting, CAPA, STLS with the
//     caller's tls.Config (RFC 2595), and the login (XOAUTH2/OAUTHBEARER with
//     a token fetched for every connection, SASL PLAIN, or USER/PASS) happen
//     on the connection first; then go-pop3 gets it through a Dialer that
//     replays the greeting. Implicit TLS also uses the caller's tls.Config
//     rather than go-pop3's TLSEnabled, which cannot take one.
//   - Typed errors. A -ERR reply becomes a *ServerError with its RFC 2449 /
//     RFC 3206 response code, classified for transfer: [IN-USE],
//     [LOGIN-DELAY] and [SYS/TEMP] are temporary; [AUTH], [SYS/PERM] and a
//     refused login without a code are fatal (naming server and user, so a
//     wrong password is not retried into a lockout); a RETR or DELE refused
//     without a code is a per-message error. Connection failures and
//     timeouts are temporary.
//
// Only the identification of messages on a server without UIDL that also
// refuses TOP still reads a whole message with RetrRaw.
//
// # Identity, dates, flags
//
// Message.ID is the UIDL. A server without UIDL gets a warning, and each
// message is identified by a hash of its header block (read with TOP n 0,
// or RETR when TOP is refused) and its LIST size; identical copies get
// "#2", "#3" by order. That reads every header on every run.
//
// POP3 has no arrival date. List leaves Date zero (it would otherwise have
// to read every header on every run, with one round trip each); Fetch sets
// the Date of the Message it passes on from the message itself: the topmost
// Received: field's date, else Date:, else zero (MessageDate). Sinks write
// that date into mbox From_ lines and Maildir mtimes. Date filters
// (--since/--before) therefore see an unknown date at plan time. POP3 has
// no flags either: every message arrives unseen.
//
// # Deleting
//
// Delete sends DELE for the messages it is given and then QUIT, which is
// the moment the server deletes them; a crash or a dropped connection
// before that deletes nothing, and the next run sees the messages again.
// Delete ends the sessions; any call after it logs in again and maps
// messages by UIDL afresh, since message numbers change between sessions.
package pop3
