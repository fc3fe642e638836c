package conformance

import "github.com/mailferry/mailferry/internal/conformance/kind"

// Store describes one kind of mail store the suite can write into and read
// back; see kind.Store. The store packages describe theirs
// (sink/maildir/maildirtest, sink/mbox/mboxtest, sink/imap/imaptest,
// source/pop3/pop3test).
type Store = kind.Store
