package imapconn

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// FetchedMessage is what a streaming FETCH has told of one message so far:
// the items that came before a body literal when Body is called, all of
// them when Done is.
type FetchedMessage struct {
	SeqNum       uint32
	UID          imap.UID // 0 until the UID item arrived
	Flags        []imap.Flag
	HasFlags     bool
	Size         int64 // RFC822.SIZE
	InternalDate time.Time
}

// FetchHandler receives a streaming FETCH, one message at a time.
type FetchHandler struct {
	// Body is called for each body section with its literal. It may read
	// as much of body as it wants; the rest is read and dropped. The
	// message's UID may still be 0: servers may send it after the body.
	Body func(m *FetchedMessage, body io.Reader, size int64) error
	// Done, when set, is called once a message's items have all arrived.
	Done func(m *FetchedMessage) error
}

// StopError carries a handler's own error out of StreamFetch unchanged;
// any other error of a handler is taken for the stream's (a literal that
// could not be read) and classified as the connection's.
type StopError struct{ Err error }

func (e *StopError) Error() string { return e.Err.Error() }
func (e *StopError) Unwrap() error { return e.Err }

// StreamFetch runs one FETCH (a UID FETCH when set is an imap.UIDSet) of
// the selected mailbox and streams its answers to h, with the watchdog
// armed only while the server is waited for, so a slow handler is not a
// dead server. When a handler fails or the stream breaks the FETCH is
// abandoned with the connection (see Abandon), whose error is classified
// and names what; the rest of the answers is not read.
func (c *Conn) StreamFetch(ctx context.Context, set imap.NumSet, opts *imap.FetchOptions, what string, h FetchHandler) error {
	end := c.Begin(ctx)
	cmd := c.C.Fetch(set, opts)
	for {
		c.Arm()
		msg := cmd.Next()
		c.Disarm()
		if msg == nil {
			break
		}
		fm := FetchedMessage{SeqNum: msg.SeqNum}
		err := c.streamItems(msg, &fm, h)
		if err == nil && h.Done != nil {
			err = h.Done(&fm)
		}
		if err != nil {
			end()
			c.Abandon(cmd)
			var stop *StopError
			if errors.As(err, &stop) {
				return stop.Err
			}
			return c.Err(what, err)
		}
	}
	c.Arm()
	err := cmd.Close()
	end()
	return c.Err(what, err)
}

// streamItems reads the items of one message into fm, handing body
// literals to h.Body.
func (c *Conn) streamItems(msg *imapclient.FetchMessageData, fm *FetchedMessage, h FetchHandler) error {
	for {
		c.Arm()
		item := msg.Next()
		c.Disarm()
		if item == nil {
			return nil
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			fm.UID = it.UID
		case imapclient.FetchItemDataFlags:
			fm.Flags, fm.HasFlags = it.Flags, true
		case imapclient.FetchItemDataRFC822Size:
			fm.Size = it.Size
		case imapclient.FetchItemDataInternalDate:
			fm.InternalDate = it.Time
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			body := c.WatchedReader(it.Literal)
			if h.Body != nil {
				if err := h.Body(fm, body, it.Literal.Size()); err != nil {
					return err
				}
			}
			if _, err := io.Copy(io.Discard, body); err != nil {
				return err
			}
		}
	}
}
