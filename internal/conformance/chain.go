package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/transfer"
)

// RunTimeout bounds every transfer.Run the suite starts, so a hanging store
// fails the test instead of stalling the suite.
var RunTimeout = 2 * time.Minute

// ExpectFor returns what the last store of a chain must hold when msgs were
// put into stores[0] in local form and copied store to store: a network
// store holds CRLF (its sink converts local form), a local store behind a
// network store holds LF (its sink converts network form), and local-to-local
// copies keep the bytes. A one-folder store holds everything in "INBOX".
// Keywords compare case-insensitively once a store that folds them was
// passed.
func ExpectFor(stores ...Store) Expect {
	var e Expect
	var steps []func([]byte) []byte
	var names []func(string) string
	prevCRLF := false
	oneFolder := false
	for _, s := range stores {
		switch {
		case s.CRLF && !prevCRLF:
			steps = append(steps, formats.ToCRLF)
		case !s.CRLF && prevCRLF:
			steps = append(steps, formats.ToLF)
		}
		if s.Body != nil {
			steps = append(steps, s.Body)
		}
		if s.FolderName != nil {
			names = append(names, s.FolderName)
		}
		prevCRLF = s.CRLF
		oneFolder = oneFolder || s.OneFolder
	}
	if len(steps) > 0 {
		e.Body = func(b []byte) []byte {
			for _, f := range steps {
				b = f(b)
			}
			return b
		}
	}
	switch {
	case oneFolder:
		e.Folder = func(string) string { return "INBOX" }
	case len(names) > 0:
		e.Folder = func(f string) string {
			for _, n := range names {
				f = n(f)
			}
			return f
		}
	}
	return e
}

