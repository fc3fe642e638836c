package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

var baseDate = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// body returns a distinct message with LF line endings (or CRLF).
func body(folder string, i int, crlf bool) []byte {
	s := fmt.Sprintf("Message-ID: <%d.%s@example.org>\nFrom: a@example.org\nSubject: message %d in %s\n\nHello %d\n>From the body\n",
		i, strings.ReplaceAll(folder, "/", "."), i, folder, i)
	if crlf {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return []byte(s)
}

// fill adds n messages to each folder; message i has flags and a date
// derived from i.
func fill(src *transfertest.MemSource, n int, crlf bool, folders ...string) {
	flagSets := [][]string{nil, {`\Seen`}, {`\Seen`, `\Flagged`}, {`\Answered`, "$Forwarded", "work"}}
	for _, f := range folders {
		for i := range n {
			src.Add(transfer.Message{
				Folder: f,
				ID:     fmt.Sprintf("%s-%d", f, i),
				Flags:  flagSets[i%len(flagSets)],
				Date:   baseDate.Add(time.Duration(i) * time.Hour),
				CRLF:   crlf,
			}, body(f, i, crlf))
		}
	}
}

// fast sets options that keep tests quick.
func fast(opts transfer.Options) transfer.Options {
	if opts.RetryDelay == 0 {
		opts.RetryDelay = time.Millisecond
	}
	if opts.SourceKey == "" {
		opts.SourceKey = "mem:src"
	}
	return opts
}

func journal(t *testing.T, path string) *transfer.Journal {
	t.Helper()
	j, err := transfer.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// events collects progress events.
type events struct {
	mu  sync.Mutex
	all []transfer.Event
}

func (e *events) Event(ev transfer.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) of(kind transfer.EventKind) []transfer.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []transfer.Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// countByText sums the Count of events of a kind with a given text.
func (e *events) countByText(kind transfer.EventKind, text string) int {
	n := 0
	for _, ev := range e.of(kind) {
		if ev.Text == text {
			n += ev.Count
		}
	}
	return n
}

// checkCopies asserts that the sink holds every message of the source
// folders exactly once, byte for byte, with flags and dates, under
// destName(folder).
func checkCopies(t *testing.T, src *transfertest.MemSource, dst *transfertest.MemSink, destName func(string) string, folders ...string) {
	t.Helper()
	for _, f := range folders {
		listed, err := src.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		stored := dst.Messages(destName(f))
		byID := make(map[string][]transfertest.Stored)
		for _, st := range stored {
			byID[st.ID] = append(byID[st.ID], st)
		}
		for _, m := range listed {
			got := byID[m.ID]
			if len(got) != 1 {
				t.Errorf("folder %s, message %s: %d copies in %s", f, m.ID, len(got), destName(f))
				continue
			}
			st := got[0]
			var want bytes.Buffer
			want.Write(body(f, idx(m.ID), m.CRLF))
			if !bytes.Equal(st.Body, want.Bytes()) {
				t.Errorf("folder %s, message %s: body differs:\n%q\nwant\n%q", f, m.ID, st.Body, want.Bytes())
			}
			if !slices.Equal(st.Flags, m.Flags) || !st.Date.Equal(m.Date) || st.CRLF != m.CRLF || st.Size != int64(len(st.Body)) {
				t.Errorf("folder %s, message %s: stored %+v, want flags %v date %v crlf %v", f, m.ID, st.Message, m.Flags, m.Date, m.CRLF)
			}
		}
	}
}

func idx(id string) int {
	var n int
	fmt.Sscanf(id[strings.LastIndex(id, "-")+1:], "%d", &n)
	return n
}

func same(name string) string { return name }

func TestRunCopiesEverything(t *testing.T) {
	for _, crlf := range []bool{false, true} {
		t.Run(fmt.Sprintf("crlf=%v", crlf), func(t *testing.T) {
			src := transfertest.NewMemSource()
			src.Fetchers = 3
			folders := []string{"INBOX", "Archive", "Archive/2019", "Ünïcødé"}
			fill(src, 25, crlf, folders...)
			dst := transfertest.NewMemSink()
			j := journal(t, filepath.Join(t.TempDir(), "state"))
			ev := &events{}
			sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{
				Journal: j, Progress: ev, ChunkSize: 7, Connections: 2,
			}))
			if err != nil {
				t.Fatal(err)
			}
			var wantBytes int64
			for _, f := range folders {
				for i := range 25 {
					wantBytes += int64(len(body(f, i, crlf)))
				}
			}
			if sum.Copied != 100 || sum.Skipped != 0 || sum.Failed != 0 || sum.Bytes != wantBytes || sum.Seconds <= 0 {
				t.Fatalf("summary %+v, want 100 copied, %d bytes", sum, wantBytes)
			}
			checkCopies(t, src, dst, same, folders...)
			if j.Len() != 100 {
				t.Errorf("journal holds %d records", j.Len())
			}
			if n := len(ev.of(transfer.EventCopied)); n != 100 {
				t.Errorf("%d EventCopied", n)
			}
			if n := src.MaxConcurrentFetches(); n > 2 {
				t.Errorf("%d concurrent fetches, limit is min(Connections 2, MaxFetchers 3)", n)
			}
			planned := 0
			for _, e := range ev.of(transfer.EventPlanned) {
				planned += e.Count
			}
			if planned != 100 {
				t.Errorf("planned %d", planned)
			}
		})
	}
}

func TestRunFetchLimitFromSource(t *testing.T) {
	src := transfertest.NewMemSource() // MaxFetchers 1
	fill(src, 20, false, "a", "b", "c", "d")
	dst := transfertest.NewMemSink()
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{ChunkSize: 3, Connections: 8})); err != nil {
		t.Fatal(err)
	}
	if n := src.MaxConcurrentFetches(); n != 1 {
		t.Fatalf("%d concurrent fetches from a source allowing 1", n)
	}
	checkCopies(t, src, dst, same, "a", "b", "c", "d")
}

