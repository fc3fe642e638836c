package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// A message that fails alone (here: expunged between listing and fetching)
// is reported by folder and ID, the others are copied, and the exit code is
// 3. Stores cannot be made to fail one message on cue from outside the
// process, so this runs the copy in-process with a fault-injecting source.
func TestCopyPartialFailureExitCode(t *testing.T) {
	src := transfertest.NewMemSource()
	for i := 1; i <= 3; i++ {
		src.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i)}, []byte(message("INBOX", i, 200).body))
	}
	src.Vanished = map[string]bool{"2": true}
	dst := Endpoint{Scheme: "maildir", Path: filepath.Join(t.TempDir(), "dst")}
	cfg := copyConfig{
		ends:      ends{Source: Endpoint{Scheme: "test", Path: "mem"}, Dest: dst},
		StateFile: filepath.Join(t.TempDir(), "s.state"),
		Options:   transfer.Options{SourceKey: "test:mem", Connections: 1, Workers: 1},
	}
	var stdout, stderr bytes.Buffer
	rep := newReporter(outputMode{JSON: true}, &stdout, &stderr)
	sum, err := copyFrom(context.Background(), opened(src), cfg, endpointConfig{Endpoint: dst, Warn: rep.Warn}, rep)
	rep.Finish(sum, err)
	if got := exitCode(err); got != exitPartial {
		t.Fatalf("exit code %d (err %v), want %d", got, err, exitPartial)
	}
	if sum.Copied != 2 || sum.Failed != 1 {
		t.Errorf("summary %+v, want 2 copied and 1 failed", sum)
	}
	if n := len(messageFiles(t, dst.Path)); n != 2 {
		t.Errorf("destination holds %d messages, want 2", n)
	}
	if !strings.Contains(stdout.String(), `{"type":"failed","folder":"INBOX","id":"2"`) {
		t.Errorf("no JSON failure line for message 2:\n%s", stdout.String())
	}
	if s := lastSummary(t, stdout.String()); s.Failed != 1 || s.Copied != 2 {
		t.Errorf("JSON summary %+v", s)
	}
	if e := stderr.String(); !strings.Contains(e, `folder "INBOX", message 2`) || !strings.Contains(e, "re-run retries only the failed") {
		t.Errorf("stderr does not name the failed message and what to do:\n%s", e)
	}
}