// Chain is the round-trip conformance test. It puts msgs into a new
// stores[0] through its sink, checks stores[0] reads them back, then copies
// stores[i-1] into a new stores[i] with transfer.Run and checks, for every
// i:
//
//   - the copy reports every message copied and none failed;
//   - stores[i] holds every message exactly once with the expected bytes,
//     flags and date (Diff with ExpectFor(stores[:i+1]...));
//   - an Indexer sink indexes exactly the expected keys and digests;
//   - a second run with the same state file copies nothing and skips all;
//   - a run after the state file was deleted copies nothing, and the store
//     still holds each message exactly once (identical copies still twice);
//   - a run with no journal at all copies nothing either.
//
// When a store holds one folder, msgs are all placed in INBOX first.
// Chain returns the paths of the stores it created.
func Chain(t *testing.T, msgs []corpus.Message, stores ...Store) []string {
	t.Helper()
	for _, s := range stores {
		if s.OneFolder {
			msgs = corpus.InFolder(msgs, "INBOX")
			break
		}
	}
	paths := make([]string, len(stores))
	for i, s := range stores {
		paths[i] = s.Path(t.TempDir())
	}
	ctx := context.Background()

	sink, err := stores[0].NewSink(paths[0])
	if err != nil {
		t.Fatalf("%s: new sink %s: %v", stores[0].Name, paths[0], err)
	}
	if err := Fill(ctx, sink, msgs); err != nil {
		sink.Close()
		t.Fatalf("%s: %v", stores[0].Name, err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("%s: close sink: %v", stores[0].Name, err)
	}
	if !CheckStore(t, stores[0], paths[0], msgs, ExpectFor(stores[0])) {
		t.Fatalf("%s does not hold what was put into it; the copies are not tried", stores[0].Name)
	}

	for i := 1; i < len(stores); i++ {
		from, to := stores[i-1], stores[i]
		e := ExpectFor(stores[:i+1]...)
		step := fmt.Sprintf("%s→%s", from.Name, to.Name)
		state, err := StatePath(to, paths[i], t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}

		sum, err := CopyOnce(from, paths[i-1], to, paths[i], state)
		if err != nil {
			t.Fatalf("%s: first run: %v", step, err)
		}
		if sum.Copied != len(msgs) || sum.Failed != 0 || sum.Skipped != 0 {
			t.Errorf("%s: first run copied %d, skipped %d, failed %d (%v); want %d copied", step,
				sum.Copied, sum.Skipped, sum.Failed, sum.Failures, len(msgs))
		}
		if !CheckStore(t, to, paths[i], msgs, e) {
			t.Fatalf("%s: destination differs after the first run; the chain stops here", step)
		}

		sum, err = CopyOnce(from, paths[i-1], to, paths[i], state)
		if err != nil {
			t.Fatalf("%s: re-run: %v", step, err)
		}
		if sum.Copied != 0 || sum.Skipped != len(msgs) || sum.Failed != 0 {
			t.Errorf("%s: re-run copied %d, skipped %d, failed %d; want 0 copied, %d skipped", step,
				sum.Copied, sum.Skipped, sum.Failed, len(msgs))
		}

		if err := os.Remove(state); err != nil {
			t.Errorf("%s: removing the state file: %v", step, err)
		}
		sum, err = CopyOnce(from, paths[i-1], to, paths[i], state)
		if err != nil {
			t.Fatalf("%s: run after losing the state file: %v", step, err)
		}
		if sum.Copied != 0 || sum.Skipped != len(msgs) || sum.Failed != 0 {
			t.Errorf("%s: run after losing the state file copied %d, skipped %d, failed %d; want 0 copied, %d skipped", step,
				sum.Copied, sum.Skipped, sum.Failed, len(msgs))
		}
		sum, err = CopyOnce(from, paths[i-1], to, paths[i], "")
		if err != nil {
			t.Fatalf("%s: run without a journal: %v", step, err)
		}
		if sum.Copied != 0 || sum.Failed != 0 {
			t.Errorf("%s: run without a journal copied %d, failed %d; want 0", step, sum.Copied, sum.Failed)
		}
		if !CheckStore(t, to, paths[i], msgs, e) {
			t.Fatalf("%s: destination changed by the re-runs", step)
		}
	}
	return paths
}

// StatePath returns where the journal of a copy into the store at path
// lives by default: the sink's DefaultStatePath when it is a StateLocator,
// else "mailferry.state" in the directory dir.
func StatePath(s Store, path, dir string) (string, error) {
	sink, err := s.NewSink(path)
	if err != nil {
		return "", fmt.Errorf("new sink %s %s: %w", s.Name, path, err)
	}
	defer sink.Close()
	if sl, ok := sink.(transfer.StateLocator); ok {
		return sl.DefaultStatePath(), nil
	}
	return filepath.Join(dir, "mailferry.state"), nil
}

// CopyOnce opens a source at fromPath and a sink at toPath and runs
// transfer.Run between them, with the journal at statePath, or without a
// journal when statePath is "". It closes everything before returning.
func CopyOnce(from Store, fromPath string, to Store, toPath, statePath string) (transfer.Summary, error) {
	return Copy(from, fromPath, to, toPath, statePath, transfer.Options{})
}

// Copy is CopyOnce with options: opts.SourceKey, when empty, is the store's
// name and path, as an endpoint names it; opts.Journal is the journal at
// statePath.
func Copy(from Store, fromPath string, to Store, toPath, statePath string, opts transfer.Options) (transfer.Summary, error) {
	src, err := from.OpenSource(fromPath)
	if err != nil {
		return transfer.Summary{}, fmt.Errorf("open source %s %s: %w", from.Name, fromPath, err)
	}
	defer src.Close()
	dst, err := to.NewSink(toPath)
	if err != nil {
		return transfer.Summary{}, fmt.Errorf("new sink %s %s: %w", to.Name, toPath, err)
	}
	if opts.SourceKey == "" {
		opts.SourceKey = from.Name + ":" + fromPath
	}
	if statePath != "" {
		j, err := transfer.OpenJournal(statePath)
		if err != nil {
			dst.Close()
			return transfer.Summary{}, fmt.Errorf("open journal %s: %w", statePath, err)
		}
		defer j.Close()
		opts.Journal = j
	}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	sum, runErr := transfer.Run(ctx, src, dst, opts)
	closeErr := dst.Close()
	if runErr != nil {
		return sum, runErr
	}
	if closeErr != nil {
		return sum, fmt.Errorf("close sink: %w", closeErr)
	}
	return sum, nil
}

// CheckStore reads the store at path back through its source and reports
// every difference from msgs (see Diff) as a test error; when the store's
// sink is an Indexer it checks its index and digests as well. It
// reports whether the store matched.
func CheckStore(t testing.TB, s Store, path string, msgs []corpus.Message, e Expect) bool {
	t.Helper()
	got, err := ReadBack(s, path)
	if err != nil {
		t.Errorf("%s: %v", s.Name, err)
		return false
	}
	ok := true
	if problems := Diff(msgs, got, e); len(problems) > 0 {
		t.Errorf("%s at %s differs from the corpus:\n  %s", s.Name, path, strings.Join(problems, "\n  "))
		ok = false
	}
	sink, err := s.NewSink(path)
	if err != nil {
		t.Errorf("%s: reopen sink: %v", s.Name, err)
		return false
	}
	defer sink.Close()
	if ix, isIx := sink.(transfer.Indexer); isIx {
		problems, err := CheckIndex(context.Background(), ix, msgs, e)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			return false
		}
		if len(problems) > 0 {
			t.Errorf("%s at %s: the index differs:\n  %s", s.Name, path, strings.Join(problems, "\n  "))
			ok = false
		}
	}
	return ok
}

// ReadBack opens a source on the store at path and reads every message.
func ReadBack(s Store, path string) ([]Got, error) {
	src, err := s.OpenSource(path)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	got, err := ReadAll(ctx, src)
	if cerr := src.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close source: %w", cerr)
	}
	return got, err
}
