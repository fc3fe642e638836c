package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

func feed(r *reporter) {
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Text: "INBOX", Count: 3, Bytes: 3000})
	for i := 0; i < 3; i++ {
		r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "x"}, Bytes: 1000})
	}
	r.Event(transfer.Event{Kind: transfer.EventWarning, Folder: "INBOX", Text: "keyword dropped"})
	r.Finish(transfer.Summary{Copied: 3, Bytes: 3000, Seconds: 0.5}, nil)
}

func TestReporterTerminalDrawsABar(t *testing.T) {
	var stdout, stderr bytes.Buffer
	feed(newReporter(outputMode{TTY: true}, &stdout, &stderr))
	if !strings.Contains(stderr.String(), "\r") || !strings.Contains(stderr.String(), "3/3 msgs") {
		t.Errorf("no progress bar on a terminal:\n%q", stderr.String())
	}
	if !strings.Contains(stderr.String(), `warning: source folder "INBOX": keyword dropped`) {
		t.Errorf("warning lost under the bar:\n%q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "copied 3 messages (2.9 KiB)") {
		t.Errorf("summary: %q", stdout.String())
	}
}

// Messages the filters left out are counted apart from those skipped.
func TestReporterSummaryCountsFiltered(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{}, &stdout, &stderr)
	r.Finish(transfer.Summary{Copied: 2, Skipped: 1, Filtered: 3, FlagsSynced: 1, Bytes: 2048, Seconds: 0.5}, nil)
	if want := "copied 2 messages (2.0 KiB), skipped 1, filtered 3, flags updated on 1, failed 0 in 0.5s\n"; stdout.String() != want {
		t.Errorf("summary %q, want %q", stdout.String(), want)
	}
	stdout.Reset()
	r = newReporter(outputMode{DryRun: true}, &stdout, &stderr)
	r.Finish(transfer.Summary{Skipped: 1, Filtered: 3}, nil)
	if want := "dry run: 0 messages, 0 B would be copied, 1 skipped, filtered 3; nothing was written\n"; stdout.String() != want {
		t.Errorf("dry-run summary %q, want %q", stdout.String(), want)
	}
}

// manualTicker gives a reporter its progress ticks from the test: tick
// returns once the tick's line is printed.
type manualTicker struct {
	ticks    chan time.Time
	done     chan struct{}
	interval time.Duration // what the reporter asked for
}

func tickingReporter(mode outputMode, stdout, stderr *bytes.Buffer) (*reporter, *manualTicker) {
	m := &manualTicker{ticks: make(chan time.Time), done: make(chan struct{})}
	source := func(d time.Duration) (<-chan time.Time, func()) {
		m.interval = d
		return m.ticks, func() {}
	}
	return newTickingReporter(mode, stdout, stderr, source, func() { m.done <- struct{}{} }), m
}

func (m *manualTicker) tick() {
	m.ticks <- time.Time{}
	<-m.done
}

func TestReporterPlainLines(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r, ticker := tickingReporter(outputMode{}, &stdout, &stderr)
	if ticker.interval != 10*time.Second {
		t.Errorf("progress lines every %v, want 10s by default", ticker.interval)
	}
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Text: "INBOX", Count: 3, Bytes: 3000})
	for i := 0; i < 3; i++ {
		r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "x"}, Bytes: 1000})
	}
	if strings.Contains(stderr.String(), "progress:") {
		t.Errorf("a progress line before the tick:\n%s", stderr.String())
	}
	ticker.tick()
	r.Finish(transfer.Summary{Copied: 3, Bytes: 3000, Seconds: 0.5}, nil)
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("carriage return without a terminal:\n%q", stderr.String())
	}
	if strings.Count(stderr.String(), "progress: 3 of 3 messages copied") != 1 {
		t.Errorf("not one periodic progress line:\n%s", stderr.String())
	}
}

