package mbox_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/corpus"
	sinkmbox "github.com/mailferry/mailferry/sink/mbox"
	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

const killedWriterEnv = "MAILFERRY_KILLED_WRITER_DIR"

// killedWriterMessages are what the child writes: two committed with a
// Flush, then one large enough (past the sink's write buffer) that part of
// it reaches the file before the child is killed.
func killedWriterMessages() [][]byte {
	return [][]byte{
		[]byte("Subject: one\n\nfirst\n"),
		[]byte("Subject: two\n\nsecond\n"),
		append([]byte("Subject: three\nContent-Type: application/octet-stream\n\n"), corpus.Attachment(900_000, 7)...),
	}
}

// TestKilledWriterChild is the writer TestSourceStopsAtCommittedSize kills:
// it prints WRITTEN once the large message is partly in the file, and then
// waits to be killed.
func TestKilledWriterChild(t *testing.T) {
	dir := os.Getenv(killedWriterEnv)
	if dir == "" {
		t.Skip("child process of TestSourceStopsAtCommittedSize; runs only when it starts it")
	}
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, body := range killedWriterMessages() {
		m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Flags: []string{`\Seen`}, Date: time.Unix(1700000000, 0), Size: int64(len(body))}
		if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	fmt.Println("WRITTEN")
	time.Sleep(time.Minute)
}

// TestSourceStopsAtCommittedSize: a writer killed while appending leaves
// part of a message at the end of a file, which an mbox reader alone would
// take for a complete (shorter) message. The source reads the file only as
// far as the sink's record says was committed, says so, and gives the two
// committed messages exactly.
func TestSourceStopsAtCommittedSize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killedWriterEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	written := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "WRITTEN" {
				ok = true
				break
			}
		}
		written <- ok
		io.Copy(io.Discard, out)
	}()
	var ok bool
	select {
	case ok = <-written:
	case <-time.After(30 * time.Second):
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !ok {
		t.Fatalf("the writer did not get to write: %s", stderr.String())
	}

	file := filepath.Join(dir, "INBOX")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	msgs := killedWriterMessages()
	if fi.Size() <= int64(len(msgs[0])+len(msgs[1])) || fi.Size() >= int64(len(msgs[0])+len(msgs[1])+len(msgs[2])) {
		t.Fatalf("the killed writer left %d bytes; want the two messages and part of the third", fi.Size())
	}

	var warnings []string
	src, err := srcmbox.Open(dir, srcmbox.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	list, err := src.List(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	err = src.Fetch(context.Background(), "INBOX", list, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		got = append(got, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], msgs[0]) || !bytes.Equal(got[1], msgs[1]) {
		t.Fatalf("read %d messages (%d listed), want the two committed ones exactly", len(got), len(list))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], file) || !strings.Contains(warnings[0], "interrupted") {
		t.Errorf("warnings %q, want one naming %s", warnings, file)
	}

	// The sink, opening the file again, cuts the same end off; the
	// archive then reads the same, without a warning.
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Index(context.Background(), "INBOX"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	src2, err := srcmbox.Open(dir, srcmbox.Options{Warn: func(w string) { t.Errorf("after the repair: warning %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	if list, err := src2.List(context.Background(), "INBOX"); err != nil || len(list) != 2 {
		t.Errorf("after the repair: %d messages, %v", len(list), err)
	}
}