func TestRunRerunCopiesNothing(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 10, true, "INBOX", "Sent")
	dst := transfertest.NewMemSink()
	path := filepath.Join(t.TempDir(), "state")
	j := journal(t, path)
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j})); err != nil {
		t.Fatal(err)
	}
	puts, fetches := dst.PutCalls(), src.FetchCalls()
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, Progress: ev}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 0 || sum.Skipped != 20 {
		t.Fatalf("summary %+v", sum)
	}
	if dst.PutCalls() != puts || src.FetchCalls() != fetches {
		t.Fatal("a re-run fetched or stored messages the journal knows")
	}
	if n := ev.countByText(transfer.EventSkipped, "already copied"); n != 20 {
		t.Fatalf("skipped events count %d", n)
	}
	// One more message arrives: only it is copied.
	src.Add(transfer.Message{Folder: "INBOX", ID: "INBOX-10", Date: baseDate}, body("INBOX", 10, false))
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 1 || sum.Skipped != 20 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	checkCopies(t, src, dst, same, "INBOX", "Sent")
}

func TestRunLostJournalDuplicatesNothing(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 10, false, "INBOX", "Work")
	// Two identical copies of one message in the source (same bytes, same
	// date), as mbox archives and careless clients produce.
	twin := transfer.Message{Folder: "INBOX", Date: baseDate}
	src.Add(twin, []byte("Message-ID: <twin@example.org>\n\ntwin\n"))
	src.Add(twin, []byte("Message-ID: <twin@example.org>\n\ntwin\n"))
	dst := transfertest.NewMemSink()
	dir := t.TempDir()
	j := journal(t, filepath.Join(dir, "one"))
	if sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j})); err != nil || sum.Copied != 22 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	// The state file is lost: a new one, and also none at all.
	fresh := journal(t, filepath.Join(dir, "two"))
	for name, j := range map[string]*transfer.Journal{"new journal": fresh, "no journal": nil} {
		ev := &events{}
		sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, Progress: ev}))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Copied != 0 || sum.Skipped != 22 || dst.Len() != 22 {
			t.Fatalf("%s: summary %+v, sink holds %d", name, sum, dst.Len())
		}
		if n := ev.countByText(transfer.EventSkipped, "already at destination"); n != 22 {
			t.Fatalf("%s: %d skipped as already at destination", name, n)
		}
	}
	// The new journal learned everything: the next run fetches nothing.
	fetches := src.FetchCalls()
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: fresh}))
	if err != nil || sum.Skipped != 22 || src.FetchCalls() != fetches {
		t.Fatalf("summary %+v, err %v, %d new fetches", sum, err, src.FetchCalls()-fetches)
	}
}

func TestRunIdenticalCopiesCountedByNumber(t *testing.T) {
	raw := []byte("Message-ID: <same@example.org>\nSubject: same\n\nsame body\n")
	src := transfertest.NewMemSource()
	src.Add(transfer.Message{Folder: "INBOX", ID: "a", Date: baseDate}, raw)
	src.Add(transfer.Message{Folder: "INBOX", ID: "b", Date: baseDate}, raw)
	dst := transfertest.NewMemSink()
	dst.Add(transfer.Message{Folder: "INBOX", ID: "earlier", Date: baseDate}, raw)
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 1 || sum.Skipped != 1 || len(dst.Messages("INBOX")) != 2 {
		t.Fatalf("summary %+v, sink holds %d", sum, len(dst.Messages("INBOX")))
	}
	// With the journal: nothing more. Without it: still nothing more,
	// the sink's two copies account for the source's two.
	for _, j := range []*transfer.Journal{j, nil} {
		sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
		if err != nil || sum.Copied != 0 || sum.Skipped != 2 || len(dst.Messages("INBOX")) != 2 {
			t.Fatalf("re-run: summary %+v, err %v, sink holds %d", sum, err, len(dst.Messages("INBOX")))
		}
	}
	// A third copy in the source is copied, once.
	src.Add(transfer.Message{Folder: "INBOX", ID: "c", Date: baseDate}, raw)
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 1 || len(dst.Messages("INBOX")) != 3 {
		t.Fatalf("third copy: summary %+v, err %v, sink holds %d", sum, err, len(dst.Messages("INBOX")))
	}
}

func TestRunCrashAfterPutBeforeJournal(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 12, true, "INBOX")
	dst := transfertest.NewMemSink()
	path := filepath.Join(t.TempDir(), "state")
	j := journal(t, path)
	crash := errors.New("killed")
	// The 5th message is stored, then the process "dies" before the
	// journal append.
	dst.AfterPut = func(n int, m transfer.Message) error {
		if n == 5 {
			return transfer.FatalError(crash)
		}
		return nil
	}
	_, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, Workers: 1}))
	if !errors.Is(err, crash) {
		t.Fatalf("err = %v", err)
	}
	if j.Len() != 4 || dst.Len() != 5 {
		t.Fatalf("journal %d, sink %d; want 4 and 5", j.Len(), dst.Len())
	}
	checkJournalInSink(t, j, src, dst, "INBOX")
	dst.AfterPut = nil
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 7 || sum.Skipped != 5 {
		t.Fatalf("summary %+v, want 7 copied and 5 skipped", sum)
	}
	checkCopies(t, src, dst, same, "INBOX")
}

// checkJournalInSink asserts the journal never records a message the sink
// does not hold.
func checkJournalInSink(t *testing.T, j *transfer.Journal, src *transfertest.MemSource, dst *transfertest.MemSink, folders ...string) {
	t.Helper()
	for _, f := range folders {
		listed, _ := src.List(context.Background(), f)
		held := make(map[string]bool)
		for _, st := range dst.Messages(f) {
			held[st.ID] = true
		}
		for _, m := range listed {
			if _, ok := j.Lookup("mem:src", f, m.ID); ok && !held[m.ID] {
				t.Errorf("journal records %s/%s, the sink does not hold it", f, m.ID)
			}
		}
	}
}

