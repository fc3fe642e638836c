// Package mbox is the mailferry sink that writes mbox files: one file
// holding one folder, or a directory holding a file per folder in the
// layout Dovecot's mbox driver serves (mail_location =
// mbox:DIR:INBOX=DIR/INBOX): "INBOX" is the file INBOX, "Archive/2019" the
// file Archive/2019, names in modified UTF-7 (see formats.MboxDovecotPath).
// A directory written by an older version, with <folder>.mbox files, keeps
// that layout (formats.MboxFolderPath).
//
// Messages are written as formats.MboxWriter writes them: plain mboxrd with
// the flags in Status, X-Status and X-Keywords, which mutt, Dovecot and
// Python's mailbox read back as the original message. Messages that arrive
// in network form (Message.CRLF) are stored with LF line endings, as mbox
// files hold them; local messages are stored exactly as given. The first
// message of each file the sink starts carries the X-IMAPbase list of the
// file's keywords, which Dovecot needs to show them (formats.MboxIMAPBase);
// a message that brings a new keyword has it added to that list in place
// first (mboxFile.listKeywords).
//
// Locking and durability: the sink takes an exclusive flock on each file it
// writes, when it first opens it, and holds it until Close, so two mailferry
// runs never interleave in one file. (mutt and Dovecot lock with fcntl and
// dot files instead; do not let them write to the file while mailferry
// does.) Put first writes a message of up to 1 MiB out in its mbox form
// (converted to LF once, quoted, framed) into a buffer of its own, then
// appends those bytes through the file's buffer under a per-file mutex, so
// Puts into one file do their work in parallel and Puts into different
// folders run in parallel altogether. A message is durable only after Flush
// (the sink is a transfer.Flusher), which writes the buffers, fsyncs every
// file it touched (with the file's mutex released, so Puts go on appending
// meanwhile) and the directories it created, and then records each file's
// new size; Close flushes too.
//
// Crash repair: mailferry's own files live in one directory per archive,
// DIR/.mailferry.lock/ (or FILE.mailferry.lock/ beside a single file), a
// name Dovecot does not list: the default state file, the record of each
// file's committed size (see fileRecord) and torn/. When the sink opens a
// file that a killed run was appending to, it cuts the file back to the
// size of the last Flush; the removed bytes, never journaled and so copied
// again by the run, are saved in torn/ as <file>@<offset>, and Options.Warn
// names them.
package mbox
