package imap

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.RewriteChecker = (*Sink)(nil)

// storedCopy is what is needed to tell, after the run, whether the server
// stored a message as it was sent: where APPENDUID says it is, its size as
// sent, and its header when that has 8-bit bytes (which Cyrus replaces with
// X without changing the size).
type storedCopy struct {
	folder      *destFolder
	uidValidity uint32
	uid         imap.UID
	m           transfer.Message
	sent        int64
	finalCRLF   bool   // the message sent ends with CRLF
	header8bit  []byte // the header sent (CRLF form), only when it has 8-bit bytes
}

// maxCheckedHeader bounds the header kept per message for the check.
const maxCheckedHeader = 64 << 10

// noteStored remembers a message the server acknowledged with APPENDUID,
// for StoredRewrites. Without UIDPLUS there is no UID (0) to check.
func (s *Sink) noteStored(f *destFolder, m transfer.Message, uidValidity uint32, uid imap.UID, body *wire) {
	if uid == 0 {
		return
	}
	sc := storedCopy{folder: f, uidValidity: uidValidity, uid: uid, m: m, sent: body.size}
	head := sentHeader(body)
	for _, b := range head {
		if b >= 0x80 {
			sc.header8bit = bytes.Clone(head)
			break
		}
	}
	if body.size >= 2 {
		tail := make([]byte, 2)
		if body.crlf {
			_, err := body.body.ReadAt(tail, body.size-2)
			sc.finalCRLF = err == nil && string(tail) == "\r\n"
		} else {
			_, err := body.body.ReadAt(tail[1:], body.body.Size()-1)
			sc.finalCRLF = err == nil && tail[1] == '\n'
		}
	}
	s.storedMu.Lock()
	s.stored = append(s.stored, sc)
	s.storedMu.Unlock()
}

// sentHeader returns the header block of body's network form, at most
// maxCheckedHeader bytes. It reads a little more than a usual header and
// reads on only while the header goes on, rather than maxCheckedHeader
// bytes of every message.
func sentHeader(body *wire) []byte {
	r := body.reader()
	head := make([]byte, 0, min(body.size, 4<<10))
	for {
		n, err := io.ReadFull(r, head[len(head):cap(head)])
		head = head[:len(head)+n]
		end := formats.HeaderEnd(head)
		if end < len(head) || err != nil || len(head) >= maxCheckedHeader || int64(len(head)) >= body.size {
			return head[:end]
		}
		grown := make([]byte, len(head), min(2*int64(cap(head)), maxCheckedHeader, body.size))
		copy(grown, head)
		head = grown
	}
}

// StoredRewrites fetches RFC822.SIZE of every message this run APPENDed
// (and the header of those with 8-bit header bytes) and reports those the
// server stored differently. It is called once, after the copy.
func (s *Sink) StoredRewrites(ctx context.Context) ([]transfer.Rewrite, error) {
	s.storedMu.Lock()
	stored := s.stored
	s.stored = nil
	s.storedMu.Unlock()
	byFolder := map[*destFolder][]storedCopy{}
	var order []*destFolder
	for _, sc := range stored {
		if byFolder[sc.folder] == nil {
			order = append(order, sc.folder)
		}
		byFolder[sc.folder] = append(byFolder[sc.folder], sc)
	}
	var out []transfer.Rewrite
	for _, f := range order {
		rw, err := s.folderRewrites(ctx, f, byFolder[f])
		if err != nil {
			return out, err
		}
		out = append(out, rw...)
	}
	return out, nil
}

func (s *Sink) folderRewrites(ctx context.Context, f *destFolder, copies []storedCopy) ([]transfer.Rewrite, error) {
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	server := f.serverName()
	sel, err := c.Select(ctx, server, true)
	if err != nil {
		return nil, err
	}
	var uids, headerUIDs []imap.UID
	for _, sc := range copies {
		if sc.uidValidity != sel.UIDValidity {
			continue // renumbered since: the UIDs name other messages now
		}
		uids = append(uids, sc.uid)
		if sc.header8bit != nil {
			headerUIDs = append(headerUIDs, sc.uid)
		}
	}
	if len(uids) == 0 {
		return nil, nil
	}
	sizes := map[imap.UID]int64{}
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH (RFC822.SIZE) of the messages copied", f.name), func() error {
		bufs, err := c.C.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		for _, b := range bufs {
			sizes[b.UID] = b.RFC822Size
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	headers := map[imap.UID][]byte{}
	if len(headerUIDs) > 0 {
		// By sequence number, so the answer is routed whatever the order
		// of UID and the literal.
		seqs, err := c.SeqNums(ctx, headerUIDs, f.name)
		if err != nil {
			return nil, err
		}
		section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		err = c.Do(ctx, fmt.Sprintf("folder %q: FETCH (BODY.PEEK[HEADER]) of the messages copied with 8-bit headers", f.name), func() error {
			var bufs []*imapclient.FetchMessageBuffer
			var err error
			if len(seqs) > 0 {
				bufs, err = c.C.Fetch(seqs, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			}
			for _, b := range bufs {
				headers[b.UID] = b.FindBodySection(section)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	var out []transfer.Rewrite
	for _, sc := range copies {
		size, ok := sizes[sc.uid]
		if !ok || sc.uidValidity != sel.UIDValidity {
			continue // gone since (another client): nothing to tell
		}
		what := ""
		switch {
		case size == sc.sent+2 && !sc.finalCRLF:
			what = "a final CRLF was added, as Courier does"
		case size != sc.sent:
			what = "the size changed"
		case sc.header8bit != nil && headers[sc.uid] != nil:
			what = headerRewrite(sc.header8bit, headers[sc.uid])
		}
		if what != "" {
			out = append(out, transfer.Rewrite{Folder: sc.m.Folder, ID: sc.m.ID, Dest: f.name, Sent: sc.sent, Stored: size, What: what})
		}
	}
	return out, nil
}

// headerRewrite says how a header sent with 8-bit bytes was stored: ""
// when it is the same, the replacement Cyrus makes, or another change.
func headerRewrite(sent, stored []byte) string {
	if bytes.Equal(sent, stored) {
		return ""
	}
	if len(sent) == len(stored) {
		onlyX := true
		for i := range sent {
			if sent[i] != stored[i] && (sent[i] < 0x80 || stored[i] != 'X') {
				onlyX = false
				break
			}
		}
		if onlyX {
			return "8-bit bytes in the header were replaced with X, as Cyrus does"
		}
	}
	return "the header was changed"
}
