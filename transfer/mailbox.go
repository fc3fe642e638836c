package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
)

// UIDMailboxIdentity is the identity of an IMAP mailbox as both ends of a
// run can compute it from one listing: its UIDVALIDITY and the set of its
// UIDs with their sizes. Two names of one mailbox (a second host name for one
// server, after a DNS switch) give the same identity; two different
// mailboxes give it only when they agree in UIDVALIDITY, in every UID and in
// every size, which for a mailbox with messages is the signature of one
// mailbox. An empty mailbox has no identity ("").
func UIDMailboxIdentity(validity uint32, uids []uint32, sizes []int64) string {
	if len(uids) == 0 {
		return ""
	}
	type entry struct {
		uid  uint32
		size int64
	}
	es := make([]entry, len(uids))
	for i := range uids {
		es[i] = entry{uids[i], sizes[i]}
	}
	slices.SortFunc(es, func(a, b entry) int { return int(int64(a.uid) - int64(b.uid)) })
	h := sha256.New()
	var b [12]byte
	for _, e := range es {
		binary.BigEndian.PutUint32(b[:4], e.uid)
		binary.BigEndian.PutUint64(b[4:], uint64(e.size))
		h.Write(b[:])
	}
	return fmt.Sprintf("imap:%d:%s", validity, hex.EncodeToString(h.Sum(nil)[:16]))
}

// PathMailboxIdentity is the identity of a local folder (a directory or a
// file): its device and inode, so that a symlink or a second spelling of a
// path is recognised as the same folder. A path that does not exist has no
// identity ("").
func PathMailboxIdentity(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if id := fileID(st); id != "" {
		return "path:" + id
	}
	return ""
}