func TestRunFlusherCrashBeforeFlush(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 100, false, "INBOX")
	dst := transfertest.NewBufferedMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	crash := errors.New("power cut")
	flushes := 0
	// The first flush (after 64 messages) works; at the second, the
	// machine dies and the buffered messages are gone.
	dst.SetBeforeFlush(func(flush func()) error {
		flushes++
		if flushes == 1 {
			flush()
			return nil
		}
		dst.Crash()
		return transfer.FatalError(crash)
	})
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if !errors.Is(err, crash) {
		t.Fatalf("err = %v", err)
	}
	// The first flush may also have made durable a message whose Put
	// returned after the batch was taken: stored, but not journaled.
	// (A batch is taken once it holds 64, so with 4 workers it can hold a
	// few more.)
	journaled := j.Len()
	if held := dst.Len(); journaled < 64 || journaled > 64+4 || held < journaled || held > journaled+4 || sum.Copied != journaled {
		t.Fatalf("sink %d, journal %d, summary %+v; want 64 journaled and copied", held, journaled, sum)
	}
	checkJournalInSink(t, j, src, dst.MemSink, "INBOX")
	extra := dst.Len() - journaled
	dst.SetBeforeFlush(nil)
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 100-journaled-extra || sum.Skipped != journaled+extra {
		t.Fatalf("re-run: summary %+v, err %v (%d held but not journaled)", sum, err, extra)
	}
	checkCopies(t, src, dst.MemSink, same, "INBOX")
	if dst.Flushes() < 1 {
		t.Fatal("no flush")
	}
}

func TestRunFlusherStoredButUnacknowledged(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 30, false, "INBOX")
	dst := transfertest.NewBufferedMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	// The flush reaches the disk but its success is never reported.
	dst.SetBeforeFlush(func(flush func()) error {
		flush()
		return transfer.FatalError(errors.New("i/o error on the last fsync"))
	})
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j})); err == nil {
		t.Fatal("no error")
	}
	if j.Len() != 0 || dst.Len() != 30 {
		t.Fatalf("journal %d, sink %d", j.Len(), dst.Len())
	}
	dst.SetBeforeFlush(nil)
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 0 || sum.Skipped != 30 || j.Len() != 30 {
		t.Fatalf("re-run: summary %+v, err %v, journal %d", sum, err, j.Len())
	}
	checkCopies(t, src, dst.MemSink, same, "INBOX")
}

func TestRunFlusherBatches(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 150, false, "INBOX", "Other")
	dst := transfertest.NewBufferedMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 300 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	// 300 messages: 4 batches of 64 plus the rest at the end.
	if n := dst.Flushes(); n != 5 {
		t.Errorf("%d flushes, want 5", n)
	}
	checkCopies(t, src, dst.MemSink, same, "INBOX", "Other")
}

func TestRunTemporaryPutRetried(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 10, true, "INBOX")
	dst := transfertest.NewMemSink()
	fails := 0
	var mu sync.Mutex
	dst.BeforePut = func(n int, m transfer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if m.ID == "INBOX-3" && fails < 2 {
			fails++
			return transfer.TemporaryError(errors.New("connection reset"))
		}
		return nil
	}
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Progress: ev}))
	if err != nil || sum.Copied != 10 || sum.Failed != 0 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	retries := ev.of(transfer.EventRetry)
	if len(retries) != 2 || retries[1].Count != 2 || retries[0].Message == nil || retries[0].Message.ID != "INBOX-3" {
		t.Fatalf("retry events %+v", retries)
	}
	checkCopies(t, src, dst, same, "INBOX")
}

func TestRunTemporaryPutGivesUp(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 3, false, "INBOX")
	dst := transfertest.NewMemSink()
	down := errors.New("server unavailable")
	dst.BeforePut = func(int, transfer.Message) error { return transfer.TemporaryError(down) }
	_, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Retries: 2}))
	if !errors.Is(err, down) {
		t.Fatalf("err = %v", err)
	}
	// 1 try + 2 retries for the first message; the run stops.
	if n := dst.PutCalls(); n < 3 || n > 3*4 {
		t.Fatalf("%d puts", n)
	}
}

func TestRunPerMessagePutFailure(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 6, false, "INBOX")
	dst := transfertest.NewMemSink()
	tooBig := errors.New("[TOOBIG] message too large")
	dst.BeforePut = func(n int, m transfer.Message) error {
		if m.ID == "INBOX-2" {
			return transfer.PerMessageError(tooBig)
		}
		return nil
	}
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, Progress: ev}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 5 || sum.Failed != 1 || len(sum.Failures) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	var me *transfer.MessageError
	if !errors.As(sum.Failures[0], &me) || me.Folder != "INBOX" || me.ID != "INBOX-2" || !errors.Is(me, tooBig) {
		t.Fatalf("failure %v", sum.Failures[0])
	}
	if f := ev.of(transfer.EventFailed); len(f) != 1 || f[0].Message.ID != "INBOX-2" {
		t.Fatalf("failed events %+v", f)
	}
	if _, ok := j.Lookup("mem:src", "INBOX", "INBOX-2"); ok {
		t.Fatal("a failed message was journaled")
	}
	// Next time the failed one is tried again.
	dst.BeforePut = nil
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum.Copied != 1 {
		t.Fatalf("re-run: %+v %v", sum, err)
	}
	checkCopies(t, src, dst, same, "INBOX")
}

func TestRunCutFetchResumed(t *testing.T) {
	for _, inBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("inBody=%v", inBody), func(t *testing.T) {
			src := transfertest.NewMemSource()
			fill(src, 20, true, "INBOX")
			src.CutAfter, src.CutTimes, src.CutInBody = 4, 3, inBody
			dst := transfertest.NewMemSink()
			ev := &events{}
			sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Progress: ev}))
			if err != nil || sum.Copied != 20 {
				t.Fatalf("summary %+v, err %v", sum, err)
			}
			for i := range 20 {
				if n := src.Delivered("INBOX", fmt.Sprintf("INBOX-%d", i)); n != 1 {
					t.Errorf("message %d delivered %d times", i, n)
				}
			}
			if n := src.FetchCalls(); n != 4 {
				t.Errorf("%d fetch calls, want 4", n)
			}
			if n := len(ev.of(transfer.EventRetry)); n != 3 {
				t.Errorf("%d retry events", n)
			}
			checkCopies(t, src, dst, same, "INBOX")
		})
	}
}

