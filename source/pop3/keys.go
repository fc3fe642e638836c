package pop3

import (
	"context"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.Keyer = (*Source)(nil)

// Keys reads the identity keys of msgs from their headers with TOP n 0 (RETR
// where the server refuses TOP), so a run that lost its state file does not
// download a message it will not copy. Headers already read while listing
// (a server without UIDL) are used as they are.
func (s *Source) Keys(ctx context.Context, folder string, msgs []transfer.Message) (map[string]string, error) {
	sess, err := s.listed(ctx, folder)
	if err != nil {
		return nil, err
	}
	headers := make(map[string][]byte)
	for _, l := range sess.listing.msgs {
		if l.header != nil {
			headers[l.id] = l.header
		}
	}
	out := make(map[string]string, len(msgs))
	for _, m := range msgs {
		num, ok := sess.listing.byID[m.ID]
		if !ok {
			continue // gone: the fetch reports it
		}
		header, ok := headers[m.ID]
		if !ok {
			header, err = sess.header(ctx, num)
			if err != nil {
				if transfer.ClassOf(err) == transfer.PerMessage && !sess.broken() {
					continue
				}
				s.release(sess, err)
				return nil, err
			}
		}
		out[m.ID] = formats.IdentityKey(header)
	}
	s.release(sess, nil)
	return out, nil
}
