package transfertest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/transfer"
)

// TempFileWatch wraps a Sink and, whenever the sink reads a body, notes the
// temporary files that exist in Dirs: those listed there and, on Linux,
// those the process holds open after removing them (as a spool that unlinks
// its file at once does). A test reads from it how many temporary files the
// messages took on their way: the run's spool and any a sink made of its
// own.
type TempFileWatch struct {
	transfer.Sink
	Dirs []string

	mu   sync.Mutex
	seen map[string]bool
}

// Put passes the body on, watched.
func (w *TempFileWatch) Put(ctx context.Context, m transfer.Message, body transfer.Body) error {
	return w.Sink.Put(ctx, m, watchedBody{body, w})
}

// Flush flushes a Flusher sink.
func (w *TempFileWatch) Flush(ctx context.Context) error {
	if f, ok := w.Sink.(transfer.Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// Seen returns every temporary file noted, sorted.
func (w *TempFileWatch) Seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.seen))
	for name := range w.seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (w *TempFileWatch) look() {
	found := TempFiles(w.Dirs...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = make(map[string]bool)
	}
	for _, f := range found {
		w.seen[f] = true
	}
}

// TempFiles returns the files in dirs now: those listed there and, on
// Linux, those this process holds open after removing them.
func TempFiles(dirs ...string) []string {
	var found []string
	for _, dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		target = strings.TrimSuffix(target, " (deleted)")
		for _, dir := range dirs {
			if filepath.Dir(target) == filepath.Clean(dir) && !slices.Contains(found, target) {
				found = append(found, target)
			}
		}
	}
	return found
}

// watchedBody notes the temporary files on every read.
type watchedBody struct {
	transfer.Body
	w *TempFileWatch
}

func (b watchedBody) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Body.ReadAt(p, off)
	b.w.look()
	return n, err
}