func TestRunCutFetchGivesUpWithoutProgress(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 5, true, "INBOX")
	src.CutAfter, src.CutTimes = 0, 100 // every stream breaks at once
	dst := transfertest.NewMemSink()
	_, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Retries: 3}))
	if !errors.Is(err, transfertest.ErrCut) {
		t.Fatalf("err = %v", err)
	}
	if n := src.FetchCalls(); n != 4 {
		t.Fatalf("%d fetch calls, want 1 + 3 retries", n)
	}
}

func TestRunSilentlyDroppedMessage(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 8, false, "INBOX")
	src.Drop = map[string]int{"INBOX-5": 1, "INBOX-6": 2}
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil {
		t.Fatal(err)
	}
	// INBOX-5 arrives when asked again; INBOX-6 never does.
	if sum.Copied != 7 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	var me *transfer.MessageError
	if !errors.As(sum.Failures[0], &me) || me.ID != "INBOX-6" || !strings.Contains(me.Error(), "did not deliver") {
		t.Fatalf("failure %v", sum.Failures[0])
	}
	if src.Delivered("INBOX", "INBOX-5") != 1 || src.FetchCalls() != 2 {
		t.Fatalf("INBOX-5 delivered %d times in %d calls", src.Delivered("INBOX", "INBOX-5"), src.FetchCalls())
	}
	if _, ok := j.Lookup("mem:src", "INBOX", "INBOX-6"); ok {
		t.Fatal("undelivered message journaled")
	}
}

func TestRunVanishedMessage(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 8, false, "INBOX")
	src.Vanished = map[string]bool{"INBOX-1": true, "INBOX-4": true}
	dst := transfertest.NewMemSink()
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 6 || sum.Failed != 2 {
		t.Fatalf("summary %+v", sum)
	}
	var ids []string
	for _, f := range sum.Failures {
		var me *transfer.MessageError
		if !errors.As(f, &me) || me.Folder != "INBOX" {
			t.Fatalf("failure %v", f)
		}
		ids = append(ids, me.ID)
	}
	sort.Strings(ids)
	if !slices.Equal(ids, []string{"INBOX-1", "INBOX-4"}) {
		t.Fatalf("failed ids %v", ids)
	}
	if src.FetchCalls() != 1 {
		t.Fatalf("%d fetch calls: reported messages must not be asked for again", src.FetchCalls())
	}
}

func TestRunFatalStops(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 50, false, "INBOX", "Other")
	dst := transfertest.NewMemSink()
	full := errors.New("quota exceeded")
	dst.BeforePut = transfertest.FailNth(10, transfer.FatalError(full))
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if !errors.Is(err, full) || transfer.ClassOf(err) != transfer.Fatal {
		t.Fatalf("err = %v", err)
	}
	if dst.PutCalls() > 10+4 {
		t.Fatalf("%d puts after a fatal error at the 10th", dst.PutCalls())
	}
	if j.Len() != dst.Len() || sum.Copied != dst.Len() {
		t.Fatalf("journal %d, sink %d, copied %d", j.Len(), dst.Len(), sum.Copied)
	}
	checkJournalInSink(t, j, src, dst, "INBOX", "Other")
}

func TestRunCancel(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 40, false, "INBOX", "Other")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered atomic.Int32
	src.BeforeDeliver = func(transfer.Message) {
		if delivered.Add(1) == 25 {
			cancel()
		}
	}
	spool := t.TempDir()
	sum, err := transfer.Run(ctx, src, dst, fast(transfer.Options{Journal: j, SpoolDir: spool, SpoolMemory: 64}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if sum.Copied >= 80 || j.Len() != dst.Len() || sum.Copied != dst.Len() {
		t.Fatalf("summary %+v, journal %d, sink %d", sum, j.Len(), dst.Len())
	}
	checkJournalInSink(t, j, src, dst, "INBOX", "Other")
	if files, _ := os.ReadDir(spool); len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
	src.BeforeDeliver = nil
	sum2, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j}))
	if err != nil || sum2.Copied+sum.Copied != 80 {
		t.Fatalf("resume: %+v %v", sum2, err)
	}
	checkCopies(t, src, dst, same, "INBOX", "Other")
}

func TestRunCancelDuringPut(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 30, false, "INBOX")
	dst := transfertest.NewBufferedMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dst.BeforePut = func(n int, m transfer.Message) error {
		if n == 12 {
			cancel()
		}
		return nil
	}
	sum, err := transfer.Run(ctx, src, dst, fast(transfer.Options{Journal: j}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	// What was put before the interruption is flushed and journaled.
	if sum.Copied < 1 || j.Len() != sum.Copied || dst.Len() != sum.Copied {
		t.Fatalf("summary %+v, journal %d, sink %d", sum, j.Len(), dst.Len())
	}
	dst.BeforePut = nil
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j})); err != nil {
		t.Fatal(err)
	}
	checkCopies(t, src, dst.MemSink, same, "INBOX")
}

func TestRunSpoolSpillsAndCleansUp(t *testing.T) {
	src := transfertest.NewMemSource()
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 4096) // 68 KiB
	for i := range 6 {
		b := append([]byte(fmt.Sprintf("Message-ID: <big%d@x>\n\n", i)), big...)
		src.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: baseDate}, b)
	}
	dst := transfertest.NewMemSink()
	dir := t.TempDir()
	var sawFile atomic.Bool
	dst.BeforePut = func(n int, m transfer.Message) error {
		if files, _ := os.ReadDir(dir); len(files) > 0 {
			sawFile.Store(true)
		}
		if n == 2 {
			return transfer.TemporaryError(errors.New("retry me")) // re-read from the spool file
		}
		if n == 4 {
			return transfer.PerMessageError(errors.New("rejected"))
		}
		return nil
	}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{SpoolMemory: 1024, SpoolDir: dir, Workers: 1}))
	if err != nil || sum.Copied != 5 || sum.Failed != 1 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	if !sawFile.Load() {
		t.Fatal("no spool file while putting messages above SpoolMemory")
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
	for _, st := range dst.Messages("INBOX") {
		if !bytes.HasSuffix(st.Body, big) || st.Size != int64(len(big))+int64(len(fmt.Sprintf("Message-ID: <big%s@x>\n\n", st.ID))) {
			t.Fatalf("message %s: %d bytes", st.ID, len(st.Body))
		}
	}
}

