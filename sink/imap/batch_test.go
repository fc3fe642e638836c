package imap

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/syncbuffer"
	"github.com/mailferry/mailferry/transfer"
)

// wireLog is the server's raw protocol, safe for its goroutines.
type wireLog struct{ syncbuffer.Buffer }

// multiAppends counts the packed APPENDs (more than one message) the
// in-process server received, and the messages in them.
func (w *wireLog) multiAppends() (commands, messages int) {
	for _, m := range regexp.MustCompile(`MA([0-9]+)-[^ ]+ APPEND `).FindAllStringSubmatch(w.String(), -1) {
		commands++
		n := 0
		for _, c := range m[1] {
			n = n*10 + int(c-'0')
		}
		messages += n
	}
	return commands, messages
}

// runInto copies src into the sink at addr with the journal at path; the
// sink asks for its own Put workers.
func runInto(t *testing.T, src transfer.Source, addr, journal string, retries int, w *warnings) (transfer.Summary, error) {
	t.Helper()
	j, err := transfer.OpenJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	dst := pipelineSink(t, addr, w)
	sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "mem:", Journal: j, Connections: 4, Retries: retries, RetryDelay: 10 * time.Millisecond})
	if cerr := dst.Close(); cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	t.Logf("run: %+v, %v; warnings: %s", sum, err, w.all())
	return sum, err
}

// Where the server offers MULTIAPPEND, the messages go several to a
// command, each stored once, whole, with its flags; APPENDUID's uid-set
// gives each its UID, so a rewrite by the server is reported for the very
// message it touched.
func TestBatchesShareCommands(t *testing.T) {
	var wire wireLog
	rewritten := "<7@pipeline.example>"
	srv := startServer(t, imapserver.Options{MultiAppend: true, Debug: &wire, StoreBody: func(folder string, body []byte) []byte {
		if bytes.Contains(body, []byte(rewritten)) {
			return append(bytes.Clone(body), "\r\n"...)
		}
		return body
	}})
	src, bodies := pipelineSource(40)
	var w warnings
	dst := pipelineSink(t, srv.Addr(), &w)
	if dst.PutWorkers() != putWorkersPerConnection {
		t.Errorf("PutWorkers %d for one connection, want %d", dst.PutWorkers(), putWorkersPerConnection)
	}
	var rewrites []string
	progress := transfer.ProgressFunc(func(e transfer.Event) {
		if strings.Contains(e.Text, "stored differently") {
			rewrites = append(rewrites, e.Text)
		}
	})
	sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "mem:", Connections: 4, Progress: progress})
	if err != nil || sum.Copied != 40 {
		t.Fatalf("run: %+v, %v", sum, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	commands, inThem := wire.multiAppends()
	if commands == 0 || inThem < 20 {
		t.Errorf("%d MULTIAPPENDs carried %d of the 40 messages; want most of them batched", commands, inThem)
	}
	t.Logf("%d MULTIAPPENDs carried %d of the 40 messages", commands, inThem)
	want := fmt.Sprintf("%d bytes sent, %d stored", len(bodies[rewritten]), len(bodies[rewritten])+2)
	if sum.Rewritten != 1 || len(rewrites) != 1 || !strings.Contains(rewrites[0], want) {
		t.Errorf("%d rewrites reported: %q; want the one message the server stored with 2 more bytes (%s)", sum.Rewritten, rewrites, want)
	}
	bodies[rewritten] = append(bytes.Clone(bodies[rewritten]), "\r\n"...)
	checkOnce(t, srv, "Work", bodies)
}

// A NO for a MULTIAPPEND stores none of it and does not say which message
// it is about: each message of the batch is sent again alone, so only the
// refused one fails, and the others are stored and journaled.
func TestBatchRefusalFailsOneMessage(t *testing.T) {
	src, bodies := pipelineSource(30)
	refused := "<5@pipeline.example>"
	var wire wireLog
	srv := startServer(t, imapserver.Options{MultiAppend: true, Debug: &wire, RefuseAppend: func(folder string, body []byte) *imap.Error {
		if bytes.Contains(body, []byte(refused)) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Mail size is larger than the maximum size allowed"}
		}
		return nil
	}})
	var w warnings
	sum, err := runInto(t, src, srv.Addr(), filepath.Join(t.TempDir(), "state"), 0, &w)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 29 || sum.Failed != 1 || len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].Error(), "LIMIT") || !strings.Contains(sum.Failures[0].Error(), `subject "pipeline 5"`) {
		t.Fatalf("summary %+v", sum)
	}
	if commands, _ := wire.multiAppends(); commands == 0 {
		t.Errorf("no MULTIAPPEND was sent")
	}
	delete(bodies, refused)
	checkOnce(t, srv, "Work", bodies)
}

