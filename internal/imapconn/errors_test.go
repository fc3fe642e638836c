package imapconn

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// The answers of real servers (docs/architecture.md, "Error classes") and
// the class each gets, for APPEND and for other commands.
func TestClassOfServerAnswers(t *testing.T) {
	no := func(code imap.ResponseCode, text string) *imap.Error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	for _, c := range []struct {
		answer         *imap.Error
		append, others transfer.Class
	}{
		{no(imap.ResponseCodeLimit, "Mail size is larger than the maximum size allowed by server configuration"), transfer.PerMessage, transfer.Fatal},
		{no(imap.ResponseCodeTooBig, "Message too large"), transfer.PerMessage, transfer.PerMessage},
		{no("", "Message contains invalid header"), transfer.PerMessage, transfer.Fatal},
		{no(imap.ResponseCodeOverQuota, "Quota exceeded (mailbox for user is full)"), transfer.Fatal, transfer.Fatal},
		{no(imap.ResponseCodeUnavailable, "Internal error occurred"), transfer.Temporary, transfer.Temporary},
		{no(imap.ResponseCodeInUse, "Mailbox is locked"), transfer.Temporary, transfer.Temporary},
		{&imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down."}, transfer.Temporary, transfer.Temporary},
		{no(imap.ResponseCodeCannot, "Character not allowed in mailbox name: '.'"), transfer.PerMessage, transfer.PerMessage},
		{no("", "Request is throttled. Suggested Backoff Time: 150 milliseconds"), transfer.Temporary, transfer.Temporary},
		{no("THROTTLED", "Too many commands"), transfer.Temporary, transfer.Temporary},
	} {
		if got := ClassOfAppend(c.answer); got != c.append {
			t.Errorf("APPEND %v: class %v, want %v", c.answer, got, c.append)
		}
		if got := ClassOfResponse(c.answer); got != c.others {
			t.Errorf("%v: class %v, want %v", c.answer, got, c.others)
		}
	}
}

func TestAppendRefusalOverQuota(t *testing.T) {
	ie := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded (mailbox for user is full) (0.001 + 0.000 secs)."}
	err := AppendRefusal(ie, Refusal{ie})
	if !errors.Is(err, transfer.ErrOverQuota) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("err = %v (class %v), want Fatal wrapping ErrOverQuota", err, transfer.ClassOf(err))
	}
	want := "the destination account is over its quota: NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"
	if err.Error() != want {
		t.Errorf("text %q, want %q (without Dovecot's timing)", err.Error(), want)
	}
	var back *imap.Error
	if !errors.As(err, &back) || back != ie {
		t.Errorf("the server's answer is not in the error chain")
	}
}

// A refused connection is final on the first connection, which names the
// port and scheme to check, and Temporary later in a run, when it is more
// likely a server restarting.
func TestConnectionRefusedFatalOnlyFirst(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	opts := options(srv.Addr(), account.SecurityNone, "secret")
	opts.Connections = 2
	pool, err := NewPool(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	held, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Put(held)
	srv.Close()
	_, err = pool.Get(context.Background())
	if err == nil || transfer.ClassOf(err) != transfer.Temporary || !strings.Contains(err.Error(), "nothing accepts connections on "+srv.Addr()) {
		t.Errorf("a later connection refused: %v (class %v), want Temporary with the hint", err, transfer.ClassOf(err))
	}
	_, err = NewPool(context.Background(), opts)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "check the port and the scheme") {
		t.Errorf("the first connection refused: %v (class %v), want Fatal with the hint", err, transfer.ClassOf(err))
	}
}

// A server that answered the first connection and then accepts new ones
// without a word: the second silent connection in a row gives up on it,
// for every later Get too.
func TestPoolGivesUpOnSilentServer(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToClient, Action: faultproxy.Stall, Skip: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	opts := options(proxy.Addr(), account.SecurityNone, "secret")
	opts.Timeout = 300 * time.Millisecond
	opts.Connections = 4
	pool, err := NewPool(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	busy, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Put(busy)
	start := time.Now()
	_, err = pool.Get(context.Background())
	if !errors.Is(err, ErrTimeout) || transfer.ClassOf(err) != transfer.Temporary {
		t.Fatalf("first silent connection: %v (class %v), want a Temporary timeout", err, transfer.ClassOf(err))
	}
	_, err = pool.Get(context.Background())
	if !errors.Is(err, ErrTimeout) || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "2 new connections in a row got no answer") {
		t.Fatalf("second silent connection: %v (class %v), want Fatal, saying so", err, transfer.ClassOf(err))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("two silent connections took %v, want about 2 × 300ms", took)
	}
	if _, again := pool.Get(context.Background()); again == nil || transfer.ClassOf(again) != transfer.Fatal {
		t.Errorf("a later Get: %v, want the same Fatal error", again)
	}
	if n := proxy.Accepted(); n != 3 {
		t.Errorf("the proxy saw %d connections, want 3 (the later Get does not dial)", n)
	}
}

func TestThrottledAnswersSayHowLongToWait(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"Request is throttled. Suggested Backoff Time: 150 milliseconds": 150 * time.Millisecond,
		"Request is throttled. Suggested Backoff Time: 2000 ms":          2 * time.Second,
		"User is throttled. Suggested backoff time: 3 seconds":           3 * time.Second,
		"Request is throttled.":                                          0,
		"Request is throttled. Suggested Backoff Time: 99999 seconds":    5 * time.Minute,
	} {
		ie := &imap.Error{Type: imap.StatusResponseTypeNo, Text: text}
		err := AppendRefusal(ie, Refusal{ie})
		var ra *transfer.RetryAfterError
		got := time.Duration(0)
		if errors.As(err, &ra) {
			got = ra.After
		}
		if got != want || transfer.ClassOf(err) != transfer.Temporary {
			t.Errorf("%q: wait %v (class %v), want %v, Temporary", text, got, transfer.ClassOf(err), want)
		}
	}
}