// TestReporterStalledRunStillPrints: off a terminal a timestamped line
// comes at every tick, also while nothing is copied, with the same
// figures: messages and bytes done of planned, the rates and time left
// (from the whole run, so they fall while it stalls), the folder. No line
// follows the summary.
func TestReporterStalledRunStillPrints(t *testing.T) {
	var stdout, stderr bytes.Buffer
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, ticker := tickingReporter(outputMode{Interval: 30 * time.Second}, &stdout, &stderr)
	if ticker.interval != 30*time.Second {
		t.Errorf("the ticker was asked for %v, want --progress-interval's 30s", ticker.interval)
	}
	r.now = func() time.Time { return clock }
	r.started = clock
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Count: 2, Bytes: 2000})
	clock = clock.Add(10 * time.Second)
	ticker.tick() // planned, nothing copied yet
	clock = clock.Add(10 * time.Second)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "1"}, Bytes: 1000})
	ticker.tick()
	clock = clock.Add(20 * time.Second)
	ticker.tick() // stalled: nothing happened since the last line
	r.Finish(transfer.Summary{Copied: 1, Bytes: 1000, Seconds: 40}, nil)
	want := "progress: 0 of 2 messages copied, 0 B of 2.0 KiB, 2026-01-02T03:04:15Z\n" +
		"progress: 1 of 2 messages copied, 1000 B of 2.0 KiB, 50 B/s, 0.1 msgs/s, about 20s left, INBOX, 2026-01-02T03:04:25Z\n" +
		"progress: 1 of 2 messages copied, 1000 B of 2.0 KiB, 25 B/s, 0.0 msgs/s, about 40s left, INBOX, 2026-01-02T03:04:45Z\n"
	if stderr.String() != want {
		t.Errorf("progress lines:\n%s\nwant:\n%s", stderr.String(), want)
	}
	if stdout.String() != "copied 1 message (1000 B), skipped 0, failed 0 in 40.0s\n" {
		t.Errorf("summary %q", stdout.String())
	}
}

func TestReporterQuiet(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{Quiet: true, TTY: true, Interval: time.Nanosecond}, &stdout, &stderr)
	feed(r)
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("-q printed on success: %q %q", stdout.String(), stderr.String())
	}
	// A failure is printed even with -q.
	r.Event(transfer.Event{Kind: transfer.EventFailed, Folder: "Sent", Message: &transfer.Message{ID: "42"}, Err: errors.New("too big")})
	if !strings.Contains(stderr.String(), `failed: source folder "Sent", message 42: too big`) {
		t.Errorf("failure under -q: %q", stderr.String())
	}
}

