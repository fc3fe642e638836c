package imap

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

type imapclientBuffer = imapclient.FetchMessageBuffer

// Index describes the messages of folder from one FETCH of UID, RFC822.SIZE
// and the identity header fields (by sequence number, which go-imap routes
// whatever the order of the items). Refs are UIDs. A folder that does not
// exist gives an empty index.
func (s *Sink) Index(ctx context.Context, folder string) (transfer.FolderIndex, error) {
	var idx transfer.FolderIndex
	c, err := s.pool.Get(ctx)
	if err != nil {
		return idx, err
	}
	defer s.pool.Put(c)
	server, exists, err := s.existing(ctx, c, folder)
	if err != nil || !exists {
		return idx, err
	}
	c.Unselected() // a fresh EXAMINE: a cached one may predate new messages
	sel, err := c.Select(ctx, server, true)
	if err != nil {
		return idx, fmt.Errorf("folder %q: %w", folder, err)
	}
	keyed, err := c.FetchAllKeys(ctx, sel.NumMessages, folder)
	if err != nil {
		return idx, err
	}
	uids := make([]uint32, 0, len(keyed))
	sizes := make([]int64, 0, len(keyed))
	for _, k := range keyed {
		if k.UID == 0 {
			continue
		}
		idx.Messages = append(idx.Messages, transfer.StoredMessage{Ref: strconv.FormatUint(uint64(k.UID), 10), Key: k.Key, VirtualSize: k.Size, Flags: k.Flags})
		uids = append(uids, uint32(k.UID))
		sizes = append(sizes, k.Size)
	}
	idx.Identity = transfer.UIDMailboxIdentity(sel.UIDValidity, uids, sizes)
	return idx, nil
}

// Digests fetches the messages refs name and returns their content digests,
// computed as the bodies stream past. The UIDs are mapped to sequence
// numbers first (UID FETCH (UID) has no literal, so go-imap routes it
// correctly), and the bodies fetched by sequence number, so a server that
// sends the UID after the body is no problem.
func (s *Sink) Digests(ctx context.Context, folder string, refs []string) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	var uids []imap.UID
	for _, r := range refs {
		if n, err := strconv.ParseUint(r, 10, 32); err == nil && n > 0 {
			uids = append(uids, imap.UID(n))
		}
	}
	if len(uids) == 0 {
		return out, nil
	}
	f := s.folder(folder)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	server := f.serverName()
	if _, err := c.Select(ctx, server, true); err != nil {
		return nil, fmt.Errorf("folder %q: %w", folder, err)
	}
	seqs, err := c.SeqNums(ctx, uids, folder)
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return out, nil
	}
	what := fmt.Sprintf("folder %q: FETCH (UID BODY.PEEK[])", folder)
	var digest string
	err = c.StreamFetch(ctx, seqs, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}, what, imapconn.FetchHandler{
		Body: func(_ *imapconn.FetchedMessage, body io.Reader, _ int64) error {
			d := formats.NewDigester()
			if _, err := io.Copy(d, body); err != nil {
				return err
			}
			digest = d.Sum()
			return nil
		},
		Done: func(m *imapconn.FetchedMessage) error {
			if m.UID != 0 && digest != "" {
				out[strconv.FormatUint(uint64(m.UID), 10)] = digest
			}
			digest = ""
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
