package transfer

import (
	"context"
	"fmt"
)

// Rewrite is a message the destination stored differently from what was
// sent: a final CRLF added (Courier), 8-bit header bytes replaced with X
// (Cyrus), or any other change of size. The copy is not wrong (identity
// and verify tolerate these rewrites), but the user should know the
// destination does not keep mail byte for byte.
type Rewrite struct {
	Folder, ID string // source folder and message
	Dest       string // destination folder
	// Sent and Stored are the sizes sent and stored, in bytes of the
	// network form (CRLF).
	Sent, Stored int64
	// What says what changed, as far as it can be told.
	What string
}

// RewriteChecker is an add-on interface for Sink: a store that can tell,
// after the copy, which of the messages this run stored it holds in
// another form than it was given (IMAP: RFC822.SIZE, and the header of
// messages with 8-bit header bytes, of the UIDs APPENDUID named).
// StoredRewrites is called once, after the last commit.
type RewriteChecker interface {
	StoredRewrites(ctx context.Context) ([]Rewrite, error)
}

// reportRewrites asks a RewriteChecker sink what it rewrote, and reports
// each message as a warning and their number in the summary. A failure to
// ask is a warning too: every message is stored either way.
func (r *runner) reportRewrites(ctx context.Context) {
	rc, ok := r.dst.(RewriteChecker)
	if !ok || r.opts.DryRun || ctx.Err() != nil {
		return
	}
	rewrites, err := rc.StoredRewrites(ctx)
	if err != nil {
		r.event(Event{Kind: EventWarning, Text: fmt.Sprintf("could not check how the destination stored the copied messages: %v", err)})
	}
	for _, rw := range rewrites {
		r.event(Event{Kind: EventWarning, Folder: rw.Folder,
			Text: fmt.Sprintf("message %s was stored differently in destination folder %q: %d bytes sent, %d stored (%s)",
				rw.ID, rw.Dest, rw.Sent, rw.Stored, rw.What)})
	}
	r.mu.Lock()
	r.sum.Rewritten += len(rewrites)
	r.mu.Unlock()
}
