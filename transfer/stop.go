package transfer

import (
	"context"
	"sync"
	"time"
)

// putGrace is how long a message being stored when the run stops may take
// to finish. Cutting a store short is safe but not free: an APPEND broken
// off mid-literal must be looked for and cleaned up on the server, which
// takes longer than finishing it from the local spool.
const putGrace = 2 * time.Second

// withGrace returns a context that is not done when parent is, but d
// later (with parent's cause), so work already under way can finish while
// nothing new starts. Call cancel when the work is done.
func withGrace(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	var (
		mu    sync.Mutex
		ended bool
		timer *time.Timer
	)
	stop := context.AfterFunc(parent, func() {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			timer = time.AfterFunc(d, func() { cancel(context.Cause(parent)) })
		}
	})
	return ctx, func() {
		stop()
		mu.Lock()
		ended = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}
