package transfer

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWithGrace(t *testing.T) {
	parent, stop := context.WithCancelCause(context.Background())
	ctx, cancel := withGrace(parent, 100*time.Millisecond)
	defer cancel()
	why := errors.New("stopped")
	stop(why)
	start := time.Now()
	select {
	case <-ctx.Done():
		t.Fatal("done at once; the work under way got no time to finish")
	case <-time.After(50 * time.Millisecond):
	}
	<-ctx.Done()
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("done after %v, want about 100ms", d)
	}
	if !errors.Is(context.Cause(ctx), why) {
		t.Errorf("cause %v, want the parent's", context.Cause(ctx))
	}

	// Work that finishes first ends the context itself.
	ctx2, cancel2 := withGrace(context.Background(), time.Hour)
	cancel2()
	if ctx2.Err() == nil {
		t.Error("cancel did not end the context")
	}
}