func TestRunFilters(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 10, false, "INBOX") // dates baseDate + i hours
	src.Add(transfer.Message{Folder: "INBOX", ID: "undated"}, []byte("Subject: x\n\nundated\n"))
	src.Add(transfer.Message{Folder: "INBOX", ID: "huge", Date: baseDate.Add(5 * time.Hour)}, bytes.Repeat([]byte("x"), 5000))
	dst := transfertest.NewMemSink()
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{
		Since:    baseDate.Add(2 * time.Hour),
		Before:   baseDate.Add(7 * time.Hour),
		MaxSize:  1000,
		Progress: ev,
	}))
	if err != nil {
		t.Fatal(err)
	}
	// Hours 2..6 pass, plus the undated message.
	var got []string
	for _, st := range dst.Messages("INBOX") {
		got = append(got, st.ID)
	}
	sort.Strings(got)
	want := []string{"INBOX-2", "INBOX-3", "INBOX-4", "INBOX-5", "INBOX-6", "undated"}
	if !slices.Equal(got, want) {
		t.Fatalf("copied %v, want %v", got, want)
	}
	if sum.Copied != 6 || sum.Skipped != 0 || sum.Filtered != 6 {
		t.Fatalf("summary %+v: filtered messages are counted as filtered, not as skipped", sum)
	}
	if n := ev.countByText(transfer.EventSkipped, "filtered"); n != 6 {
		t.Fatalf("filtered count %d, want 6", n)
	}
	if len(sum.Folders) != 1 || sum.Folders[0].Filtered != 6 || sum.Folders[0].Copied != 6 {
		t.Fatalf("per-folder counts %+v", sum.Folders)
	}
}

// A message listed without a date (POP3) is filtered by the date its fetch
// gives it.
func TestRunFiltersDateKnownOnlyAfterFetch(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 6, false, "INBOX") // dates baseDate + i hours
	src.DatedOnFetch = map[string]bool{"INBOX-0": true, "INBOX-3": true, "INBOX-5": true}
	dst := transfertest.NewMemSink()
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{
		Since:    baseDate.Add(2 * time.Hour),
		Before:   baseDate.Add(5 * time.Hour),
		Progress: ev,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range dst.Messages("INBOX") {
		got = append(got, st.ID)
	}
	sort.Strings(got)
	if want := []string{"INBOX-2", "INBOX-3", "INBOX-4"}; !slices.Equal(got, want) {
		t.Fatalf("copied %v, want %v", got, want)
	}
	if sum.Copied != 3 || sum.Skipped != 0 || sum.Failed != 0 || sum.Filtered != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if n := ev.countByText(transfer.EventSkipped, "filtered"); n != 3 {
		t.Fatalf("filtered count %d, want 3 (one at planning, two after fetching)", n)
	}
}

// Summary.Folders counts each source folder apart, with the destination
// folder it went into, and the folders add up to the run's totals.
func TestRunFolderSummaries(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 4, false, "INBOX", "Work", "Empty")
	src.Add(transfer.Message{Folder: "INBOX", ID: "huge", Date: baseDate}, bytes.Repeat([]byte("x"), 5000))
	dst := transfertest.NewMemSink()
	dst.BeforePut = func(n int, m transfer.Message) error {
		if m.ID == "Work-1" {
			return transfer.PerMessageError(errors.New("[TOOBIG] refused"))
		}
		return nil
	}
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	opts := fast(transfer.Options{Journal: j, MaxSize: 1000, Map: []transfer.FolderMapping{{Old: "Work", New: "Archive/Work"}},
		Exclude: []*regexp.Regexp{regexp.MustCompile(`^Empty$`)}})
	sum, err := transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	size := func(folder string, ids ...int) (n int64) {
		for _, i := range ids {
			n += int64(len(body(folder, i, false)))
		}
		return n
	}
	want := []transfer.FolderSummary{
		{Folder: "INBOX", Dest: "INBOX", Copied: 4, Filtered: 1, Bytes: size("INBOX", 0, 1, 2, 3)},
		{Folder: "Work", Dest: "Archive/Work", Copied: 3, Failed: 1, Bytes: size("Work", 0, 2, 3)},
	}
	if !slices.Equal(sum.Folders, want) {
		t.Fatalf("first run, per folder:\n got %+v\nwant %+v", sum.Folders, want)
	}
	if sum.Copied != 7 || sum.Filtered != 1 || sum.Failed != 1 || sum.Bytes != want[0].Bytes+want[1].Bytes {
		t.Fatalf("totals %+v", sum)
	}
	// A re-run lists every folder, with what it skipped.
	dst.BeforePut = nil
	sum, err = transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	want = []transfer.FolderSummary{
		{Folder: "INBOX", Dest: "INBOX", Skipped: 4, Filtered: 1},
		{Folder: "Work", Dest: "Archive/Work", Copied: 1, Skipped: 3, Bytes: size("Work", 1)},
	}
	if !slices.Equal(sum.Folders, want) {
		t.Fatalf("re-run, per folder:\n got %+v\nwant %+v", sum.Folders, want)
	}
}

