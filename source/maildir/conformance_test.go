package maildir_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	maildirsource "github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// Malformed Maildirs as a source, through the conformance suite's checks.

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
	md := maildirtest.Maildir()
	sum, err := conformance.Copy(md, root, md, md.Path(t.TempDir()), "", transfer.Options{})
	conformance.CheckError(t, sum, err, root, transfer.Fatal)
}

// A directory where a message file is expected (inside cur/) is not
// copied, and not silently: either that message fails (per message, naming
// it) or the source warns about it by name. The others are copied.
func TestMalformedDirectoryInCur(t *testing.T) {
	t.Parallel()
	md := maildirtest.Maildir()
	msgs := conformance.FromSample(sample.Generate(10, 4, 1500))
	msgs = corpus.InFolder(msgs, "INBOX")
	root := conformance.FillStore(t, md, msgs)
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
	dst := md.Path(t.TempDir())
	sink, err := md.NewSink(dst)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := transfer.Run(context.Background(), src, sink, transfer.Options{SourceKey: "maildir:" + root})
	sink.Close()
	mu.Lock()
	warned := strings.Contains(strings.Join(warnings, "\n"), odd)
	mu.Unlock()
	if !warned {
		conformance.CheckError(t, sum, err, odd, transfer.PerMessage)
	} else if err != nil {
		t.Errorf("copy: %v", err)
	}
	if sum.Copied != len(msgs) {
		t.Errorf("copied %d, want the %d real messages", sum.Copied, len(msgs))
	}
	if n := conformance.CheckConsistent(t, md, dst, msgs); n != len(msgs) {
		t.Errorf("destination holds %d messages, want %d", n, len(msgs))
	}
}
