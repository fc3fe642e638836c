package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

type imapclientBuffer = imapclient.FetchMessageBuffer

// memoryLimit is the largest body held in memory when the server sends the
// UID after the literal; larger ones go to a temporary file.
const memoryLimit = 8 << 20

// Fetch streams BODY.PEEK[] of msgs and calls fn for each. Messages the
// server does not return, or returns empty although List gave them a size
// (RFC822.SIZE), are reported at the end as PerMessage
// *transfer.MessageError values (joined with errors.Join); a body whose size
// differs from the listed one is copied as sent, with a warning.
func (s *Source) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	if len(msgs) == 0 {
		return nil
	}
	f := s.folder(folder)
	run := &fetchRun{folder: folder, tempDir: s.tempDir, want: make(map[imap.UID]transfer.Message, len(msgs)), done: make(map[imap.UID]bool), fn: fn}
	var validity uint32
	for _, m := range msgs {
		v, uid, err := ParseID(m.ID)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("folder %q: %w", folder, err))
		}
		if validity != 0 && v != validity {
			return transfer.FatalError(fmt.Errorf("folder %q: messages from two UIDVALIDITY values (%d, %d) in one fetch", folder, validity, v))
		}
		validity = v
		run.want[uid] = m
	}

	c, err := s.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	run.c = c
	sel, err := c.Select(ctx, f.server, true)
	if err != nil {
		return fmt.Errorf("folder %q: %w", folder, err)
	}
	if sel.UIDValidity != validity {
		// The server renumbered the folder: the listed UIDs may now be
		// other messages. Nothing is fetched under the old identities; a new
		// run lists the folder again (fingerprints prevent duplicates).
		var errs []error
		for _, m := range msgs {
			errs = append(errs, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: m.ID,
				Err: fmt.Errorf("UIDVALIDITY of the folder changed from %d to %d since it was listed; run again to copy it under its new identity", validity, sel.UIDValidity)}))
		}
		return errors.Join(errs...)
	}

	seqMode := s.seqMode.Load()
	if !seqMode {
		if err := run.fetch(ctx, run.pending()); err != nil {
			return err
		}
	}
	if missing := run.pending(); len(missing) > 0 {
		if err := run.fetchBySeq(ctx, missing); err != nil {
			return err
		}
		// Messages the UID FETCH did not deliver but the FETCH by sequence
		// number did: go-imap dropped them, because the server puts the
		// UID after the body. Fetch by sequence number from now on.
		if !seqMode && len(run.pending()) < len(missing) && !s.seqMode.Swap(true) {
			warn(c, fmt.Sprintf("imap %s: the server sends UID after the message body, which go-imap cannot match; fetching by sequence number instead",
				c.Options().Server()))
		}
	}
	errs := run.errs
	for _, uid := range run.pending() {
		m := run.want[uid]
		errs = append(errs, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: m.ID, Err: errVanished}))
	}
	return errors.Join(errs...)
}

type fetchRun struct {
	c      *imapconn.Conn
	folder string
	want   map[imap.UID]transfer.Message
	done   map[imap.UID]bool
	fn     func(transfer.Message, io.Reader) error
	errs   []error // PerMessage errors for bodies that were not delivered
	// tempDir is where a large held body spills ("" is the system's).
	tempDir string
}

// pending is the requested UIDs not delivered yet.
func (r *fetchRun) pending() []imap.UID {
	var out []imap.UID
	for uid := range r.want {
		if !r.done[uid] {
			out = append(out, uid)
		}
	}
	return out
}

var bodyPeek = []*imap.FetchItemBodySection{{Peek: true}}

// fetch runs one UID FETCH of the bodies of uids.
func (r *fetchRun) fetch(ctx context.Context, uids []imap.UID) error {
	return r.run(ctx, imap.UIDSetNum(uids...), "UID FETCH BODY.PEEK[]")
}

