package imapconn

import (
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// KeyedMessage is one message of the selected mailbox with its identity key.
type KeyedMessage struct {
	SeqNum uint32
	UID    imap.UID
	// Size is RFC822.SIZE: the size with CRLF line ends.
	Size int64
	// Key is formats.IdentityKey of its header.
	Key string
	// Flags are its flags, normalised, \Recent left out.
	Flags []string
}

// maxKeyHeader bounds the header read per message, as the transfer spool
// bounds it, so both key the same bytes; a hostile header must not fill the
// memory.
const maxKeyHeader = 256 << 10

// FetchKeys reads UID, FLAGS, RFC822.SIZE and BODY.PEEK[HEADER] of every message in
// set of the selected mailbox: the identity of each message without its
// body. The whole header is asked for, not HEADER.FIELDS: a server parses the
// header to pick fields and parsers differ on odd headers (a From_ line on
// top), while the raw header gives the key a local store computes. set is a
// sequence set, so go-imap routes each response whatever the order of its
// items (a UID after the literal is fine).
func (c *Conn) FetchKeys(ctx context.Context, set imap.SeqSet, what string) ([]KeyedMessage, error) {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	var (
		out    []KeyedMessage
		header []byte
	)
	err := c.StreamFetch(ctx, set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}}, what, FetchHandler{
		Body: func(_ *FetchedMessage, body io.Reader, _ int64) error {
			var err error
			header, err = io.ReadAll(io.LimitReader(body, maxKeyHeader))
			return err
		},
		Done: func(m *FetchedMessage) error {
			km := KeyedMessage{SeqNum: m.SeqNum, UID: m.UID, Size: m.Size, Key: formats.IdentityKey(header)}
			if m.HasFlags {
				km.Flags = Flags(m.Flags)
				if km.Flags == nil {
					km.Flags = []string{}
				}
			}
			out = append(out, km)
			header = nil
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FetchAllKeys is FetchKeys over the whole selected mailbox of n messages.
func (c *Conn) FetchAllKeys(ctx context.Context, n uint32, mailbox string) ([]KeyedMessage, error) {
	if n == 0 {
		return nil, nil
	}
	return c.FetchKeys(ctx, imap.SeqSet{imap.SeqRange{Start: 1, Stop: n}},
		fmt.Sprintf("folder %q: FETCH (UID RFC822.SIZE BODY.PEEK[HEADER])", mailbox))
}

// SeqNums maps uids of the selected mailbox to sequence numbers with one UID
// FETCH (UID), which has no literal, so go-imap routes its answers
// correctly; a UID that is gone is left out. A FETCH by these sequence
// numbers is then routed whatever the order of its items, also by servers
// that send the UID after a body.
func (c *Conn) SeqNums(ctx context.Context, uids []imap.UID, mailbox string) (imap.SeqSet, error) {
	var bufs []*imapclient.FetchMessageBuffer
	err := c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH (UID)", mailbox), func() error {
		var err error
		bufs, err = c.C.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true}).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	var seqs imap.SeqSet
	for _, b := range bufs {
		if b.SeqNum != 0 {
			seqs.AddNum(b.SeqNum)
		}
	}
	return seqs, nil
}

// RequireUIDPlus refuses a deletion from mailbox on a server without
// UIDPLUS: it could only expunge every \Deleted message of the folder,
// including ones the user marked and wants kept.
func (c *Conn) RequireUIDPlus(mailbox string) error {
	if c.Info.Caps.Has(imap.CapUIDPlus) {
		return nil
	}
	return transfer.FatalError(fmt.Errorf("imap %s: refusing to delete from folder %q: the server lacks UIDPLUS, so EXPUNGE would also remove other messages marked \\Deleted",
		c.Options().Server(), mailbox))
}

// Flags is a FETCH answer's flags in the spelling the rest of mailferry
// compares (formats.NormalizeFlags).
func Flags(fetched []imap.Flag) []string {
	flags := make([]string, 0, len(fetched))
	for _, f := range fetched {
		flags = append(flags, string(f))
	}
	return formats.NormalizeFlags(flags)
}
