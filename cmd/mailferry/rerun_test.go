package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/plural"
)

// countingProxy forwards TCP connections on 127.0.0.1 to target and counts
// the connections and the bytes the server sends.
type countingProxy struct {
	ln       net.Listener
	conns    atomic.Int64
	fromSrv  atomic.Int64
	wg       sync.WaitGroup
	target   string
	closeAll chan struct{}
	// reached is closed when the first connection arrives; with hold,
	// connections reach target only once hold is closed.
	reached chan struct{}
	hold    <-chan struct{}
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	return startHoldingProxy(t, target, nil)
}

// startHoldingProxy is a countingProxy whose connections reach target only
// once hold is closed (at once when it is nil).
func startHoldingProxy(t *testing.T, target string, hold <-chan struct{}) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target, closeAll: make(chan struct{}), reached: make(chan struct{}), hold: hold}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.conns.Add(1) == 1 {
				close(p.reached)
			}
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		close(p.closeAll)
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) serve(client net.Conn) {
	defer p.wg.Done()
	if p.hold != nil {
		select {
		case <-p.hold:
		case <-p.closeAll:
			client.Close()
			return
		}
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(server, client); server.Close(); done <- struct{}{} }()
	go func() {
		n, _ := io.Copy(client, server)
		p.fromSrv.Add(n)
		client.Close()
		done <- struct{}{}
	}()
	select {
	case <-done:
	case <-p.closeAll:
	}
	client.Close()
	server.Close()
	<-done
}

// A run that lost its state file recognises every message from headers
// and sizes: it fetches no body. MAILFERRY_RERUN_MESSAGES sets the size of
// the mailbox (default 300); the figures are logged.
func TestDovecotLostStateRerunFetchesNoBodies(t *testing.T) {
	n := 300
	if v, err := strconv.Atoi(os.Getenv("MAILFERRY_RERUN_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}})
	var msgs []testMessage
	folders := []string{"INBOX", "Archive", "Lists/go"}
	for i := range n {
		msgs = append(msgs, message(folders[i%len(folders)], i, 2000+(i*7919)%18000))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	expectCode(t, copyIntoDovecot(t, s, "maildir:"+src), 0)

	proxy := startCountingProxy(t, s.IMAPAddr)
	dest := filepath.Join(t.TempDir(), "backup")
	copyFrom := func(state string) (result, int64, time.Duration) {
		before := proxy.fromSrv.Load()
		start := time.Now()
		r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=" + dovecotUser.Password}, "copy",
			"imap://"+dovecotUser.Name+"@"+proxy.ln.Addr().String(), "maildir:"+dest,
			"--ca-file", s.CAFile, "--state", state)
		took := time.Since(start)
		// The last connection's bytes are counted once it closed.
		for range 100 {
			if got := proxy.fromSrv.Load(); got > before {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return r, proxy.fromSrv.Load() - before, took
	}
	state := filepath.Join(t.TempDir(), "state")
	r, first, firstTook := copyFrom(state)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied "+plural.Count(n, "message")) {
		t.Fatalf("first copy:\n%s", r)
	}
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	r, again, againTook := copyFrom(state)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 0 messages") || !strings.Contains(r.stdout, "skipped "+strconv.Itoa(n)) {
		t.Fatalf("re-run without state:\n%s", r)
	}
	t.Logf("%d messages: first copy read %d bytes from the server in %v; the re-run without state read %d bytes (%.1f%%) in %v",
		n, first, firstTook.Round(time.Millisecond), again, 100*float64(again)/float64(first), againTook.Round(time.Millisecond))
	// Headers are a few hundred bytes a message; the bodies are 2-20 KB.
	if again*5 > first || again > int64(n)*1500 {
		t.Errorf("the re-run read %d bytes, the first copy %d: bodies were fetched", again, first)
	}
}