func TestRunFolderSelectionAndMapping(t *testing.T) {
	newSrc := func() *transfertest.MemSource {
		src := transfertest.NewMemSource()
		src.AddFolder("Sent Items", `\Sent`)
		src.AddFolder("Trash", `\Trash`)
		fill(src, 2, false, "INBOX", "Sent Items", "Trash", "Projects", "Projects/2019", "Projects/2019/Q1", "Projectsville", "Spam")
		return src
	}
	tests := []struct {
		name  string
		opts  transfer.Options
		roles map[string]string
		want  map[string]string // source → destination; missing = not copied
	}{
		{
			name: "same names",
			want: map[string]string{"INBOX": "INBOX", "Sent Items": "Sent Items", "Trash": "Trash", "Projects": "Projects",
				"Projects/2019": "Projects/2019", "Projects/2019/Q1": "Projects/2019/Q1", "Projectsville": "Projectsville", "Spam": "Spam"},
		},
		{
			name: "include and exclude",
			opts: transfer.Options{
				Include: []*regexp.Regexp{regexp.MustCompile(`^Projects`), regexp.MustCompile(`^INBOX$`)},
				Exclude: []*regexp.Regexp{regexp.MustCompile(`Q1$`)},
			},
			want: map[string]string{"INBOX": "INBOX", "Projects": "Projects", "Projects/2019": "Projects/2019", "Projectsville": "Projectsville"},
		},
		{
			name: "longest map prefix, subfolders follow",
			opts: transfer.Options{Map: []transfer.FolderMapping{
				{Old: "Projects", New: "Old/Projects"},
				{Old: "Projects/2019", New: "Archive/2019"},
				{Old: "Sent Items", New: "Sent"},
			}},
			roles: map[string]string{`\Sent`: "Gesendet", `\Trash`: "Papierkorb"},
			want: map[string]string{"INBOX": "INBOX", "Sent Items": "Sent", "Trash": "Papierkorb", "Projects": "Old/Projects",
				"Projects/2019": "Archive/2019", "Projects/2019/Q1": "Archive/2019/Q1", "Projectsville": "Projectsville", "Spam": "Spam"},
		},
		{
			name:  "roles",
			roles: map[string]string{`\Sent`: "Sent", `\Junk`: "Junk"},
			want: map[string]string{"INBOX": "INBOX", "Sent Items": "Sent", "Trash": "Trash", "Projects": "Projects",
				"Projects/2019": "Projects/2019", "Projects/2019/Q1": "Projects/2019/Q1", "Projectsville": "Projectsville", "Spam": "Spam"},
		},
		{
			name: "flatten",
			opts: transfer.Options{FlattenTo: "All", Map: []transfer.FolderMapping{{Old: "Spam", New: "X"}}},
			want: map[string]string{"INBOX": "All", "Sent Items": "All", "Trash": "All", "Projects": "All",
				"Projects/2019": "All", "Projects/2019/Q1": "All", "Projectsville": "All", "Spam": "All"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := newSrc()
			dst := transfertest.NewMemSink()
			dst.Roles = tc.roles
			sum, err := transfer.Run(context.Background(), src, dst, fast(tc.opts))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Copied != 2*len(tc.want) {
				t.Fatalf("copied %d, want %d", sum.Copied, 2*len(tc.want))
			}
			perDest := make(map[string]int)
			for from, to := range tc.want {
				perDest[to] += 2
				held := make(map[string]bool)
				for _, st := range dst.Messages(to) {
					held[st.ID] = true
				}
				for i := range 2 {
					if id := fmt.Sprintf("%s-%d", from, i); !held[id] {
						t.Errorf("%s not in %q", id, to)
					}
				}
			}
			for _, f := range dst.Folders() {
				if n := len(dst.Messages(f)); n != perDest[f] {
					t.Errorf("folder %q holds %d, want %d", f, n, perDest[f])
				}
			}
		})
	}
}

func TestRunDryRun(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 5, false, "INBOX", "Sent")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	if err := j.Append(transfer.Record{Source: "mem:src", Folder: "INBOX", ID: "INBOX-0", Dest: "INBOX"}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, DryRun: true, Progress: ev,
		Map: []transfer.FolderMapping{{Old: "Sent", New: "Sent Messages"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if dst.PutCalls() != 0 || src.FetchCalls() != 0 || j.Len() != 1 {
		t.Fatal("a dry run fetched or wrote")
	}
	if sum.Copied != 0 || sum.Skipped != 1 {
		t.Fatalf("summary %+v", sum)
	}
	plan := ev.of(transfer.EventPlanMessage)
	if len(plan) != 9 {
		t.Fatalf("%d planned messages", len(plan))
	}
	for _, e := range plan {
		if e.Message.Folder == "Sent" && e.Text != "Sent Messages" || e.Message.Folder == "INBOX" && e.Text != "INBOX" {
			t.Fatalf("plan event %+v", e)
		}
	}
}

// noDelete hides MemSource's Deleter.
type noDelete struct{ transfer.Source }

func TestRunDeleteSourceNeedsDeleterAndJournal(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 3, false, "INBOX")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	_, err := transfer.Run(context.Background(), noDelete{src}, dst, fast(transfer.Options{Journal: j, DeleteSource: true}))
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "cannot delete") {
		t.Fatalf("err = %v", err)
	}
	_, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{DeleteSource: true}))
	if err == nil || !strings.Contains(err.Error(), "state file") {
		t.Fatalf("err = %v", err)
	}
	if dst.PutCalls() != 0 || src.FetchCalls() != 0 {
		t.Fatal("copied before refusing")
	}
	// A dry run deletes nothing and needs no state file.
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{DeleteSource: true, DryRun: true}))
	if err != nil || sum.Deleted != 0 || len(src.Deleted("INBOX")) != 0 {
		t.Fatalf("dry run: %+v %v", sum, err)
	}
}

