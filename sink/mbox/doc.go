// Package mbox is the mailferry sink that writes mbox files: one file
// holding one folder, or a directory holding a <folder>.mbox file per folder
// with subfolders in subdirectories ("Archive/2019" is Archive/2019.mbox;
// see formats.MboxFolderPath for how unusual folder names are escaped).
//
// Messages are written in formats.MboxWriter's framing: mboxrd that mutt
// and Dovecot read as an ordinary mbox, with the flags in Status, X-Status
// and X-Keywords, and a frame line that lets the mailferry source give back
// every message byte for byte. Messages that arrive in network form
// (Message.CRLF) are stored with LF line endings, as mbox files hold them;
// local messages are stored exactly as given.
//
// Locking and durability: the sink takes an exclusive flock on each file it
// writes, when it first opens it, and holds it until Close, so two mailferry
// runs never interleave in one file. (mutt and Dovecot lock with fcntl and
// dot files instead; do not let them write to the file while mailferry
// does.) Put appends through a buffer under a per-file mutex, so Puts into
// different folders run in parallel. A message is durable only after Flush
// (the sink is a transfer.Flusher), which writes the buffers and fsyncs every
// file it touched and the directories it created; Close flushes too.
//
// Crash repair: when the sink opens a file whose last message was cut short
// by a crash during an append (formats.MboxMessage.Incomplete), it cuts the
// file back to the end of the last complete message. The removed bytes are
// saved next to the file as .<name>.torn-<offset> (hidden, so no reader
// takes them for a folder), and Options.Warn is told.
package mbox
