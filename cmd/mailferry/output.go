package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

// outputMode is what the user asked to see.
type outputMode struct {
	JSON    bool // JSON lines on stdout
	Quiet   bool // only failures and errors
	Verbose bool // every message
	DryRun  bool
	// TTY is whether stderr is a terminal: a progress bar instead of
	// periodic lines.
	TTY bool
	// Interval between plain progress lines when stderr is not a terminal.
	Interval time.Duration
}

// reporter renders transfer events as text (a progress bar on a terminal,
// periodic lines otherwise) or JSON lines. It implements transfer.Progress
// and is safe for concurrent use.
type reporter struct {
	mode   outputMode
	stdout io.Writer
	stderr io.Writer

	mu       sync.Mutex
	bar      *byteBar
	planned  int
	folders  int    // folders planned
	folder   string // the folder of the last message copied
	bytes    int64  // planned bytes
	copied   int
	copiedB  int64
	failed   int
	started  time.Time
	now      func() time.Time
	finished bool          // Finish ran: no more progress lines
	stopTick chan struct{} // closed by Finish to end the progress ticker
	tickDone chan struct{} // closed when the ticker goroutine has ended
	ticked   func()        // called after each tick's line; tests wait on it
	// log is the --log-file, nil without one.
	log *slog.Logger
}

// tickSource gives the ticks that print the periodic progress lines, one
// every d, and a function that stops them.
type tickSource func(d time.Duration) (ticks <-chan time.Time, stop func())

// clockTicks ticks every d, but no faster than every millisecond.
func clockTicks(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(max(d, time.Millisecond))
	return t.C, t.Stop
}

var _ transfer.Progress = (*reporter)(nil)

func newReporter(mode outputMode, stdout, stderr io.Writer) *reporter {
	return newTickingReporter(mode, stdout, stderr, clockTicks, nil)
}

// newTickingReporter is newReporter with the ticks of the progress lines
// from ticks, and ticked (if not nil) called after each tick's line.
func newTickingReporter(mode outputMode, stdout, stderr io.Writer, ticks tickSource, ticked func()) *reporter {
	if mode.Interval == 0 {
		mode.Interval = 10 * time.Second
	}
	r := &reporter{mode: mode, stdout: stdout, stderr: stderr, now: time.Now, ticked: ticked}
	r.started = r.now()
	if mode.TTY && !mode.JSON && !mode.Quiet && !mode.DryRun {
		r.bar = newByteBar(stderr)
	}
	if interval := r.tickInterval(); interval > 0 {
		c, stop := ticks(interval)
		r.stopTick, r.tickDone = make(chan struct{}), make(chan struct{})
		go r.tick(c, stop)
	}
	return r
}

// periodic reports whether the run prints progress lines (with --json
// progress events) every Interval: when stderr is not a terminal, or
// with --json, and not with -q or --dry-run.
func (r *reporter) periodic() bool {
	return (!r.mode.TTY || r.mode.JSON) && !r.mode.Quiet && !r.mode.DryRun
}

// tickInterval is how often the ticker runs: every Interval for progress
// lines, every barRedraw for the bar, 0 for no ticker.
func (r *reporter) tickInterval() time.Duration {
	switch {
	case r.periodic():
		return r.mode.Interval
	case r.bar != nil:
		return barRedraw
	}
	return 0
}

// tick prints a progress line (or draws the bar again) at every tick until
// Finish, also while nothing happens: a log shows a stalled run as such,
// with the time, and the bar's rates and time left move.
func (r *reporter) tick(ticks <-chan time.Time, stop func()) {
	defer close(r.tickDone)
	defer stop()
	for {
		select {
		case <-r.stopTick:
			return
		case <-ticks:
			r.mu.Lock()
			if r.finished {
				// Finish has drawn the last frame.
			} else if r.bar != nil {
				r.bar.redraw()
			} else {
				r.progressLineLocked()
			}
			r.mu.Unlock()
			if r.ticked != nil {
				r.ticked()
			}
		}
	}
}

// jsonLine writes one JSON object per line. Callers hold r.mu.
func (r *reporter) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	b = append(b, '\n')
	_, _ = r.stdout.Write(b)
}

// errLine prints a line on stderr, above the progress bar if there is one.
// Callers hold r.mu.
// The line is passed through safeText: folder names, message IDs and
// errors come from the stores.
func (r *reporter) errLine(format string, args ...any) {
	r.bar.clear()
	fmt.Fprintln(r.stderr, safeText(fmt.Sprintf(format, args...)))
}