func TestRunDeleteSourceAfterJournal(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			src := transfertest.NewMemSource()
			fill(src, 20, false, "INBOX", "Other")
			var (
				dst  transfer.Sink
				mem  *transfertest.MemSink
				buf  transfertest.BufferedMemSink
				held func(folder, id string) bool
			)
			if buffered {
				buf = transfertest.NewBufferedMemSink()
				dst, mem = buf, buf.MemSink
			} else {
				mem = transfertest.NewMemSink()
				dst = mem
			}
			held = func(folder, id string) bool {
				for _, st := range mem.Messages(folder) {
					if st.ID == id {
						return true
					}
				}
				return false
			}
			// A message of INBOX is already in the sink but unknown to the
			// journal: found "already at destination", then deleted too.
			mem.Add(transfer.Message{Folder: "INBOX", ID: "old", Date: baseDate.Add(3 * time.Hour)}, body("INBOX", 3, false))
			mem.BeforePut = func(n int, m transfer.Message) error {
				if m.ID == "Other-7" {
					return transfer.PerMessageError(errors.New("rejected"))
				}
				return nil
			}
			j := journal(t, filepath.Join(t.TempDir(), "state"))
			src.BeforeDelete = func(folder string, msgs []transfer.Message) error {
				for _, m := range msgs {
					if _, ok := j.Lookup("mem:src", folder, m.ID); !ok {
						t.Errorf("deleting %s/%s, which is not journaled", folder, m.ID)
					}
					if folder == "INBOX" && m.ID == "INBOX-3" {
						continue // held as "old"
					}
					if !held(folder, m.ID) {
						t.Errorf("deleting %s/%s, which the sink does not hold durably", folder, m.ID)
					}
				}
				return nil
			}
			ev := &events{}
			sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, DeleteSource: true, Progress: ev}))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Copied != 38 || sum.Skipped != 1 || sum.Failed != 1 || sum.Deleted != 39 {
				t.Fatalf("summary %+v", sum)
			}
			if left, _ := src.List(context.Background(), "Other"); len(left) != 1 || left[0].ID != "Other-7" {
				t.Fatalf("left in Other: %+v", left)
			}
			if left, _ := src.List(context.Background(), "INBOX"); len(left) != 0 {
				t.Fatalf("left in INBOX: %d", len(left))
			}
			if rec, ok := j.Lookup("mem:src", "INBOX", "INBOX-5"); !ok || !rec.Deleted {
				t.Fatalf("record %+v", rec)
			}
			deleted := 0
			for _, e := range ev.of(transfer.EventDeleted) {
				deleted += e.Count
			}
			if deleted != 39 {
				t.Fatalf("EventDeleted count %d", deleted)
			}
		})
	}
}

func TestRunKeepDays(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 5, false, "INBOX")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	day0 := time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)
	clock := day0
	opts := func() transfer.Options {
		return fast(transfer.Options{Journal: j, DeleteSource: true, KeepDays: 3, Now: func() time.Time { return clock }})
	}
	sum, err := transfer.Run(context.Background(), src, dst, opts())
	if err != nil || sum.Copied != 5 || sum.Deleted != 0 {
		t.Fatalf("day 0: %+v %v", sum, err)
	}
	// Two more arrive on day 2.
	clock = day0.Add(2 * 24 * time.Hour)
	src.Add(transfer.Message{Folder: "INBOX", ID: "INBOX-5", Date: baseDate}, body("INBOX", 5, false))
	src.Add(transfer.Message{Folder: "INBOX", ID: "INBOX-6", Date: baseDate}, body("INBOX", 6, false))
	sum, err = transfer.Run(context.Background(), src, dst, opts())
	if err != nil || sum.Copied != 2 || sum.Deleted != 0 {
		t.Fatalf("day 2: %+v %v", sum, err)
	}
	// Day 3 minus a second: still nothing is old enough.
	clock = day0.Add(3*24*time.Hour - time.Second)
	if sum, err = transfer.Run(context.Background(), src, dst, opts()); err != nil || sum.Deleted != 0 {
		t.Fatalf("day 3-: %+v %v", sum, err)
	}
	// Day 3: the first five go, the two later ones stay.
	clock = day0.Add(3 * 24 * time.Hour)
	if sum, err = transfer.Run(context.Background(), src, dst, opts()); err != nil || sum.Deleted != 5 {
		t.Fatalf("day 3: %+v %v", sum, err)
	}
	if got := src.Deleted("INBOX"); len(got) != 5 || slices.Contains(got, "INBOX-5") || slices.Contains(got, "INBOX-6") {
		t.Fatalf("deleted %v", got)
	}
	clock = day0.Add(5 * 24 * time.Hour)
	if sum, err = transfer.Run(context.Background(), src, dst, opts()); err != nil || sum.Deleted != 2 || sum.Copied != 0 {
		t.Fatalf("day 5: %+v %v", sum, err)
	}
	if left, _ := src.List(context.Background(), "INBOX"); len(left) != 0 || dst.Len() != 7 {
		t.Fatalf("left %d, sink %d", len(left), dst.Len())
	}
}

// listOverride changes what List returns, to test sources that break the
// identity contract.
type listOverride struct {
	*transfertest.MemSource
	list func([]transfer.Message) []transfer.Message
}

func (l listOverride) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	msgs, err := l.MemSource.List(ctx, folder)
	return l.list(msgs), err
}

func TestRunRejectsMissingAndDuplicateIDs(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 4, false, "INBOX")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	bad := listOverride{src, func(msgs []transfer.Message) []transfer.Message {
		msgs[1].ID = ""
		msgs[3].ID = msgs[2].ID
		return msgs
	}}
	sum, err := transfer.Run(context.Background(), bad, dst, fast(transfer.Options{Journal: j}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 2 || sum.Failed != 2 || j.Len() != 2 {
		t.Fatalf("summary %+v, journal %d", sum, j.Len())
	}
}

func TestRunMemoryBounded(t *testing.T) {
	src := transfertest.NewMemSource()
	big := bytes.Repeat([]byte("x"), 100<<10)
	for i := range 40 {
		src.Add(transfer.Message{Folder: "INBOX", Date: baseDate}, append([]byte(fmt.Sprintf("Message-ID: <%d@x>\n\n", i)), big...))
	}
	dst := transfertest.NewMemSink()
	dir := t.TempDir()
	var peak atomic.Int64
	dst.BeforePut = func(int, transfer.Message) error {
		files, _ := os.ReadDir(dir)
		if n := int64(len(files)); n > peak.Load() {
			peak.Store(n)
		}
		time.Sleep(time.Millisecond) // a slow sink: the fetch side must wait
		return nil
	}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{SpoolMemory: 1024, SpoolDir: dir, Workers: 2}))
	if err != nil || sum.Copied != 40 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	// Every body spills, so spool files count the bodies held at once:
	// the queue (Workers), one per worker, one per fetcher.
	if p := peak.Load(); p < 2 || p > 2+2+1 {
		t.Fatalf("peak of %d spooled bodies; the bound is 5", p)
	}
}

