package mbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	"github.com/mailferry/mailferry/sink/mbox/mboxtest"
	"github.com/mailferry/mailferry/transfer"
)

// Malformed mbox files as a source, through the conformance suite's checks.

func TestMalformedNotAnMboxFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.mbox")
	if err := os.WriteFile(path, []byte("Dear diary,\nthis is not a mailbox.\nFrom here on, nothing.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := maildirtest.Maildir()
	sum, err := conformance.Copy(mboxtest.MboxFile(), path, md, md.Path(t.TempDir()), "", transfer.Options{})
	conformance.CheckError(t, sum, err, path, transfer.Fatal)
	if sum.Copied != 0 {
		t.Errorf("copied %d messages out of a file that is not an mbox", sum.Copied)
	}
}

// In a directory of mbox files, one file that is not an mbox fails its
// folder (naming the file) but not the others.
func TestMalformedNotAnMboxInDirectory(t *testing.T) {
	t.Parallel()
	good := conformance.FromSample(sample.Generate(20, 3, 2000))
	good = corpus.InFolder(good, "Good")
	dir := conformance.FillStore(t, mboxtest.MboxDir(), good)
	bad := filepath.Join(dir, "Bad.mbox")
	if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR not mail at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	md := maildirtest.Maildir()
	dst := md.Path(t.TempDir())
	sum, err := conformance.Copy(mboxtest.MboxDir(), dir, md, dst, "", transfer.Options{})
	e := conformance.Failure(sum, err)
	if e == nil || !strings.Contains(e.Error(), bad) {
		t.Fatalf("copy: err %v, failures %v; want an error naming %s", err, sum.Failures, bad)
	}
	if transfer.ClassOf(e) == transfer.Temporary {
		t.Errorf("error %q is temporary; retrying cannot help", e)
	}
	conformance.CheckConsistent(t, md, dst, good)
}
