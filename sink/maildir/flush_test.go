package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// recordingSyncer wraps a dataSyncer: it checks, when a batch is synced,
// that none of its files is in cur/ yet and each is whole in tmp/, notes
// the calls ("data N", "dir REL"), and fails the data sync numbered failOn
// (1 is the first), or with failDirs every directory sync, with err after
// syncing, as a writeback error would come back.
type recordingSyncer struct {
	t        *testing.T
	inner    dataSyncer
	root     string
	whole    map[string]bool // the messages of the test; nil: not checked
	failOn   int
	failDirs bool
	err      error

	mu     sync.Mutex
	calls  int
	events []string
}

func (r *recordingSyncer) prepare(dir string) (bool, error) { return r.inner.prepare(dir) }
func (r *recordingSyncer) close() error                     { return r.inner.close() }

func (r *recordingSyncer) sync(batch []pendingFile) error {
	r.mu.Lock()
	r.calls++
	call := r.calls
	r.events = append(r.events, fmt.Sprintf("data %d", len(batch)))
	r.mu.Unlock()
	for _, p := range batch {
		if _, err := os.Lstat(p.cur); !errors.Is(err, os.ErrNotExist) {
			r.t.Errorf("%s is in cur/ before its data was synced (%v)", p.cur, err)
		}
		data, err := os.ReadFile(p.tmp)
		if err != nil {
			r.t.Errorf("a file of the batch is not in tmp/: %v", err)
		}
		if r.whole != nil && !r.whole[string(data)] {
			r.t.Errorf("%s holds %q, not a whole message of the test", p.tmp, data)
		}
	}
	err := r.inner.sync(batch)
	if call == r.failOn {
		return r.err
	}
	return err
}

func (r *recordingSyncer) syncDirs(dirs []string) error {
	r.mu.Lock()
	for _, dir := range dirs {
		rel, _ := filepath.Rel(r.root, dir)
		r.events = append(r.events, "dir "+rel)
		// The batch is renamed into cur/ before its entries are synced.
		if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
			r.t.Errorf("%s synced while it holds nothing (%v)", dir, err)
		}
	}
	fail := r.failDirs
	r.mu.Unlock()
	err := r.inner.syncDirs(dirs)
	if fail {
		return r.err
	}
	return err
}

func (r *recordingSyncer) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// syncers are the two ways a batch is made durable: the platform's (on
// Linux, syncfs on the file systems it trusts) and an fsync of each file.
var syncers = []struct {
	name string
	new  func() dataSyncer
}{
	{"platform", newDataSyncer},
	{"fsync-each", func() dataSyncer { return fsyncEach{} }},
}

// recordedSink returns a sink whose syncs are recorded in order: the
// batch's data ("data N"), then each directory ("dir REL").
func recordedSink(t *testing.T, newSyncer func() dataSyncer, bodies []string) (*Sink, string, *recordingSyncer) {
	s, root := newSink(t, Options{})
	rec := &recordingSyncer{t: t, inner: newSyncer(), root: root, whole: map[string]bool{}}
	for _, b := range bodies {
		rec.whole[b] = true
	}
	s.syncer = rec
	return s, root, rec
}

// putOnly stores one message without flushing it.
func putOnly(t *testing.T, s *Sink, folder, id, body string) {
	t.Helper()
	if err := s.Put(ctx, transfer.Message{Folder: folder, ID: id, Size: int64(len(body))}, strings.NewReader(body)); err != nil {
		t.Fatalf("Put(%q, %s): %v", folder, id, err)
	}
}

func bodyOf(folder string, i int) string {
	return fmt.Sprintf("Subject: %s %d\n\nbody %d\n", folder, i, i)
}