func BenchmarkRun(b *testing.B) {
	const n, size = 2000, 20 << 10
	src := transfertest.NewMemSource()
	src.Fetchers = 4
	filler := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog.\r\n"), size/46)
	for i := range n {
		m := append([]byte(fmt.Sprintf("Message-ID: <%d@bench>\r\nSubject: %d\r\n\r\n", i, i)), filler...)
		src.Add(transfer.Message{Folder: fmt.Sprintf("F%d", i%4), Date: baseDate, CRLF: true}, m)
	}
	for _, withJournal := range []bool{true, false} {
		name := "journal"
		if !withJournal {
			name = "nojournal"
		}
		b.Run(name, func(b *testing.B) {
			var total int64
			b.ReportAllocs()
			for b.Loop() {
				dst := transfertest.NewMemSink()
				var j *transfer.Journal
				if withJournal {
					var err error
					if j, err = transfer.OpenJournal(filepath.Join(b.TempDir(), "state")); err != nil {
						b.Fatal(err)
					}
				}
				sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "bench", Journal: j})
				if j != nil {
					j.Close()
				}
				if err != nil || sum.Copied != n {
					b.Fatalf("summary %+v, err %v", sum, err)
				}
				total += sum.Bytes
			}
			b.ReportMetric(float64(total)/1e6/b.Elapsed().Seconds(), "MB/s")
		})
	}
}

// flakyList fails List for some folders.
type flakyList struct {
	*transfertest.MemSource
	mu    sync.Mutex
	fails map[string][]error // folder → errors to return, in turn
}

func (f *flakyList) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	f.mu.Lock()
	if errs := f.fails[folder]; len(errs) > 0 {
		f.fails[folder] = errs[1:]
		f.mu.Unlock()
		return nil, errs[0]
	}
	f.mu.Unlock()
	return f.MemSource.List(ctx, folder)
}

func TestRunListFailures(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 3, false, "INBOX", "Gone", "Flaky")
	gone := errors.New("folder was deleted meanwhile")
	flaky := &flakyList{MemSource: src, fails: map[string][]error{
		"Gone":  {transfer.PerMessageError(gone)},
		"Flaky": {transfer.TemporaryError(errors.New("BYE")), transfer.TemporaryError(errors.New("BYE"))},
	}}
	dst := transfertest.NewMemSink()
	ev := &events{}
	sum, err := transfer.Run(context.Background(), flaky, dst, fast(transfer.Options{Progress: ev}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 6 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	var me *transfer.MessageError
	if !errors.As(sum.Failures[0], &me) || me.Folder != "Gone" || !errors.Is(me, gone) {
		t.Fatalf("failure %v", sum.Failures[0])
	}
	if n := len(ev.of(transfer.EventRetry)); n != 2 {
		t.Fatalf("%d retries", n)
	}
	checkCopies(t, src, dst, same, "INBOX", "Flaky")

	// A fatal List error stops the run.
	flaky.fails = map[string][]error{"INBOX": {errors.New("authentication expired")}}
	_, err = transfer.Run(context.Background(), flaky, transfertest.NewMemSink(), fast(transfer.Options{}))
	if err == nil || !strings.Contains(err.Error(), `folder "INBOX"`) || !strings.Contains(err.Error(), "authentication expired") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunJournalWriteFailureIsFatal(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 20, false, "INBOX")
	dst := transfertest.NewMemSink()
	dir := t.TempDir()
	broken := journal(t, filepath.Join(dir, "broken"))
	broken.Close() // every Append fails from now on
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: broken}))
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "state file") {
		t.Fatalf("err = %v", err)
	}
	if sum.Copied != 0 {
		t.Fatalf("%d counted as copied without a journal record", sum.Copied)
	}
	// What reached the sink is recognised by the next run.
	held := dst.Len()
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: journal(t, filepath.Join(dir, "fresh"))}))
	if err != nil || sum.Skipped != held || sum.Copied != 20-held {
		t.Fatalf("re-run: %+v %v (sink held %d)", sum, err, held)
	}
	checkCopies(t, src, dst, same, "INBOX")
}

func TestRunUnreadableBody(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 6, false, "INBOX")
	src.Unreadable = map[string]bool{"INBOX-2": true}
	dst := transfertest.NewMemSink()
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	var me *transfer.MessageError
	if sum.Copied != 5 || sum.Failed != 1 || !errors.As(sum.Failures[0], &me) || me.ID != "INBOX-2" || !errors.Is(me, transfertest.ErrUnreadable) {
		t.Fatalf("summary %+v", sum)
	}
	if src.FetchCalls() != 1 {
		t.Fatalf("%d fetch calls: an unreadable message must not break the stream", src.FetchCalls())
	}
}

// workerSink is a MemSink that asks for more Put workers than the options
// give, and records how many Puts ran at once.
type workerSink struct {
	*transfertest.MemSink
	want int

	mu            sync.Mutex
	now, most     int
	allConcurrent chan struct{}
	once          sync.Once
}

func (s *workerSink) PutWorkers() int { return s.want }

func (s *workerSink) Put(ctx context.Context, m transfer.Message, b transfer.Body) error {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	if s.now == s.want {
		s.once.Do(func() { close(s.allConcurrent) })
	}
	s.mu.Unlock()
	// Hold the first Puts until as many run as the sink asked for (or a
	// bound passes), so the count shows the workers there are.
	select {
	case <-s.allConcurrent:
	case <-time.After(5 * time.Second):
	}
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return s.MemSink.Put(ctx, m, b)
}

// A sink that is a PutWorkers gets as many concurrent Puts as it asks for,
// more than Options.Workers, and every message is copied.
func TestRunPutWorkersFromSink(t *testing.T) {
	src := transfertest.NewMemSource()
	fill(src, 30, false, "a")
	dst := &workerSink{MemSink: transfertest.NewMemSink(), want: 12, allConcurrent: make(chan struct{})}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Workers: 4}))
	if err != nil || sum.Copied != 30 {
		t.Fatalf("run: %+v, %v", sum, err)
	}
	if dst.most != 12 {
		t.Errorf("%d Puts at once, want the 12 the sink asked for", dst.most)
	}
	checkCopies(t, src, dst.MemSink, same, "a")
}
