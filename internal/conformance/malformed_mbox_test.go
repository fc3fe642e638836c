package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

func TestMalformedNotAnMboxFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.mbox")
	if err := os.WriteFile(path, []byte("Dear diary,\nthis is not a mailbox.\nFrom here on, nothing.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := Maildir().Path(t.TempDir())
	sum, err := tryCopy(MboxFile(), path, Maildir(), dst, nil)
	checkError(t, sum, err, path, transfer.Fatal)
	if sum.Copied != 0 {
		t.Errorf("copied %d messages out of a file that is not an mbox", sum.Copied)
	}
}

// In a directory of mbox files, one file that is not an mbox fails its
// folder (naming the file) but not the others.
func TestMalformedNotAnMboxInDirectory(t *testing.T) {
	t.Parallel()
	good := FromSample(sample.Generate(20, 3, 2000))
	good = corpus.InFolder(good, "Good")
	dir := fillStore(t, MboxDir(), good)
	bad := filepath.Join(dir, "Bad.mbox")
	if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR not mail at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := Maildir().Path(t.TempDir())
	sum, err := tryCopy(MboxDir(), dir, Maildir(), dst, nil)
	e := failure(sum, err)
	if e == nil || !strings.Contains(e.Error(), bad) {
		t.Fatalf("copy: err %v, failures %v; want an error naming %s", err, sum.Failures, bad)
	}
	if transfer.ClassOf(e) == transfer.Temporary {
		t.Errorf("error %q is temporary; retrying cannot help", e)
	}
	checkConsistent(t, Maildir(), dst, good)
}

// A destination mbox file that is a directory fails the copy, naming it.
func TestMalformedDirectoryForMboxFile(t *testing.T) {
	t.Parallel()
	msgs := corpus.InFolder(FromSample(sample.Generate(5, 5, 1500)), "INBOX")
	src := fillStore(t, Maildir(), msgs)
	dst := MboxDir().Path(t.TempDir())
	blocker := filepath.Join(dst, "INBOX")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := tryCopy(Maildir(), src, MboxDir(), dst, nil)
	checkError(t, sum, err, blocker, transfer.Fatal)
}

func TestFailingDestinationDiskFullMbox(t *testing.T) {
	t.Parallel()
	diskFullTest(t, MboxDir())
}
