package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// Connections that cannot work: a server that accepts and never greets, TLS
// spoken to a plaintext port, a port nobody listens on. Each must fail fast,
// with exit code 1 and a message that says what to change.

// silentServer accepts connections and never sends a byte.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// timed runs mailferry and returns its result and how long it took.
func timed(t *testing.T, args ...string) (result, time.Duration) {
	t.Helper()
	start := time.Now()
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=s3cret"}, args...)
	return r, time.Since(start)
}

func TestSilentServerFailsWithinTimeoutTimesAttempts(t *testing.T) {
	addr := silentServer(t)
	dst := "maildir:" + filepath.Join(t.TempDir(), "d")
	for _, c := range []struct {
		endpoint, hint string
	}{
		{"imap://alice@" + addr, "if the port is the server's TLS port, use imaps://"},
		{"imaps://alice@" + addr, "check that the port is the server's imap TLS port"},
		{"pop3://alice@" + addr, "if the port is the server's TLS port, use pop3s://"},
		{"pop3s://alice@" + addr, "check that the port is the server's pop3 TLS port"},
	} {
		r, took := timed(t, "copy", c.endpoint, dst, "--timeout", "1s")
		expectCode(t, r, exitFailed)
		// Two attempts of 1 s each, and the time to start the binary.
		if took < 2*time.Second || took > 4*time.Second {
			t.Errorf("%s: failed after %v, want about 2s (--timeout 1s × 2 attempts)", c.endpoint, took)
		}
		for _, want := range []string{"no answer from the server", "tried 2 times", "the server accepted the connection but did not answer", c.hint} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: the error lacks %q:\n%s", c.endpoint, want, r)
			}
		}
	}
}

func TestTLSOnPlaintextPortFailsAtOnceWithAHint(t *testing.T) {
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	pop := startPOP3(t, 1)
	dst := "maildir:" + filepath.Join(t.TempDir(), "d")
	for _, c := range []struct{ endpoint, hint string }{
		{"imaps://alice%40example.com@" + srv.Addr(), "imaps:// on a plaintext port: port " + portOf(srv.Addr()) +
			" answered without TLS; use imap://alice%40example.com@" + srv.Addr() + " (STARTTLS)"},
		{"pop3s://alice@" + pop.Addr(), "pop3s:// on a plaintext port: port " + portOf(pop.Addr()) +
			" answered without TLS; use pop3://alice@" + pop.Addr() + " (STARTTLS)"},
	} {
		r, took := timed(t, "copy", c.endpoint, dst)
		expectCode(t, r, exitFailed)
		if took > 2*time.Second {
			t.Errorf("%s: failed after %v; a TLS handshake with a plaintext port is not retried", c.endpoint, took)
		}
		if !strings.Contains(r.stderr, c.hint) {
			t.Errorf("%s: the error lacks %q:\n%s", c.endpoint, c.hint, r)
		}
		if strings.Contains(r.stderr, "trying again") {
			t.Errorf("%s: retried:\n%s", c.endpoint, r)
		}
	}
}

func TestConnectionRefusedFailsAtOnceWithAHint(t *testing.T) {
	addr := closedPort(t)
	for _, c := range []struct{ endpoint, ports string }{
		{"imaps://alice@" + addr, "imaps:// is usually port 993, imap:// 143"},
		{"pop3://alice@" + addr, "pop3s:// is usually port 995, pop3:// 110"},
	} {
		r, took := timed(t, "folders", c.endpoint)
		expectCode(t, r, exitFailed)
		if took > 2*time.Second {
			t.Errorf("%s: failed after %v; a refused connection is not retried", c.endpoint, took)
		}
		want := "nothing accepts connections on " + addr + ": check the port and the scheme (" + c.ports + ")"
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: the error lacks %q:\n%s", c.endpoint, want, r)
		}
	}
	// As a destination too.
	src, _ := smallMaildir(t)
	r, took := timed(t, "copy", "maildir:"+src, "imap://alice@"+addr, "--state", filepath.Join(t.TempDir(), "s"))
	expectCode(t, r, exitFailed)
	if took > 2*time.Second || !strings.Contains(r.stderr, "nothing accepts connections on "+addr) {
		t.Errorf("destination: failed after %v:\n%s", took, r)
	}
}

func TestTimeoutMustBePositive(t *testing.T) {
	r := mailferry(t, nil, "folders", "imap://alice@127.0.0.1:1", "--timeout", "0s")
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--timeout") {
		t.Errorf("the usage error does not name --timeout:\n%s", r)
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// openWithRetry's bounds, with the delays shortened: a temporary error is
// tried 5 times, a silent server twice and without a delay, anything else
// once; and no attempt starts that could end after openBudget.
func TestOpenWithRetryBounds(t *testing.T) {
	saved := openRetryDelays
	openRetryDelays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	t.Cleanup(func() { openRetryDelays = saved })
	busy := transfer.TemporaryError(errors.New("NO [UNAVAILABLE] try later"))
	silent := transfer.TemporaryError(fmt.Errorf("greeting: %w within 1s", account.ErrNoAnswer))
	final := transfer.FatalError(errors.New("NO [AUTHENTICATIONFAILED]"))
	for _, c := range []struct {
		err      error
		attempts int
		text     string
	}{
		{busy, 5, "tried 5 times"},
		{silent, 2, "tried 2 times"},
		{final, 1, ""},
	} {
		n := 0
		var warned []string
		_, err := openWithRetry(context.Background(), "source x", func(s string) { warned = append(warned, s) }, time.Second, func() (int, error) {
			n++
			return 0, c.err
		})
		if n != c.attempts || !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%v: %d attempt(s), error %v; want %d attempt(s) and %q", c.err, n, err, c.attempts, c.text)
		}
		if len(warned) != c.attempts-1 {
			t.Errorf("%v: %d warning(s) for %d attempt(s)", c.err, len(warned), n)
		}
	}
	// An attempt that takes longer than the timeout (each step has its
	// own) uses up the budget sooner.
	n := 0
	_, err := openWithRetry(context.Background(), "source x", nil, 10*time.Millisecond, func() (int, error) {
		n++
		time.Sleep(25 * time.Millisecond)
		return 0, busy
	})
	if n >= 5 || !strings.Contains(err.Error(), "one more would take longer than") {
		t.Errorf("slow attempts: %d attempt(s), error %v; want fewer than 5 and the budget named", n, err)
	}
}
