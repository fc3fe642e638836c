package maildir

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/localstore"
	"github.com/mailferry/mailferry/transfer"
)

// maxSubscriptionsFile bounds what is read of a subscriptions file.
const maxSubscriptionsFile = 1 << 20

// subscriptions reads Dovecot's subscriptions file at the root: which
// folders are subscribed, or nil when there is no file or it cannot be
// read (then nothing is said about subscriptions; an unreadable file is a
// warning).
func (s *Source) subscriptions() map[string]bool {
	f, err := localstore.Open(s.fsroot, formats.MaildirSubscriptionsFile)
	if errors.Is(err, os.ErrNotExist) && !localstore.IsLink(err) {
		return nil
	}
	if err != nil {
		s.warn("%s not read, so subscriptions are not copied: %v", formats.MaildirSubscriptionsFile, err)
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSubscriptionsFile))
	if err != nil {
		s.warn("%s not read, so subscriptions are not copied: %v", formats.MaildirSubscriptionsFile, err)
		return nil
	}
	sep := byte('.')
	if strings.EqualFold(s.opts.Layout, formats.LayoutFS) {
		sep = '/'
	}
	names, ok := formats.ParseMaildirSubscriptions(b, sep)
	if !ok {
		s.warn("%s is not in a format mailferry reads (Dovecot's), so subscriptions are not copied", formats.MaildirSubscriptionsFile)
		return nil
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// subscription is folder's state by subs (from subscriptions).
func subscription(subs map[string]bool, folder string) transfer.Subscription {
	switch {
	case subs == nil:
		return transfer.SubscriptionUnknown
	case subs[folder]:
		return transfer.Subscribed
	}
	return transfer.Unsubscribed
}
