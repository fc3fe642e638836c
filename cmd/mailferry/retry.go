package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// openRetryDelays are the waits before each new attempt to open a server
// endpoint that failed with a temporary error. A POP3 server keeps a
// maildrop locked ([IN-USE]) until it notices that the previous session's
// client is gone, which after a killed run takes a few seconds.
var openRetryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// openWithRetry calls open until it succeeds, fails with an error that is
// not transfer.Temporary, or the retries run out. what names the endpoint in
// the warnings.
func openWithRetry[T any](ctx context.Context, what string, warn func(string), open func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := open()
		if err == nil || transfer.ClassOf(err) != transfer.Temporary || attempt == len(openRetryDelays) {
			return v, err
		}
		delay := openRetryDelays[attempt]
		if warn != nil {
			warn(fmt.Sprintf("%s: %v; trying again in %s", what, err, delay))
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(delay):
		}
	}
}
