package conformance

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

// This file holds the pieces of the malformed-input and failing-destination
// tests: a store package builds a broken store, copies with Copy and checks
// the outcome with these.

// Failure returns err, or else the first per-message failure of sum.
func Failure(sum transfer.Summary, err error) error {
	if err != nil {
		return err
	}
	if len(sum.Failures) > 0 {
		return sum.Failures[0]
	}
	return nil
}

// CheckError asserts that a copy failed with an error naming path and of
// class want.
func CheckError(t *testing.T, sum transfer.Summary, err error, path string, want transfer.Class) {
	t.Helper()
	e := Failure(sum, err)
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

// FillStore creates a store of kind s in a new directory, fills it with
// msgs (Put) and returns its path.
func FillStore(t *testing.T, s Store, msgs []corpus.Message) string {
	t.Helper()
	path := s.Path(t.TempDir())
	if err := Put(s, path, msgs); err != nil {
		t.Fatal(err)
	}
	return path
}

// CheckConsistent asserts that the store at path holds only complete corpus
// messages, each at most as often as the corpus has it, and returns how many.
func CheckConsistent(t *testing.T, s Store, path string, msgs []corpus.Message) int {
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

// mountTmpfs mounts a tmpfs of size bytes, or skips when this system does
// not allow it (not root, no mount); a destination replaced by a file
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

// DiskFull copies 80 generated messages from a store of kind from into a
// store of kind to on a 1 MiB tmpfs: the copy must fail with a fatal error
// naming the destination and saying the disk is full, and the destination
// must hold only complete messages.
func DiskFull(t *testing.T, from, to Store) {
	msgs := FromSample(sample.Generate(80, 8, 30000))
	src := FillStore(t, from, msgs)
	fs := mountTmpfs(t, "1m")
	dst := to.Path(fs)
	sum, err := Copy(from, src, to, dst, "", transfer.Options{})
	CheckError(t, sum, err, dst, transfer.Fatal)
	if e := Failure(sum, err); e != nil && !errors.Is(e, syscall.ENOSPC) && !strings.Contains(e.Error(), "no space") {
		t.Errorf("error %q does not say the disk is full", e)
	}
	n := CheckConsistent(t, to, dst, msgs)
	t.Logf("%d of %d messages fit: %v", n, len(msgs), Failure(sum, err))
}

// CheckLocalSink asserts that a local store's sink can find what it already
// holds (transfer.Indexer) and says where its state file lives
// (transfer.StateLocator); without these a lost state file means
// duplicates.
func CheckLocalSink(t *testing.T, s Store) {
	t.Helper()
	sink, err := s.NewSink(s.Path(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if _, ok := sink.(transfer.Indexer); !ok {
		t.Errorf("%s: sink is no transfer.Indexer", s.Name)
	}
	if _, ok := sink.(transfer.StateLocator); !ok {
		t.Errorf("%s: sink is no transfer.StateLocator", s.Name)
	}
}
