package transfer

import (
	"context"
	"fmt"
)

// Subscription is whether a folder is subscribed (shown by mail programs
// that show only subscribed folders), when its store keeps that.
type Subscription int

const (
	// SubscriptionUnknown: the store does not say (a Maildir without a
	// subscriptions file, an mbox, a server without LIST-EXTENDED).
	SubscriptionUnknown Subscription = iota
	Subscribed
	Unsubscribed
)

// Subscriber is an add-on interface for Sink: a store that keeps which
// folders are subscribed. SetSubscribed subscribes or unsubscribes folder
// when it exists and says whether it changed anything; a folder that does
// not exist is left alone.
type Subscriber interface {
	SetSubscribed(ctx context.Context, folder string, subscribed bool) (changed bool, err error)
}

// copySubscriptions gives each destination folder the subscription of its
// source folders, once the messages are copied (a folder that receives
// messages exists only then): subscribed when one of them is, unsubscribed
// when all say they are not (never INBOX). Folders whose sources do not say
// are left as the destination has them. A failure is a warning: no mail depends on it.
func (r *runner) copySubscriptions(ctx context.Context, groups []*destGroup) {
	sub, ok := r.dst.(Subscriber)
	if !ok || r.opts.DryRun {
		return
	}
	for _, g := range groups {
		if g.failed || len(g.jobs) == 0 || ctx.Err() != nil {
			continue
		}
		state := Unsubscribed
		for _, job := range g.jobs {
			switch job.folder.Subscription {
			case SubscriptionUnknown:
				state = SubscriptionUnknown
			case Subscribed:
				if state != SubscriptionUnknown {
					state = Subscribed
				}
			}
		}
		// Every mail program shows INBOX, subscribed or not, and Dovecot's
		// subscriptions file usually leaves it out: it is never
		// unsubscribed.
		if state == SubscriptionUnknown || state == Unsubscribed && g.dest == "INBOX" {
			continue
		}
		var changed bool
		err := r.retrier.do(ctx, g.dest, nil, "copying the subscription", func() error {
			var err error
			changed, err = sub.SetSubscribed(ctx, g.dest, state == Subscribed)
			return err
		})
		if err != nil {
			r.event(Event{Kind: EventWarning, Folder: g.jobs[0].folder.Name,
				Text: fmt.Sprintf("destination folder %q: the subscription was not copied: %v", g.dest, err)})
			continue
		}
		if changed {
			r.mu.Lock()
			r.sum.SubscriptionsChanged++
			r.mu.Unlock()
		}
	}
}