// outLine prints a line built from store data on stdout, escaped as
// errLine does. Callers hold r.mu.
func (r *reporter) outLine(format string, args ...any) {
	fmt.Fprintln(r.stdout, safeText(fmt.Sprintf(format, args...)))
}

type jsonEvent struct {
	Type    string `json:"type"`
	Folder  string `json:"folder,omitempty"`
	ID      string `json:"id,omitempty"`
	Dest    string `json:"dest,omitempty"`
	Subject string `json:"subject,omitempty"`
	Count   int    `json:"count,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// Event implements transfer.Progress.
func (r *reporter) Event(e transfer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := ""
	if e.Message != nil {
		id = e.Message.ID
	}
	errText := ""
	if e.Err != nil {
		errText = e.Err.Error()
	}
	switch e.Kind {
	case transfer.EventPlanned:
		r.planned += e.Count
		r.bytes += e.Bytes
		r.folders++
		r.bar.planned(r.bytes, r.folders)
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "planned", Folder: e.Folder, Dest: e.Text, Count: e.Count, Bytes: e.Bytes})
		} else if r.mode.DryRun && !r.mode.Quiet {
			r.outLine("%s → %s: %s to copy, %s", e.Folder, e.Text, plural.Count(e.Count, "message"), formatBytes(e.Bytes))
		} else if r.mode.Verbose {
			r.errLine("%s → %s: %s to copy, %s", e.Folder, e.Text, plural.Count(e.Count, "message"), formatBytes(e.Bytes))
		}
	case transfer.EventPlanMessage:
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "plan", Folder: e.Folder, ID: id, Dest: e.Text, Bytes: e.Bytes})
		} else if r.mode.Verbose {
			r.outLine("  would copy %s message %s (%s) → %s", e.Folder, id, formatBytes(e.Bytes), e.Text)
		}
	case transfer.EventCopied:
		r.copied++
		r.copiedB += e.Bytes
		r.folder = e.Folder
		r.bar.add(e.Bytes, e.Folder, r.copied, r.planned)
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "copied", Folder: e.Folder, ID: id, Dest: e.Text, Subject: e.Subject, Bytes: e.Bytes})
		} else if r.mode.Verbose {
			r.errLine("copied %s %s (%s)", e.Folder, describeMessage(e.Message, e.Subject), formatBytes(e.Bytes))
		}
	case transfer.EventSkipped:
		n := e.Count
		if e.Message != nil && n == 0 {
			n = 1
		}
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "skipped", Folder: e.Folder, ID: id, Count: n, Reason: e.Text})
		} else if r.mode.Verbose {
			if id != "" {
				r.errLine("skipped %s %s: %s", e.Folder, describeMessage(e.Message, ""), e.Text)
			} else {
				r.errLine("skipped %s in %s: %s", plural.Count(n, "message"), e.Folder, e.Text)
			}
		}
	case transfer.EventFailed:
		r.failed++
		me := failure(e)
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "failed", Folder: me.Folder, ID: me.ID, Dest: me.Dest, Subject: me.Subject, Error: me.Err.Error()})
		}
		r.errLine("failed: %s", me)
		r.logLocked(slog.LevelError, "failed", "folder", me.Folder, "id", me.ID, "dest", me.Dest, "subject", me.Subject, "error", me.Err.Error())
	case transfer.EventRetry:
		r.logLocked(slog.LevelWarn, "retrying", "folder", e.Folder, "attempt", e.Count, "error", errText)
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "retry", Folder: e.Folder, Count: e.Count, Error: errText})
		} else if !r.mode.Quiet {
			r.errLine("retrying (attempt %d) %s: %s", e.Count, e.Folder, errText)
		}
	case transfer.EventWarning:
		if r.mode.JSON {
			// The folder and message are fields, the text is the
			// warning alone.
			text := warningText(transfer.Event{Text: e.Text, Err: e.Err})
			r.jsonLine(jsonEvent{Type: "warning", Folder: e.Folder, ID: id, Message: text})
			r.logLocked(slog.LevelWarn, "warning", "folder", e.Folder, "id", id, "message", text)
			break
		}
		r.warnLocked(warningText(e))
	case transfer.EventDeleted:
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "deleted", Folder: e.Folder, Count: e.Count})
		} else if r.mode.Verbose {
			r.errLine("deleted %s from source folder %s", plural.Count(e.Count, "message"), e.Folder)
		}
	case transfer.EventFolderCreated:
		if r.mode.JSON {
			r.jsonLine(jsonEvent{Type: "folder", Folder: e.Folder, Dest: e.Text})
		} else if r.mode.Verbose {
			r.errLine("created folder %q (for source folder %q)", e.Text, e.Folder)
		}
	case transfer.EventExtraneous:
		switch {
		case r.mode.JSON:
			r.jsonLine(jsonEvent{Type: "extraneous", Folder: e.Folder, Dest: e.Text, Count: e.Count})
		case r.mode.DryRun:
			r.outLine("%s → %s: %s of messages gone from the source would be deleted", e.Folder, e.Text, plural.CountOf(e.Count, "copy", "copies"))
		case r.mode.Verbose:
			r.errLine("deleted %s in %s of messages gone from %s", plural.CountOf(e.Count, "copy", "copies"), e.Text, e.Folder)
		}
	case transfer.EventFlagsSynced:
		switch {
		case r.mode.JSON:
			r.jsonLine(jsonEvent{Type: "flags", Folder: e.Folder, Dest: e.Text, Count: e.Count})
		case r.mode.DryRun:
			r.outLine("%s → %s: flags of %s would be updated", e.Folder, e.Text, plural.Count(e.Count, "message"))
		case r.mode.Verbose:
			r.errLine("updated the flags of %s of %s in %s", plural.Count(e.Count, "message"), e.Folder, e.Text)
		}
	}
}

// describeMessage names a message as a person recognises it: beside the
// ID the store gives it, its Subject (shortened) and date:
// `message 1700000000.3, "Lunch on Thursday?", 2024-03-05 12:30`.
func describeMessage(m *transfer.Message, subject string) string {
	s := "message " + m.ID
	if subject != "" {
		s += fmt.Sprintf(", %q", shorten(subject, 50))
	}
	if !m.Date.IsZero() {
		s += ", " + m.Date.Local().Format("2006-01-02 15:04")
	}
	return s
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func warningText(e transfer.Event) string {
	s := e.Text
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	switch {
	case e.Folder != "" && e.Message != nil:
		s = fmt.Sprintf("source folder %q, message %s: %s", e.Folder, e.Message.ID, s)
	case e.Folder != "":
		s = fmt.Sprintf("source folder %q: %s", e.Folder, s)
	}
	return s
}

// failure is the *transfer.MessageError of a failure event: the one the
// pipeline made, or one built from the event's folder and message. Either
// way the line names the message once, its parts labelled.
func failure(e transfer.Event) *transfer.MessageError {
	var me *transfer.MessageError
	if errors.As(e.Err, &me) {
		return me
	}
	me = &transfer.MessageError{Folder: e.Folder, Err: e.Err}
	if e.Message != nil {
		me.ID = e.Message.ID
	}
	if me.Err == nil {
		me.Err = errors.New("failed")
	}
	return me
}

// progressLineLocked prints a plain progress line (with --json a progress
// event): what the bar shows on a terminal, with a timestamp, so a log
// shows the run is alive without a line per message.
func (r *reporter) progressLineLocked() {
	now := r.now()
	p := r.progressLocked(now)
	if r.mode.JSON {
		r.jsonLine(p)
		return
	}
	s := ""
	if p.BytesPerSecond > 0 {
		s = fmt.Sprintf(", %s/s, %.1f msgs/s", formatBytes(int64(p.BytesPerSecond)), p.MessagesPerSecond)
		if p.ETASeconds != nil {
			s += fmt.Sprintf(", about %s left", (time.Duration(*p.ETASeconds) * time.Second).Round(time.Second))
		}
	}
	if p.Folder != "" {
		s += ", " + safeText(p.Folder)
	}
	fmt.Fprintf(r.stderr, "progress: %d of %s copied, %s of %s%s, %s\n",
		p.Copied, plural.Count(p.Messages, "message"), formatBytes(p.Bytes), formatBytes(p.BytesTotal), s, p.Time)
}

// jsonProgress is the progress event of --json: the figures of the plain
// progress line.
type jsonProgress struct {
	Type              string  `json:"type"`
	Copied            int     `json:"copied"`
	Messages          int     `json:"messages"`
	Bytes             int64   `json:"bytes"`
	BytesTotal        int64   `json:"bytes_total"`
	BytesPerSecond    float64 `json:"bytes_per_second"`
	MessagesPerSecond float64 `json:"messages_per_second"`
	ETASeconds        *int64  `json:"eta_seconds,omitempty"`
	Folder            string  `json:"folder,omitempty"`
	Time              string  `json:"time"`
}

// progressLocked says how far the copy is, how fast it goes and when it
// will end, from what was copied since the run started. The plan is
// complete before the first copy, so the totals do not move.
func (r *reporter) progressLocked(now time.Time) jsonProgress {
	p := jsonProgress{Type: "progress", Copied: r.copied, Messages: r.planned, Bytes: r.copiedB,
		BytesTotal: r.bytes, Folder: r.folder, Time: now.UTC().Format(time.RFC3339)}
	elapsed := now.Sub(r.started).Seconds()
	if r.copiedB == 0 || elapsed <= 0 {
		return p
	}
	p.BytesPerSecond = math.Round(float64(r.copiedB)/elapsed*10) / 10
	p.MessagesPerSecond = math.Round(float64(r.copied)/elapsed*10) / 10
	if left := r.bytes - r.copiedB; left > 0 && p.BytesPerSecond > 0 {
		eta := int64(math.Round(float64(left) / (float64(r.copiedB) / elapsed)))
		p.ETASeconds = &eta
	}
	return p
}

// Warn reports something the user should know that does not fail the run.
// Sources and sinks get it as their Warn option.
func (r *reporter) Warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnLocked(msg)
}

func (r *reporter) warnLocked(msg string) {
	r.logLocked(slog.LevelWarn, "warning", "message", msg)
	if r.mode.JSON {
		r.jsonLine(jsonEvent{Type: "warning", Message: msg})
		return
	}
	if !r.mode.Quiet {
		r.errLine("warning: %s", msg)
	}
}

// Info prints a line the user asked to see (not with -q or --json).
func (r *reporter) Info(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mode.Quiet || r.mode.JSON {
		return
	}
	r.errLine(format, args...)
}

// jsonSummary is the last line of --json output; its shape is a contract.
// jsonChanges is the line before the summary that counts what a run
// changed besides copying, when it changed anything: the summary line's
// shape stays exactly as documented.
type jsonChanges struct {
	Type           string            `json:"type"`
	FlagsSynced    int               `json:"flags_synced,omitempty"`
	FoldersCreated int               `json:"folders_created,omitempty"`
	DestDeleted    int               `json:"dest_deleted,omitempty"`
	Moved          int               `json:"moved,omitempty"`
	Rewritten      int               `json:"rewritten,omitempty"`
	Subscriptions  int               `json:"subscriptions_changed,omitempty"`
	Renamed        map[string]string `json:"renamed,omitempty"`
}

// jsonFolderSummary is a line of --json output before the summary: what
// the copy did with one source folder, as the report says it.
type jsonFolderSummary struct {
	Type string `json:"type"`
	reportFolder
}

type jsonSummary struct {
	Type     string  `json:"type"`
	Copied   int     `json:"copied"`
	Skipped  int     `json:"skipped"`
	Failed   int     `json:"failed"`
	Filtered int     `json:"filtered"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
}

