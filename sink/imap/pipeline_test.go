package imap

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// pipelineSource is a folder of n messages of 6 to 30 KB with flags and
// dates, so a pipeline of four APPENDs spans some 60 KB.
func pipelineSource(n int) (*transfertest.MemSource, map[string][]byte) {
	src := transfertest.NewMemSource()
	bodies := make(map[string][]byte)
	for i := range n {
		id := fmt.Sprintf("<%d@pipeline.example>", i)
		body := []byte(fmt.Sprintf("Message-ID: %s\r\nSubject: pipeline %d\r\n\r\n%s", id, i, strings.Repeat("pipelined body line\r\n", 300+i*50)))
		src.Add(transfer.Message{Folder: "Work", Flags: []string{`\Seen`, "Project"}, Date: date.AddDate(0, 0, i), CRLF: true}, body)
		bodies[id] = body
	}
	return src, bodies
}

func pipelineSink(t *testing.T, addr string, w *warnings) *Sink {
	t.Helper()
	s, err := New(context.Background(), imapconn.Options{
		Addr:        addr,
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: "alice", Password: account.StaticPassword("secret")},
		Timeout:     2 * time.Second,
		Connections: 1,
		Warn:        w.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkOnce asserts the folder holds every message exactly once, whole,
// with its flags, and nothing else.
func checkOnce(t *testing.T, srv *imapserver.Server, folder string, bodies map[string][]byte) {
	t.Helper()
	seen := checkAtMostOnce(t, srv, folder, bodies)
	for id := range bodies {
		if seen[id] != 1 {
			t.Errorf("%s is stored %d times, want once", id, seen[id])
		}
	}
}

// checkAtMostOnce asserts the folder holds whole messages of bodies, each
// at most once, with their flags, and returns how many of each.
func checkAtMostOnce(t *testing.T, srv *imapserver.Server, folder string, bodies map[string][]byte) map[string]int {
	t.Helper()
	got := dump(t, srv)[folder]
	seen := make(map[string]int)
	for _, m := range got {
		id := ""
		for id0, b := range bodies {
			if bytes.Equal(m.Body, b) {
				id = id0
			}
		}
		if id == "" {
			t.Errorf("UID %d: %d bytes that are no message of the source (a partial copy?)", m.UID, len(m.Body))
			continue
		}
		seen[id]++
		if seen[id] > 1 {
			t.Errorf("UID %d: %s stored again", m.UID, id)
		}
		if strings.ToLower(strings.Join(m.Flags, " ")) != `\seen project` {
			t.Errorf("UID %d: flags %v", m.UID, m.Flags)
		}
	}
	return seen
}

// The connection drops in the middle of a pipeline of APPENDs (four
// workers on one connection, the server keeping what arrived of the
// literal that was cut) and the run, allowed no retries, stops: it has
// journaled only what the server confirmed, deleted the partial copy and
// stored nothing twice, and the re-run copies the rest, so every message
// ends up stored exactly once.
func TestPipelineCutMidwayRerun(t *testing.T) {
	srv := startServer(t, imapserver.Options{KeepPartialAppend: true})
	src, bodies := pipelineSource(24)
	// About the fifth message of the pipeline.
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 60000, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	journal := filepath.Join(t.TempDir(), "state")
	run := func(addr string, retries int) (transfer.Summary, error) {
		t.Helper()
		j, err := transfer.OpenJournal(journal)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		var w warnings
		dst := pipelineSink(t, addr, &w)
		sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "mem:", Journal: j, Connections: 4, Workers: 4, Retries: retries})
		if cerr := dst.Close(); cerr != nil {
			t.Errorf("Close: %v", cerr)
		}
		t.Logf("run: %+v, %v; warnings: %s", sum, err, w.all())
		return sum, err
	}
	first, err := run(proxy.Addr(), -1)
	if proxy.Fired() != 1 {
		t.Fatalf("fault fired %d times", proxy.Fired())
	}
	if err == nil || !strings.Contains(err.Error(), "connection lost") || first.Copied == 0 || first.Copied == len(bodies) {
		t.Fatalf("first run: %d copied, err %v; want the cut to stop the run after some of the messages", first.Copied, err)
	}
	checkAtMostOnce(t, srv, "Work", bodies)
	j, err := transfer.OpenJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	recorded := j.Len()
	j.Close()
	held := len(dump(t, srv)["Work"])
	if recorded != first.Copied || held < recorded {
		t.Errorf("after the cut: journal records %d, the run copied %d, the server holds %d", recorded, first.Copied, held)
	}
	second, err := run(srv.Addr(), 0)
	if err != nil || second.Failed != 0 || second.Copied+second.Skipped != len(bodies) || second.Copied == 0 {
		t.Errorf("re-run: %+v, %v", second, err)
	}
	checkOnce(t, srv, "Work", bodies)
}

// A NO for one message in the middle of a pipeline fails that message
// alone; the others of the pipeline are stored and journaled, and the
// refused one is not.
func TestPipelineRefusalInTheMiddle(t *testing.T) {
	src, bodies := pipelineSource(12)
	refused := "<5@pipeline.example>"
	srv := startServer(t, imapserver.Options{RefuseAppend: func(folder string, body []byte) *imap.Error {
		if bytes.Contains(body, []byte(refused)) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Mail size is larger than the maximum size allowed"}
		}
		return nil
	}})
	j, err := transfer.OpenJournal(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var w warnings
	dst := pipelineSink(t, srv.Addr(), &w)
	defer dst.Close()
	sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "mem:", Journal: j, Connections: 4, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 11 || sum.Failed != 1 || len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].Error(), "LIMIT") {
		t.Fatalf("summary %+v", sum)
	}
	if j.Len() != 11 {
		t.Errorf("journal records %d messages, want the 11 stored", j.Len())
	}
	delete(bodies, refused)
	checkOnce(t, srv, "Work", bodies)
}