func TestReporterJSONSummaryLast(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{JSON: true, TTY: true}, &stdout, &stderr)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "1"}, Bytes: 10})
	r.Finish(transfer.Summary{Copied: 1, Bytes: 10, Seconds: 1.23456}, &partialError{failed: 2})
	want := `{"type":"summary","copied":1,"skipped":0,"failed":0,"filtered":0,"bytes":10,"seconds":1.235}`
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("a bar was drawn with --json: %q", stderr.String())
	}
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"Archive/Übersicht":            "Archive/Übersicht",
		"a\nfailed: forged":            `a\nfailed: forged`,
		"\x1b[2J\x1b[31mred":           `\x1b[2J\x1b[31mred`,
		"tab\there\rcr":                `tab\there\rcr`,
		"bidi \u202egnp.exe":           `bidi \u202egnp.exe`,
		"line\u2028sep":                `line\u2028sep`,
		"bad \xff utf8, del \x7f":      `bad \xff utf8, del \x7f`,
		"c1 \u0085 next line":          `c1 \x85 next line`,
		`a literal \n stays as it was`: `a literal \n stays as it was`,
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReporterEscapesStoreText: a message ID or folder with a newline or an
// escape sequence cannot forge a line in -v output or warnings; JSON stays
// JSON-escaped.
func TestReporterEscapesStoreText(t *testing.T) {
	var out, errOut bytes.Buffer
	r := newReporter(outputMode{Verbose: true}, &out, &errOut)
	m := transfer.Message{ID: "1700.M1.host\nfailed: folder \"INBOX\", message 1: forged"}
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX\x1b[2K", Message: &m, Bytes: 10})
	r.Warn("skipping /m/cur/x\ny: not a regular file")
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	want := []string{
		`copied INBOX\x1b[2K message 1700.M1.host\nfailed: folder "INBOX", message 1: forged (10 B)`,
		`warning: skipping /m/cur/x\ny: not a regular file`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	out.Reset()
	r = newReporter(outputMode{JSON: true}, &out, &errOut)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX\x1b", Message: &m, Bytes: 10})
	var ev jsonEvent
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ev); err != nil || ev.ID != m.ID || ev.Folder != "INBOX\x1b" {
		t.Errorf("JSON line %q: %v, %+v", out.String(), err, ev)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("JSON output is not one line: %q", out.String())
	}
}

func TestReporterJSONWarningFields(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{JSON: true}, &stdout, &stderr)
	r.Event(transfer.Event{Kind: transfer.EventWarning, Folder: "Sent", Message: &transfer.Message{ID: "7.12"}, Text: "keyword dropped"})
	want := `{"type":"warning","folder":"Sent","id":"7.12","message":"keyword dropped"}` + "\n"
	if stdout.String() != want {
		t.Errorf("JSON warning %q, want %q", stdout.String(), want)
	}
}

// A run whose folders are planned one after another, the last while the
// bar already shows: the rendered totals never decrease, and the bar
// shows progressbar's byte rate and time left, the message rate and the
// folder.
func TestReporterBarTotalsNeverDecrease(t *testing.T) {
	defer func(d time.Duration) { barThrottle = d }(barThrottle)
	barThrottle = 0
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{TTY: true}, &stdout, &stderr)
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Text: "INBOX", Count: 2, Bytes: 2_000_000})
	planning := stderr.String()
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "Sent", Text: "Sent", Count: 2, Bytes: 2_000_000})
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "1"}, Bytes: 1_000_000})
	time.Sleep(20 * time.Millisecond)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "2"}, Bytes: 1_000_000})
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "Archive", Text: "Archive", Count: 1, Bytes: 1_000_000})
	for i := 3; i <= 5; i++ {
		time.Sleep(10 * time.Millisecond)
		r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "Sent", Message: &transfer.Message{ID: "x"}, Bytes: 1_000_000})
	}
	r.Finish(transfer.Summary{Copied: 5, Bytes: 5_000_000, Seconds: 0.1}, nil)
	out := stderr.String()
	if !strings.Contains(planning, "planning: 1 folder planned") {
		t.Errorf("while planning the bar says %q", planning)
	}
	frames := regexp.MustCompile(`(\d+)/(\d+) msgs[^|\r]*\|[^|]*\| \(([\d.]+)/([\d.]+) MB, [\d.]+ [kMG]?B/s\)`).FindAllStringSubmatch(out, -1)
	if len(frames) < 3 {
		t.Fatalf("%d frames with messages, bytes and rate:\n%q", len(frames), out)
	}
	prevMsgs, prevBytes := 0.0, 0.0
	for _, f := range frames {
		msgs, _ := strconv.ParseFloat(f[2], 64)
		total, _ := strconv.ParseFloat(f[4], 64)
		if msgs < prevMsgs || total < prevBytes {
			t.Errorf("a total went backwards: %s after %v msgs, %v MB\n%q", f[0], prevMsgs, prevBytes, out)
		}
		prevMsgs, prevBytes = msgs, total
	}
	if last := frames[len(frames)-1]; last[1] != "5" || last[2] != "5" || last[4] != "5.0" {
		t.Errorf("last frame %q, want 5/5 msgs of 5.0 MB", last[0])
	}
	if !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(out) || !strings.Contains(out, "msgs/s, Sent") {
		t.Errorf("no time left, message rate or folder in the bar:\n%q", out)
	}
}

