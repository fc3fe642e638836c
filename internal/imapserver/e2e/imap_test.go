package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	sinkimap "github.com/mailferry/mailferry/sink/imap"
	sinkmaildir "github.com/mailferry/mailferry/sink/maildir"
	sourceimap "github.com/mailferry/mailferry/source/imap"
	sourcemaildir "github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

func newSource(t *testing.T, opts imapconn.Options) *sourceimap.Source {
	t.Helper()
	s, err := sourceimap.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSink(t *testing.T, opts imapconn.Options) *sinkimap.Sink {
	t.Helper()
	s, err := sinkimap.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dotted is where a folder of the "/" server lands on the "." server with
// the "INBOX." prefix, whose Sent folder is called "Sent".
func dotted(f string) string {
	switch f {
	case "INBOX":
		return "INBOX"
	case "Sent Items":
		return "INBOX.Sent"
	}
	return "INBOX." + strings.ReplaceAll(f, "/", ".")
}

func same(f string) string { return f }

// IMAP → IMAP between a "/" server and a "." server with prefix "INBOX.",
// whose Sent folders have different names: every message once, byte-
// identical, with flags and dates; the source unchanged; re-runs, with and
// without state, copy nothing.
func TestIMAPToIMAP(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{SpecialUse: map[string]string{"Sent Items": `\Sent`}}, msgs)
	dst := startMem(t, imapserver.Options{Delimiter: '.', Prefix: "INBOX.", SpecialUse: map[string]string{"Sent": `\Sent`}}, nil)
	before := dumpKeys(t, src.Addr(), nil)
	diffKeys(t, "source", before, corpusKeys(msgs, same))

	source := newSource(t, connOpts(src.Addr()))
	sink := newSink(t, connOpts(dst.Addr()))
	state := statePath(t)
	sum := run(t, source, sink, state, transfer.Options{})
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("first run: %+v", sum)
	}
	diffKeys(t, "destination", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, dotted))
	diffKeys(t, "source after the run", dumpKeys(t, src.Addr(), nil), before)

	if sum := run(t, source, sink, state, transfer.Options{}); sum.Copied != 0 || sum.Failed != 0 {
		t.Errorf("re-run: %+v", sum)
	}
	if sum := run(t, source, sink, statePath(t), transfer.Options{}); sum.Copied != 0 || sum.Failed != 0 {
		t.Errorf("re-run without state: %+v", sum)
	}
	diffKeys(t, "destination after re-runs", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, dotted))
}

// IMAP → Maildir → IMAP gives back byte-identical bodies, flags and dates.
func TestIMAPToMaildirToIMAP(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{}, msgs)
	dir := t.TempDir() + "/backup"
	md, err := sinkmaildir.New(dir, sinkmaildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := run(t, newSource(t, connOpts(src.Addr())), md, "", transfer.Options{})
	md.Close()
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("IMAP → Maildir: %+v", sum)
	}
	back, err := sourcemaildir.Open(dir, sourcemaildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	dst := startMem(t, imapserver.Options{}, nil)
	sink := newSink(t, connOpts(dst.Addr()))
	if sum := run(t, back, sink, "", transfer.Options{SourceKey: "maildir:" + dir}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("Maildir → IMAP: %+v", sum)
	}
	diffKeys(t, "after IMAP → Maildir → IMAP", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, same))
	if sum := run(t, back, sink, "", transfer.Options{SourceKey: "maildir:" + dir}); sum.Copied != 0 {
		t.Errorf("Maildir → IMAP re-run without state: %+v", sum)
	}
}

// A server that sends UID after the body literal loses nothing.
func TestUIDAfterLiteral(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{UIDAfterLiteral: true}, msgs)
	dst := startMem(t, imapserver.Options{}, nil)
	var warned []string
	opts := connOpts(src.Addr())
	opts.Warn = func(s string) { warned = append(warned, s) }
	sum := run(t, newSource(t, opts), newSink(t, connOpts(dst.Addr())), "", transfer.Options{Connections: 1})
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("%+v", sum)
	}
	diffKeys(t, "destination", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, same))
	if !strings.Contains(strings.Join(warned, "\n"), "UID after") {
		t.Errorf("no warning about the server's UID order: %q", warned)
	}
}

// The connection drops in the middle of a FETCH literal: the run retries
// on a fresh connection and copies everything exactly once.
func TestDropMidFetch(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{}, msgs)
	proxy, err := faultproxy.Start(src.Addr(), faultproxy.Fault{Dir: faultproxy.ToClient, Match: []byte("BODY[] {"), After: 200000, Action: faultproxy.Cut, Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dst := startMem(t, imapserver.Options{}, nil)
	sum := run(t, newSource(t, connOpts(proxy.Addr())), newSink(t, connOpts(dst.Addr())), statePath(t), transfer.Options{})
	if proxy.Fired() == 0 {
		t.Fatal("the fault never fired")
	}
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("%+v", sum)
	}
	diffKeys(t, "destination", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, same))
}

// The connection drops in the middle of an APPEND, on a server that keeps
// what arrived: no partial copy remains, everything arrives exactly once.
func TestDropMidAppend(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{}, msgs)
	dst := startMem(t, imapserver.Options{KeepPartialAppend: true}, nil)
	proxy, err := faultproxy.Start(dst.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 300000, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	sink := newSink(t, connOpts(proxy.Addr()))
	sum := run(t, newSource(t, connOpts(src.Addr())), sink, statePath(t), transfer.Options{})
	// Close looks once more for partial copies the server stored late.
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if proxy.Fired() == 0 {
		t.Fatal("the fault never fired")
	}
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("%+v", sum)
	}
	diffKeys(t, "destination", dumpKeys(t, dst.Addr(), nil), corpusKeys(msgs, same))
}

// A server that never answers a FETCH: the watchdog ends every attempt,
// and the run fails with an error that says so, in bounded time.
func TestServerNeverAnswers(t *testing.T) {
	src := startMem(t, imapserver.Options{}, corpus()[:3])
	proxy, err := faultproxy.Start(src.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("UID FETCH"), Action: faultproxy.Stall})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dst := startMem(t, imapserver.Options{}, nil)
	opts := connOpts(proxy.Addr())
	opts.Timeout = 500 * time.Millisecond
	start := time.Now()
	sum, err := transfer.Run(context.Background(), newSource(t, opts), newSink(t, connOpts(dst.Addr())),
		transfer.Options{SourceKey: "imap://stall", Retries: 2, RetryDelay: 10 * time.Millisecond})
	if err == nil {
		t.Fatalf("Run succeeded against a server that never answers: %+v", sum)
	}
	if !errors.Is(err, imapconn.ErrTimeout) || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("error does not say the server did not answer: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	if sum.Copied != 0 {
		t.Errorf("%+v", sum)
	}
}