// run runs one FETCH of the bodies of set and delivers what comes back. A
// body that arrives before its UID is held (in memory or a temporary file)
// until the UID says whose it is. When fn gives up or the stream breaks,
// the rest of the FETCH is not read: StreamFetch abandons it with the
// connection, so the part of a literal left unread cannot hold go-imap up.
func (r *fetchRun) run(ctx context.Context, set imap.NumSet, what string) error {
	var held *heldBody
	defer func() {
		if held != nil {
			held.Close()
		}
	}()
	return r.c.StreamFetch(ctx, set, &imap.FetchOptions{UID: true, BodySection: bodyPeek}, fmt.Sprintf("folder %q: %s", r.folder, what), imapconn.FetchHandler{
		Body: func(m *imapconn.FetchedMessage, body io.Reader, size int64) error {
			if held != nil {
				return nil
			}
			if m.UID != 0 {
				return r.deliver(m.UID, body, size)
			}
			var err error
			held, err = hold(body, size, r.tempDir)
			return err
		},
		Done: func(m *imapconn.FetchedMessage) error {
			if held == nil {
				return nil
			}
			h := held
			held = nil
			defer h.Close()
			if m.UID == 0 {
				return nil
			}
			return r.deliver(m.UID, h.Reader(), h.size)
		},
	})
}

// fetchBySeq maps uids to sequence numbers (UID FETCH (UID), which has no
// literal, so go-imap routes it correctly) and fetches the bodies by
// sequence number, which go-imap routes without looking at the UID.
func (r *fetchRun) fetchBySeq(ctx context.Context, uids []imap.UID) error {
	c := r.c
	var bufs []*imapclientBuffer
	err := c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH (UID)", r.folder), func() error {
		var err error
		bufs, err = c.C.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true}).Collect()
		return err
	})
	if err != nil {
		return err
	}
	var seqs imap.SeqSet
	for _, b := range bufs {
		if _, ok := r.want[b.UID]; ok && !r.done[b.UID] && b.SeqNum != 0 {
			seqs.AddNum(b.SeqNum)
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	return r.run(ctx, seqs, "FETCH BODY.PEEK[] by sequence number")
}

// deliver hands one body to fn, unless it was not asked for or was
// delivered already; then it is read and dropped.
func (r *fetchRun) deliver(uid imap.UID, body io.Reader, size int64) error {
	m, ok := r.want[uid]
	if !ok || r.done[uid] {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	if listed := m.Size; listed > 0 && size != listed {
		if size == 0 {
			// Copying it would replace the message with nothing.
			r.done[uid] = true
			r.errs = append(r.errs, transfer.PerMessageError(&transfer.MessageError{Folder: r.folder, ID: m.ID,
				Err: fmt.Errorf("server returned an empty body for a message of %d bytes", listed)}))
			return nil
		}
		warn(r.c, fmt.Sprintf("imap %s: folder %q, UID %d: the server sent %d bytes for a message it listed as %d bytes (RFC822.SIZE); copying what it sent",
			r.c.Options().Server(), r.folder, uid, size, listed))
	}
	m.Size = size
	m.CRLF = true
	br := &bodyReader{r: body, left: size}
	if err := r.fn(m, br); err != nil {
		if br.err != nil {
			return br.err
		}
		return &imapconn.StopError{Err: err}
	}
	if br.err != nil {
		return br.err
	}
	// fn need not read everything; the stream must go on.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	r.done[uid] = true
	return nil
}

// bodyReader yields exactly the literal's size or fails: a connection
// that ends early must not look like a shorter message. It remembers a
// read error, so a failure of fn caused by it is treated as the
// connection's, and marks it Temporary for fn.
type bodyReader struct {
	r    io.Reader
	left int64
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.err = transfer.TemporaryError(fmt.Errorf("reading the message from the server: %w", err))
		return n, b.err
	}
	if b.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

// heldBody is a body read before its UID was known.
type heldBody struct {
	mem  []byte
	file *os.File
	size int64
}

func hold(r io.Reader, size int64, dir string) (*heldBody, error) {
	h := &heldBody{size: size}
	if size <= memoryLimit {
		h.mem = make([]byte, size)
		if _, err := io.ReadFull(r, h.mem); err != nil {
			return nil, err
		}
		return h, nil
	}
	f, err := os.CreateTemp(dir, "mailferry-imap-*")
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("holding a message body: %w", err))
	}
	os.Remove(f.Name())
	h.file = f
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return nil, err
	}
	return h, nil
}

func (h *heldBody) Reader() io.Reader {
	if h.file != nil {
		return io.NewSectionReader(h.file, 0, h.size)
	}
	return bytes.NewReader(h.mem)
}

func (h *heldBody) Close() {
	if h.file != nil {
		h.file.Close()
	}
}