// TestFlushSyncsDataThenRenamesThenSyncsDirectories: Put writes into tmp/
// and syncs nothing; Flush syncs the batch's data once, then renames each
// file into cur/ (the recorder checks that none is there before), then
// fsyncs each cur/ that gained messages once, whatever their number. A
// Flush with nothing new syncs nothing.
func TestFlushSyncsDataThenRenamesThenSyncsDirectories(t *testing.T) {
	for _, sy := range syncers {
		t.Run(sy.name, func(t *testing.T) {
			var bodies []string
			for i := range 10 {
				bodies = append(bodies, bodyOf("INBOX", i), bodyOf("Archive", i))
			}
			s, root, rec := recordedSink(t, sy.new, bodies)
			for i := range 10 {
				for _, folder := range []string{"INBOX", "Archive"} {
					body := bodyOf(folder, i)
					putOnly(t, s, folder, fmt.Sprint(i), body)
				}
			}
			if e := rec.taken(); len(e) != 0 {
				t.Fatalf("Put synced %q itself", e)
			}
			for _, dir := range []string{"cur", ".Archive/cur"} {
				if got := files(t, filepath.Join(root, dir)); len(got) != 0 {
					t.Fatalf("%s holds %q before a Flush", dir, got)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			e := rec.taken()
			if len(e) != 3 || e[0] != "data 20" || !slices.Equal(slices.Sorted(slices.Values(e[1:])), []string{"dir .Archive/cur", "dir cur"}) {
				t.Fatalf("Flush synced %q, want the data of 20 files, then cur/ and .Archive/cur once each", e)
			}
			for _, dir := range []string{"", ".Archive"} {
				if got := files(t, filepath.Join(root, dir, "cur")); len(got) != 10 {
					t.Errorf("%s/cur holds %d messages, want 10", dir, len(got))
				}
				if got := files(t, filepath.Join(root, dir, "tmp")); len(got) != 0 {
					t.Errorf("%s/tmp still holds %q", dir, got)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if e := rec.taken(); len(e) != 0 {
				t.Fatalf("a Flush with nothing new synced %q", e)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Put leaves a file open for Flush only when the syncer asks for it (an
// fsync of each file), and never more than maxOpenPending.
func TestPutLeavesFilesOpenOnlyForFsyncEach(t *testing.T) {
	for _, sy := range syncers {
		t.Run(sy.name, func(t *testing.T) {
			s, _ := newSink(t, Options{})
			s.syncer = sy.new()
			for i := range 3 {
				putOnly(t, s, "INBOX", fmt.Sprint(i), bodyOf("INBOX", i))
			}
			s.syncMu.Lock()
			open := s.openPending
			s.syncMu.Unlock()
			want := 0
			if keepOpen, err := sy.new().prepare(t.TempDir()); err != nil {
				t.Fatal(err)
			} else if keepOpen {
				want = 3
			}
			if open != want {
				t.Errorf("%d files left open for Flush, want %d", open, want)
			}
			// Past maxOpenPending open files Put flushes first.
			for i := 3; i < maxOpenPending+5; i++ {
				putOnly(t, s, "INBOX", fmt.Sprint(i), bodyOf("INBOX", i))
			}
			s.syncMu.Lock()
			open, pending := s.openPending, len(s.pending)
			s.syncMu.Unlock()
			if open > maxOpenPending || (want == 3 && pending >= maxOpenPending) {
				t.Errorf("%d files open, %d pending after %d Puts", open, pending, maxOpenPending+5)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUnflushedPutIsNoMessageAfterACrash: a run that dies after Put and
// before Flush (the sink is dropped, not closed) leaves its message in
// tmp/ only: the next run's index and a reader of the folder see exactly
// the flushed messages, whole.
func TestUnflushedPutIsNoMessageAfterACrash(t *testing.T) {
	for _, sy := range syncers {
		t.Run(sy.name, func(t *testing.T) {
			s, root := newSink(t, Options{})
			s.syncer = sy.new()
			var flushed []string
			for i := range 3 {
				body := bodyOf("INBOX", i)
				put(t, s, transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i)}, body)
				flushed = append(flushed, body)
			}
			for i := 3; i < 5; i++ {
				body := bodyOf("INBOX", i)
				putOnly(t, s, "INBOX", fmt.Sprint(i), body)
			}
			// The crash: s is never flushed nor closed.
			again, err := New(root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			idx, err := again.Index(ctx, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, m := range idx.Messages {
				got = append(got, m.Key)
			}
			for _, b := range flushed {
				want = append(want, formats.IdentityKey([]byte(b)))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("after the crash the index holds %q, want the 3 flushed %q", got, want)
			}
			var bodies []string
			for _, name := range files(t, filepath.Join(root, "cur")) {
				data, err := os.ReadFile(filepath.Join(root, "cur", name))
				if err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, string(data))
			}
			slices.Sort(bodies)
			if !slices.Equal(bodies, flushed) {
				t.Errorf("cur/ holds %q, want %q", bodies, flushed)
			}
			if got := files(t, filepath.Join(root, "new")); len(got) != 0 {
				t.Errorf("new/ holds %q", got)
			}
			if got := files(t, filepath.Join(root, "tmp")); len(got) != 2 {
				t.Errorf("tmp/ holds %q, want the 2 unflushed deliveries", got)
			}
		})
	}
}

// TestFailedSyncFailsTheBatch: when the data sync or a directory sync of
// a Flush fails, Flush returns a Fatal error naming the Maildir and the
// cause, the batch's files still in tmp/ are removed (none reaches cur/
// when the data sync failed), and the sink stays broken: a later Put
// writes nothing and a later Flush or Close fails too, since the kernel
// may call a lost write clean once it has reported it.
func TestFailedSyncFailsTheBatch(t *testing.T) {
	for _, at := range []string{"data", "directory"} {
		for _, sy := range syncers {
			t.Run(at+"/"+sy.name, func(t *testing.T) {
				var bodies []string
				for i := range 6 {
					bodies = append(bodies, bodyOf("INBOX", i))
				}
				s, root, rec := recordedSink(t, sy.new, bodies)
				rec.err = errors.New("input/output error")
				if at == "data" {
					rec.failOn = 4 // after the 3 flushed one by one
				}
				for i := range 3 {
					put(t, s, transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i)}, bodies[i])
				}
				for i := 3; i < 5; i++ {
					putOnly(t, s, "INBOX", fmt.Sprint(i), bodies[i])
				}
				rec.mu.Lock()
				rec.failDirs = at == "directory"
				rec.mu.Unlock()
				err := s.Flush(ctx)
				if err == nil || !strings.Contains(err.Error(), "input/output error") || !strings.Contains(err.Error(), root) || transfer.ClassOf(err) != transfer.Fatal {
					t.Fatalf("Flush with a failing %s sync = %v (%v), want a Fatal error naming %s and the cause", at, err, transfer.ClassOf(err), root)
				}
				wantCur := 3
				if at == "directory" {
					wantCur = 5 // renamed, but never reported durable
				}
				if got := files(t, filepath.Join(root, "cur")); len(got) != wantCur {
					t.Errorf("cur/ holds %d messages after the failed Flush, want %d", len(got), wantCur)
				}
				if got := files(t, filepath.Join(root, "tmp")); len(got) != 0 {
					t.Errorf("tmp/ still holds %q", got)
				}
				if perr := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "5", Size: int64(len(bodies[5]))}, strings.NewReader(bodies[5])); !errors.Is(perr, err) {
					t.Errorf("Put after the failed Flush = %v, want %v", perr, err)
				}
				if got := files(t, filepath.Join(root, "tmp")); len(got) != 0 {
					t.Errorf("a Put after the failure wrote %q", got)
				}
				if ferr := s.Flush(ctx); !errors.Is(ferr, err) {
					t.Errorf("a later Flush = %v, want %v", ferr, err)
				}
				if cerr := s.Close(); !errors.Is(cerr, err) {
					t.Errorf("Close = %v, want %v", cerr, err)
				}
			})
		}
	}
}

// A cancelled Flush syncs nothing and keeps the batch for the next one.
func TestCancelledFlushKeepsTheBatch(t *testing.T) {
	s, root, rec := recordedSink(t, newDataSyncer, []string{bodyOf("INBOX", 0)})
	body := bodyOf("INBOX", 0)
	putOnly(t, s, "INBOX", "0", body)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Flush(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled Flush = %v", err)
	}
	if e := rec.taken(); len(e) != 0 {
		t.Fatalf("a cancelled Flush synced %q", e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, filepath.Join(root, "cur")); len(got) != 1 {
		t.Errorf("cur/ holds %q after Close, want the one message", got)
	}
}
