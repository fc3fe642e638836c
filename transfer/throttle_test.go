package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when something sleeps on it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.now.Add(d); t.After(c.now) {
		c.now = t
	}
	return ctx.Err() == nil
}

// Over a simulated 30-second run, requests of varied sizes get within 10%
// of the rate, never above it.
func TestThrottleHoldsTheRate(t *testing.T) {
	for _, rate := range []float64{1e6, 64 << 10, 10, 0.5} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			start := clock.Now()
			th := NewThrottleClock(rate, clock.Now, clock.Sleep)
			chunk := max(2, int(rate/20))
			total := 0.0
			for i := 0; ; i++ {
				n := 1 + (i*7919)%chunk
				if err := th.Wait(context.Background(), n); err != nil {
					t.Fatal(err)
				}
				if clock.Now().Sub(start) >= 30*time.Second {
					break
				}
				total += float64(n)
			}
			if got := total / 30; got > rate*1.1 || got < rate*0.9 {
				t.Errorf("%.2f units/s over 30 simulated seconds, want %.2f ± 10%%", got, rate)
			}
		})
	}
}

// Workers sharing one Throttle get slots one after the other: the schedule
// accounts for every request, whoever made it.
func TestThrottleSharedByWorkers(t *testing.T) {
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottleClock(1000, func() time.Time { return frozen }, func(context.Context, time.Duration) bool { return true })
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				_ = th.Wait(context.Background(), 3)
			}
		}()
	}
	wg.Wait()
	if got, want := th.next.Sub(frozen), 3*time.Second; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("4 workers × 250 × 3 units at 1000/s end at %v, want %v", got, want)
	}
}

func TestThrottleNilAndCancel(t *testing.T) {
	var th *Throttle
	if err := th.Wait(context.Background(), 1<<30); err != nil {
		t.Fatal(err)
	}
	if NewThrottle(0) != nil {
		t.Fatal("a zero rate must mean no limit")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	th = NewThrottle(1)
	_ = th.Wait(ctx, 1)
	if err := th.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v", err)
	}
}

func TestRetryWaitsWhatTheServerAsks(t *testing.T) {
	err := TemporaryError(&RetryAfterError{After: 150 * time.Millisecond, Err: errors.New("Request is throttled")})
	if got := retryAfter(err); got != 150*time.Millisecond {
		t.Fatalf("retryAfter = %v", got)
	}
	if retryAfter(errors.New("other")) != 0 {
		t.Fatal("a plain error asks for no wait")
	}
}
