package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// SizeLimit is the largest message the destination is known to accept,
// set by the user (such as a provider's documented maximum), in bytes of
// the network form APPEND sends. Why names where the limit comes from in
// the refusal ("--preset gmail").
type SizeLimit struct {
	Bytes int64
	Why   string
}

// SetSizeLimit makes Put refuse larger messages itself, without sending
// them, as it does for the server's APPENDLIMIT. Call it before the first
// Put.
func (s *Sink) SetSizeLimit(l SizeLimit) { s.userLimit = l }

// checkSize refuses, before a byte is sent, a message larger than the
// server's APPENDLIMIT (RFC 7889: APPENDLIMIT=N for every folder, or a bare
// APPENDLIMIT and each folder's limit in STATUS) or than the user's limit:
// sending it would only be refused after the whole upload. The refusal is
// PerMessage, so the run copies the rest and exits 3.
func (s *Sink) checkSize(ctx context.Context, f *destFolder, m transfer.Message, size int64) error {
	limit, why := s.userLimit.Bytes, "allowed by "+s.userLimit.Why
	server, err := s.appendLimit(ctx, f)
	if err != nil {
		return err
	}
	if server > 0 && (limit <= 0 || server <= limit) {
		limit, why = server, "the server accepts (its APPENDLIMIT, RFC 7889)"
	}
	if limit > 0 && size > limit {
		return transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID,
			Err: fmt.Errorf("imap %s: not sent: the message is %d bytes, more than the %d bytes %s",
				s.pool.Options().Server(), size, limit, why)})
	}
	return nil
}

// appendLimit is the server's APPENDLIMIT for f, 0 for none. A per-folder
// limit is asked once per folder.
func (s *Sink) appendLimit(ctx context.Context, f *destFolder) (int64, error) {
	limit, ok := s.pool.Info().Caps.AppendLimit()
	if !ok {
		return 0, nil
	}
	if limit != nil {
		return int64(*limit), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appendLimitKnown {
		return f.appendLimit, nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return 0, err
	}
	defer s.pool.Put(c)
	var st *imap.StatusData
	err = c.Do(ctx, fmt.Sprintf("STATUS %q (APPENDLIMIT)", f.server), func() error {
		var err error
		st, err = c.C.Status(f.server, &imap.StatusOptions{AppendLimit: true}).Wait()
		return err
	})
	if err != nil && !imapconn.IsResponse(err) {
		return 0, err
	}
	// A server that cannot say leaves the check to its APPEND.
	if err == nil && st.AppendLimit != nil {
		f.appendLimit = int64(*st.AppendLimit)
	}
	f.appendLimitKnown = true
	return f.appendLimit, nil
}
