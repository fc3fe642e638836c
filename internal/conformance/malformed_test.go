package conformance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	maildirsource "github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// tryCopy opens a source and a sink and runs one copy without a journal,
// returning the first error on the way (open, run or close).
func tryCopy(from Store, fromPath string, to Store, toPath string, progress transfer.Progress) (transfer.Summary, error) {
	src, err := from.OpenSource(fromPath)
	if err != nil {
		return transfer.Summary{}, err
	}
	defer src.Close()
	dst, err := to.NewSink(toPath)
	if err != nil {
		return transfer.Summary{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	sum, err := transfer.Run(ctx, src, dst, transfer.Options{SourceKey: from.Name + ":" + fromPath, Progress: progress})
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return sum, err
}

// failure returns err, or else the first per-message failure of sum.
func failure(sum transfer.Summary, err error) error {
	if err != nil {
		return err
	}
	if len(sum.Failures) > 0 {
		return sum.Failures[0]
	}
	return nil
}

// checkError asserts that a copy failed with an error naming path and of
// class want.
func checkError(t *testing.T, sum transfer.Summary, err error, path string, want transfer.Class) {
	t.Helper()
	e := failure(sum, err)
	if e == nil {
		t.Fatalf("copy succeeded (copied %d); want a %v error naming %s", sum.Copied, want, path)
	}
	t.Logf("error (%v): %v", transfer.ClassOf(e), e)
	if !strings.Contains(e.Error(), path) {
		t.Errorf("error %q does not name %s", e, path)
	}
	if got := transfer.ClassOf(e); got != want {
		t.Errorf("error %q is %v, want %v", e, got, want)
	}
}

// fillStore creates a store of kind s in a new directory and fills it.
func fillStore(t *testing.T, s Store, msgs []corpus.Message) string {
	t.Helper()
	path := s.Path(t.TempDir())
	sink, err := s.NewSink(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Fill(context.Background(), sink, msgs); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkConsistent asserts that the store at path holds only complete corpus
// messages, each at most as often as the corpus has it, and returns how many.
func checkConsistent(t *testing.T, s Store, path string, msgs []corpus.Message) int {
	t.Helper()
	got, err := ReadBack(s, path)
	if err != nil {
		t.Fatalf("reading the destination back: %v", err)
	}
	problems, n := DiffSubset(msgs, got, Expect{})
	if len(problems) > 0 {
		t.Errorf("destination %s is inconsistent:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return n
}

func TestMalformedMaildirWithoutCur(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "new", "1700000000.M1P1.host"), []byte("Subject: x\n\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := tryCopy(Maildir(), root, Maildir(), Maildir().Path(t.TempDir()), nil)
	checkError(t, sum, err, root, transfer.Fatal)
}

// A directory where a message file is expected (inside cur/) is not
// copied, and not silently: either that message fails (per message, naming
// it) or the source warns about it by name. The others are copied.
func TestMalformedDirectoryInCur(t *testing.T) {
	t.Parallel()
	msgs := FromSample(sample.Generate(10, 4, 1500))
	msgs = corpus.InFolder(msgs, "INBOX")
	root := fillStore(t, Maildir(), msgs)
	odd := filepath.Join(root, "cur", "1700000000.M1P1.host,S=10:2,S")
	if err := os.Mkdir(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var warnings []string
	src, err := maildirsource.Open(root, maildirsource.Options{Warn: func(w string) {
		mu.Lock()
		warnings = append(warnings, w)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := Maildir().Path(t.TempDir())
	sink, err := Maildir().NewSink(dst)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := transfer.Run(context.Background(), src, sink, transfer.Options{SourceKey: "maildir:" + root})
	sink.Close()
	mu.Lock()
	warned := strings.Contains(strings.Join(warnings, "\n"), odd)
	mu.Unlock()
	if !warned {
		checkError(t, sum, err, odd, transfer.PerMessage)
	} else if err != nil {
		t.Errorf("copy: %v", err)
	}
	if sum.Copied != len(msgs) {
		t.Errorf("copied %d, want the %d real messages", sum.Copied, len(msgs))
	}
	if n := checkConsistent(t, Maildir(), dst, msgs); n != len(msgs) {
		t.Errorf("destination holds %d messages, want %d", n, len(msgs))
	}
}

func TestMalformedStateIsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := transfer.OpenJournal(dir)
	if err == nil {
		t.Fatalf("OpenJournal(%s) on a directory succeeded", dir)
	}
	if !strings.Contains(err.Error(), dir) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("OpenJournal on a directory: %q (%v); want a fatal error naming it", err, transfer.ClassOf(err))
	}
}

// The destination Maildir is replaced by a file in the middle of a run: the
// run stops with a fatal error naming the destination, and what had arrived
// is complete.
func TestFailingDestinationReplacedByFile(t *testing.T) {
	t.Parallel()
	msgs := FromSample(sample.Generate(120, 6, 3000))
	src := fillStore(t, Maildir(), msgs)
	dst := Maildir().Path(t.TempDir())
	moved := dst + ".moved"
	var copied atomic.Int32
	var swapped atomic.Bool
	progress := transfer.ProgressFunc(func(e transfer.Event) {
		if e.Kind == transfer.EventCopied && copied.Add(1) == 20 && swapped.CompareAndSwap(false, true) {
			if err := os.Rename(dst, moved); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(dst, []byte("not a directory\n"), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	sum, err := tryCopy(Maildir(), src, Maildir(), dst, progress)
	if !swapped.Load() {
		t.Fatalf("the run ended before the destination could be replaced: %+v, %v", sum, err)
	}
	checkError(t, sum, err, dst, transfer.Fatal)
	if n := checkConsistent(t, Maildir(), moved, msgs); n < 20 {
		t.Errorf("only %d messages in the moved destination; 20 were reported copied", n)
	}
}

// mountTmpfs mounts a tmpfs of size bytes, or skips when this system does
// not allow it (not root, no mount); TestFailingDestinationReplacedByFile
// covers failing destinations there.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); a full disk is not simulated", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// A destination that runs out of space: a fatal error naming it, and only
// complete messages in it.
func diskFullTest(t *testing.T, to Store) {
	msgs := FromSample(sample.Generate(80, 8, 30000))
	src := fillStore(t, Maildir(), msgs)
	fs := mountTmpfs(t, "1m")
	dst := to.Path(fs)
	sum, err := tryCopy(Maildir(), src, to, dst, nil)
	checkError(t, sum, err, dst, transfer.Fatal)
	if e := failure(sum, err); e != nil && !errors.Is(e, syscall.ENOSPC) && !strings.Contains(e.Error(), "no space") {
		t.Errorf("error %q does not say the disk is full", e)
	}
	n := checkConsistent(t, to, dst, msgs)
	t.Logf("%d of %d messages fit: %v", n, len(msgs), failure(sum, err))
}

func TestFailingDestinationDiskFullMaildir(t *testing.T) {
	t.Parallel()
	diskFullTest(t, Maildir())
}
