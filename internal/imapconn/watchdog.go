package imapconn

import (
	"sync"
	"time"
)

// watchdog closes a connection when the server keeps us waiting longer than
// the timeout. It is armed only while we wait for the server (a command's
// response, the next bytes of a literal) and disarmed while the caller works
// on what arrived, so a slow consumer is not mistaken for a dead server.
type watchdog struct {
	d      time.Duration
	onFire func()

	mu    sync.Mutex
	timer *time.Timer
	fired bool
}

func newWatchdog(d time.Duration, onFire func()) *watchdog {
	return &watchdog{d: d, onFire: onFire}
}

// arm starts (or restarts) the countdown.
func (w *watchdog) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.d, w.fire)
		return
	}
	w.timer.Reset(w.d)
}

// disarm stops the countdown.
func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.fired = true
	w.mu.Unlock()
	w.onFire()
}

// Fired reports whether the watchdog has closed the connection.
func (w *watchdog) Fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}