// Finish ends the output of a run: the bar is closed, an error is printed
// and the summary is written (with --json always, as the last line).
func (r *reporter) Finish(s transfer.Summary, runErr error) {
	if r.stopTick != nil {
		// Stop the ticker first (not holding mu, which a tick takes), so
		// no progress line follows the summary.
		close(r.stopTick)
		<-r.tickDone
		r.stopTick = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = true
	r.bar.finish(runErr == nil)
	code := exitCode(runErr)
	if runErr != nil {
		fmt.Fprintf(r.stderr, "mailferry: %s\n", safeError(runErr))
		r.logLocked(slog.LevelError, "error", "error", runErr.Error(), "exit_code", code)
	}
	r.logSummaryLocked(s, code)
	if r.mode.JSON {
		if runErr != nil {
			r.jsonLine(struct {
				Type  string `json:"type"`
				Error string `json:"error"`
				Exit  int    `json:"exit"`
			}{"error", runErr.Error(), code})
		}
		if !r.mode.DryRun {
			for _, f := range s.Folders {
				r.jsonLine(jsonFolderSummary{Type: "folder-summary", reportFolder: reportFolder(f)})
			}
		}
		if s.FlagsSynced > 0 || s.FoldersCreated > 0 || s.DestDeleted > 0 || s.Moved > 0 || s.Rewritten > 0 || s.SubscriptionsChanged > 0 || len(s.Renamed) > 0 {
			r.jsonLine(jsonChanges{Type: "changes", FlagsSynced: s.FlagsSynced, FoldersCreated: s.FoldersCreated,
				DestDeleted: s.DestDeleted, Moved: s.Moved, Rewritten: s.Rewritten, Subscriptions: s.SubscriptionsChanged, Renamed: s.Renamed})
		}
		r.jsonLine(jsonSummary{Type: "summary", Copied: s.Copied, Skipped: s.Skipped, Failed: s.Failed,
			Filtered: s.Filtered, Bytes: s.Bytes, Seconds: roundSeconds(s.Seconds)})
		return
	}
	// When nothing was done, the error says it all.
	nothingDone := runErr != nil && code != exitPartial && !errors.Is(runErr, errInterrupted) && s.Copied == 0
	if !r.mode.DryRun && !nothingDone {
		if rows := folderTableRows(s.Folders, r.mode.Quiet); len(rows) > 0 {
			writeFolderTable(r.stdout, rows)
		}
	}
	if r.mode.Quiet || nothingDone {
		return
	}
	filtered := ""
	if s.Filtered > 0 {
		filtered = fmt.Sprintf(", filtered %d", s.Filtered)
	}
	if r.mode.DryRun {
		fmt.Fprintf(r.stdout, "dry run: %s, %s would be copied, %d skipped%s; nothing was written\n",
			plural.Count(r.planned, "message"), formatBytes(r.bytes), s.Skipped, filtered)
		return
	}
	flags := filtered
	if s.FlagsSynced > 0 {
		flags += fmt.Sprintf(", flags updated on %d", s.FlagsSynced)
	}
	if s.DestDeleted > 0 {
		flags += fmt.Sprintf(", %d deleted at the destination (gone from the source)", s.DestDeleted)
	}
	if s.Rewritten > 0 {
		flags += fmt.Sprintf(", %s stored differently by the destination (listed above)", plural.Count(s.Rewritten, "message"))
	}
	if s.Moved > 0 {
		flags += fmt.Sprintf(", %d moved at the destination (moved at the source)", s.Moved)
	}
	if s.FoldersCreated > 0 {
		flags += fmt.Sprintf(", %s created", plural.Count(s.FoldersCreated, "empty folder"))
	}
	if s.SubscriptionsChanged > 0 {
		flags += fmt.Sprintf(", %s subscribed or unsubscribed as at the source", plural.Count(s.SubscriptionsChanged, "folder"))
	}
	fmt.Fprintf(r.stdout, "copied %s (%s), skipped %d%s, failed %d in %.1fs\n",
		plural.Count(s.Copied, "message"), formatBytes(s.Bytes), s.Skipped, flags, s.Failed, s.Seconds)
	for _, from := range slices.Sorted(maps.Keys(s.Renamed)) {
		fmt.Fprintf(r.stdout, "renamed: folder %q is stored as %q (the destination refused the name)\n", from, s.Renamed[from])
	}
}

// logLocked writes a record to the --log-file, if there is one. Callers
// hold r.mu.
func (r *reporter) logLocked(level slog.Level, msg string, args ...any) {
	if r.log != nil {
		r.log.Log(context.Background(), level, msg, args...)
	}
}

// logSummaryLocked logs what the run did, per folder and in total.
// Callers hold r.mu.
func (r *reporter) logSummaryLocked(s transfer.Summary, code int) {
	if r.log == nil {
		return
	}
	for _, f := range s.Folders {
		r.logLocked(slog.LevelInfo, "folder", "folder", f.Folder, "dest", f.Dest, "copied", f.Copied, "skipped", f.Skipped,
			"filtered", f.Filtered, "failed", f.Failed, "bytes", f.Bytes)
	}
	level := slog.LevelInfo
	if code != exitOK {
		level = slog.LevelError
	}
	r.logLocked(level, "summary", "copied", s.Copied, "skipped", s.Skipped, "filtered", s.Filtered, "failed", s.Failed,
		"bytes", s.Bytes, "seconds", roundSeconds(s.Seconds), "dry_run", r.mode.DryRun, "exit_code", code)
}

// SetLog makes l the --log-file's logger.
func (r *reporter) SetLog(l *slog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = l
}

// Log writes a record to the --log-file, if there is one.
func (r *reporter) Log(level slog.Level, msg string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logLocked(level, msg, args...)
}