// The connection drops in the middle of a MULTIAPPEND and the run, allowed
// no retries, stops. An atomic server stored nothing of the batch; a
// sloppy one stored its first messages and part of the one that was cut,
// which the clean-up deletes (counting the whole ones as stored). Either
// way the run journaled only what is on the server, and the re-run stores
// the rest, each message exactly once.
func TestBatchCutMidwayRerun(t *testing.T) {
	for _, sloppy := range []bool{false, true} {
		t.Run(map[bool]string{false: "atomic", true: "sloppy"}[sloppy], func(t *testing.T) {
			var wire wireLog
			srv := startServer(t, imapserver.Options{MultiAppend: true, KeepPartialAppend: sloppy, Debug: &wire})
			src, bodies := pipelineSource(40)
			proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 150000, Action: faultproxy.Cut, Times: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			journal := filepath.Join(t.TempDir(), "state")
			var w warnings
			first, err := runInto(t, src, proxy.Addr(), journal, -1, &w)
			if proxy.Fired() != 1 {
				t.Fatalf("fault fired %d times", proxy.Fired())
			}
			if err == nil || first.Copied == len(bodies) {
				t.Fatalf("first run: %d copied, err %v; want the cut to stop the run", first.Copied, err)
			}
			checkAtMostOnce(t, srv, "Work", bodies)
			if sloppy && !strings.Contains(w.all(), "deleted the partial copy") {
				t.Errorf("no partial copy deleted; warnings: %s", w.all())
			}
			j, err := transfer.OpenJournal(journal)
			if err != nil {
				t.Fatal(err)
			}
			recorded := j.Len()
			j.Close()
			if held := len(dump(t, srv)["Work"]); recorded != first.Copied || held != recorded {
				t.Errorf("after the cut: journal records %d, the run copied %d, the server holds %d", recorded, first.Copied, held)
			}
			second, err := runInto(t, src, srv.Addr(), journal, 0, &w)
			if err != nil || second.Failed != 0 || second.Copied+second.Skipped != len(bodies) || second.Copied == 0 {
				t.Errorf("re-run: %+v, %v", second, err)
			}
			checkOnce(t, srv, "Work", bodies)
			if commands, _ := wire.multiAppends(); commands == 0 {
				t.Errorf("no MULTIAPPEND was sent")
			}
		})
	}
}

// The server stores a MULTIAPPEND and the connection is lost before its
// answer arrives: the clean-up finds every message of the batch on the
// server and counts it as stored, so the retrying run stores none of them
// again and journals all.
func TestBatchAnswerLost(t *testing.T) {
	srv := startServer(t, imapserver.Options{MultiAppend: true})
	src, bodies := pipelineSource(40)
	// A uid-set range is the first ":" the server sends: the answer to
	// the first MULTIAPPEND is cut off in the middle.
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToClient, Match: []byte(":"), Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	journal := filepath.Join(t.TempDir(), "state")
	var w warnings
	sum, err := runInto(t, src, proxy.Addr(), journal, 3, &w)
	if proxy.Fired() != 1 {
		t.Fatalf("fault fired %d times", proxy.Fired())
	}
	if err != nil || sum.Copied != len(bodies) || sum.Failed != 0 {
		t.Fatalf("run: %+v, %v", sum, err)
	}
	checkOnce(t, srv, "Work", bodies)
	j, err := transfer.OpenJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Len() != len(bodies) {
		t.Errorf("journal records %d, want %d", j.Len(), len(bodies))
	}
}

// The same against a real Dovecot, which stores a MULTIAPPEND in one
// transaction: a connection cut while a batch is sent loses all of the
// batch, one cut after Dovecot stored a batch loses only its answer; the
// retrying run stores every message exactly once either way.
func TestBatchFaultsDovecot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault faultproxy.Fault
	}{
		{"cut while sending", faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 150000, Action: faultproxy.Cut, Times: 1}},
		// Dovecot sends no ":" before the uid-set of a MULTIAPPEND's
		// APPENDUID (1:3).
		{"answer lost", faultproxy.Fault{Dir: faultproxy.ToClient, Match: []byte(":"), Action: faultproxy.Cut, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{{Name: "alice", Password: "secret"}}})
			proxy, err := faultproxy.Start(srv.IMAPAddr, tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			src, bodies := pipelineSource(40)
			var w warnings
			dst, err := New(context.Background(), imapconn.Options{
				Addr:        proxy.Addr(),
				Security:    account.SecurityNone,
				Credentials: account.Credentials{User: "alice", Password: account.StaticPassword("secret")},
				Timeout:     5 * time.Second,
				Connections: 2,
				Warn:        w.add,
			})
			if err != nil {
				t.Fatal(err)
			}
			if dst.batches == nil {
				t.Fatal("Dovecot's MULTIAPPEND not used")
			}
			j, err := transfer.OpenJournal(filepath.Join(t.TempDir(), "state"))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "mem:", Journal: j, Connections: 2, Retries: 3, RetryDelay: 10 * time.Millisecond})
			if cerr := dst.Close(); cerr != nil {
				t.Errorf("Close: %v", cerr)
			}
			t.Logf("run: %+v, %v; warnings: %s", sum, err, w.all())
			if proxy.Fired() != 1 {
				t.Fatalf("fault fired %d times", proxy.Fired())
			}
			if err != nil || sum.Copied != len(bodies) || j.Len() != len(bodies) {
				t.Fatalf("run: %+v, %v; journal %d", sum, err, j.Len())
			}
			d, err := imapserver.Dump(srv.IMAPAddr, nil, "alice", "secret")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, m := range d["Work"] {
				for id, b := range bodies {
					if bytes.Equal(m.Body, b) {
						seen[id]++
					}
				}
			}
			if len(d["Work"]) != len(bodies) {
				t.Errorf("Work holds %d messages, want %d", len(d["Work"]), len(bodies))
			}
			for id := range bodies {
				if seen[id] != 1 {
					t.Errorf("%s stored %d times", id, seen[id])
				}
			}
		})
	}
}
