package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// byteBar is the one aggregate progress bar shown on a terminal: bytes
// copied of bytes planned, with the message count as its description. A nil
// *byteBar does nothing, which is what every non-terminal output uses:
// progressbar itself neither detects terminals nor stops redrawing (and
// fsyncing) into a log file.
type byteBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	max int64
	cur int64
}

func newByteBar(w io.Writer) *byteBar { return &byteBar{w: w} }

func (b *byteBar) setMax(max int64) {
	if b == nil || max <= 0 {
		return
	}
	if max < b.cur {
		max = b.cur
	}
	b.max = max
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetVisibility(true),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionSetDescription("copying"),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
		)
		return
	}
	b.bar.ChangeMax64(max)
}

func (b *byteBar) add(n int64, copied, planned int) {
	if b == nil || b.bar == nil {
		return
	}
	b.cur += n
	if b.cur > b.max {
		// Listed sizes are estimates; never let the bar overflow.
		b.max = b.cur
		b.bar.ChangeMax64(b.max)
	}
	b.bar.Describe(fmt.Sprintf("%d/%d messages", copied, planned))
	_ = b.bar.Set64(b.cur)
}

// clear removes the bar from the line so a message can be printed; the bar
// is drawn again at the next update.
func (b *byteBar) clear() {
	if b == nil || b.bar == nil {
		return
	}
	_ = b.bar.Clear()
}

func (b *byteBar) finish(ok bool) {
	if b == nil || b.bar == nil {
		return
	}
	if ok {
		_ = b.bar.Finish()
		return
	}
	_ = b.bar.Exit()
	fmt.Fprintln(b.w)
}