func TestReporterJSONProgress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, ticker := tickingReporter(outputMode{JSON: true, TTY: true, Interval: 10 * time.Second}, &stdout, &stderr)
	r.now = func() time.Time { return now }
	r.started = now
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Text: "INBOX", Count: 2, Bytes: 2000})
	now = now.Add(10 * time.Second)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "1"}, Bytes: 1000})
	ticker.tick()
	want := `{"type":"progress","copied":1,"messages":2,"bytes":1000,"bytes_total":2000,"bytes_per_second":100,"messages_per_second":0.1,"eta_seconds":10,"folder":"INBOX","time":"2026-01-02T03:04:15Z"}`
	if !strings.Contains(stdout.String(), want+"\n") {
		t.Errorf("--json progress:\n%s\nwant a line\n%s", stdout.String(), want)
	}
}

func TestReporterVerboseNamesMessages(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := newReporter(outputMode{Verbose: true}, &stdout, &stderr)
	date := time.Date(2024, 3, 5, 12, 30, 0, 0, time.Local)
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "17.3", Date: date},
		Subject: "Re: Lunch on Thursday? We could also go to the new place by the river", Bytes: 1234})
	r.Event(transfer.Event{Kind: transfer.EventSkipped, Folder: "Sent", Message: &transfer.Message{ID: "17.4", Date: date}, Text: "already at the destination"})
	for _, want := range []string{
		`copied INBOX message 17.3, "Re: Lunch on Thursday? We could also go to the ne…", 2024-03-05 12:30 (1.2 KiB)`,
		`skipped Sent message 17.4, 2024-03-05 12:30: already at the destination`,
	} {
		if !strings.Contains(stderr.String(), want+"\n") {
			t.Errorf("-v output lacks\n%s\n%s", want, stderr.String())
		}
	}
}

// On a terminal a stalled run's bar is drawn again at every tick: the
// messages done stay, the message rate falls, and the ticker runs every
// barRedraw rather than every --progress-interval.
func TestReporterBarRedrawsWhileStalled(t *testing.T) {
	defer func(d time.Duration) { barThrottle = d }(barThrottle)
	barThrottle = 0
	var stdout, stderr bytes.Buffer
	r, ticker := tickingReporter(outputMode{TTY: true, Interval: 30 * time.Second}, &stdout, &stderr)
	if ticker.interval != barRedraw {
		t.Errorf("the bar's ticker runs every %v, want %v", ticker.interval, barRedraw)
	}
	r.Event(transfer.Event{Kind: transfer.EventPlanned, Folder: "INBOX", Text: "INBOX", Count: 2, Bytes: 2_000_000})
	r.Event(transfer.Event{Kind: transfer.EventCopied, Folder: "INBOX", Message: &transfer.Message{ID: "1"}, Bytes: 1_000_000})
	rates := regexp.MustCompile(`1/2 msgs, ([\d.]+) msgs/s, INBOX`)
	before := rates.FindAllStringSubmatch(stderr.String(), -1)
	if len(before) == 0 {
		t.Fatalf("no frame after the first message:\n%q", stderr.String())
	}
	time.Sleep(50 * time.Millisecond)
	ticker.tick()
	after := rates.FindAllStringSubmatch(stderr.String(), -1)
	if len(after) <= len(before) {
		t.Fatalf("the tick drew no frame:\n%q", stderr.String())
	}
	first, _ := strconv.ParseFloat(before[len(before)-1][1], 64)
	last, _ := strconv.ParseFloat(after[len(after)-1][1], 64)
	if last >= first {
		t.Errorf("message rate %v after a stall, %v before: it should fall", last, first)
	}
	r.Finish(transfer.Summary{Copied: 1, Bytes: 1_000_000, Seconds: 0.1}, nil)
}
