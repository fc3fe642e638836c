package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mailferry/mailferry/internal/plural"
)

// barThrottle is how often the bar may redraw; tests set it to 0 to see
// every frame.
var barThrottle = 100 * time.Millisecond

// barRedraw is how often the bar is drawn again while nothing is copied,
// so that on a stalled run its rates fall and its time left grows instead
// of showing the figures of the last message forever.
const barRedraw = time.Second

// byteBar is the one aggregate progress bar shown on a terminal: bytes
// copied of bytes planned, with progressbar's own byte rate and time left,
// and as its description the messages done of planned, their rate and the
// folder being copied. While the plan runs it says how many folders are
// planned. Its total only grows: the plan is complete before the first
// copy, and a message larger than listed raises it. A nil *byteBar does
// nothing, which is what every non-terminal output uses: progressbar
// itself neither detects terminals nor stops redrawing (and fsyncing) into
// a log file.
type byteBar struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	max     int64
	cur     int64
	started time.Time
	// The figures of the last message, for the description of a redraw.
	folder         string
	copied, toCopy int
}

func newByteBar(w io.Writer) *byteBar { return &byteBar{w: w} }

// planned raises the total to max bytes after folders folders are planned.
func (b *byteBar) planned(max int64, folders int) {
	if b == nil {
		return
	}
	b.grow(max)
	if b.cur == 0 {
		b.bar.Describe(fmt.Sprintf("planning: %s planned", plural.Count(folders, "folder")))
	}
}

func (b *byteBar) grow(total int64) {
	total = max(total, b.cur, 1)
	if b.bar == nil {
		b.max = total
		b.started = time.Now()
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetVisibility(true),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(barThrottle),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
		)
		return
	}
	if total > b.max {
		b.max = total
		b.bar.ChangeMax64(total)
	}
}

// add counts n bytes copied of a message of folder; copied and planned
// are the messages done and to do.
func (b *byteBar) add(n int64, folder string, copied, planned int) {
	if b == nil {
		return
	}
	b.cur += n
	b.grow(b.cur)
	b.folder, b.copied, b.toCopy = folder, copied, planned
	b.describe()
	_ = b.bar.Set64(b.cur)
}

// describe sets the bar's text: messages done of planned, their rate since
// the start, and the folder of the last message.
func (b *byteBar) describe() {
	rate := ""
	if s := time.Since(b.started).Seconds(); s > 0 {
		rate = fmt.Sprintf(", %.1f msgs/s", float64(b.copied)/s)
	}
	b.bar.Describe(fmt.Sprintf("%d/%d msgs%s, %s", b.copied, b.toCopy, rate, safeText(b.folder)))
}

// redraw draws the bar again with nothing added: progressbar's rolling
// byte rate takes in the idle time (so its time left grows), and so does
// the message rate. Before the first message it leaves the planning text.
func (b *byteBar) redraw() {
	if b == nil || b.bar == nil {
		return
	}
	if b.cur > 0 {
		b.describe()
	}
	_ = b.bar.Add64(0)
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
