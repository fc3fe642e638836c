package imapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
	"github.com/mailferry/mailferry/transfer"
)

func startServer(t *testing.T, opts imapserver.Options) *imapserver.Server {
	opts.Users = []imapserver.User{{Name: "alice", Password: "secret"}}
	return servertest.Start(t, opts)
}

func options(addr string, sec account.Security, password string) Options {
	return Options{
		Addr:        addr,
		Security:    sec,
		Credentials: account.Credentials{User: "alice", Password: account.StaticPassword(password)},
		Timeout:     2 * time.Second,
	}
}

func TestWrongPasswordIsFatalAndFast(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	start := time.Now()
	_, err := NewPool(context.Background(), options(srv.Addr(), account.SecurityNone, "wrong"))
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("class = %v, want fatal: %v", transfer.ClassOf(err), err)
	}
	for _, want := range []string{srv.Addr(), `"alice"`, "AUTHENTICATIONFAILED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestOAuth2(t *testing.T) {
	srv := startServer(t, imapserver.Options{OAuth2Tokens: map[string]string{"alice": "good-token"}})
	calls := 0
	opts := options(srv.Addr(), account.SecurityNone, "")
	opts.Credentials.Password = nil
	token := "good-token"
	opts.Credentials.OAuth2Token = func(context.Context) (string, error) { calls++; return token, nil }
	opts.Connections = 2
	p, err := NewPool(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// A second connection fetches the token again.
	c1, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := p.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Put(c1)
	p.Put(c2)
	if calls != 2 {
		t.Errorf("token fetched %d times for 2 connections", calls)
	}

	// A refused token ends the exchange properly (the %x01 reply): the
	// answer is a prompt NO, not a hang until the watchdog.
	token = "expired"
	start := time.Now()
	_, err = NewPool(context.Background(), opts)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "OAUTHBEARER") {
		t.Errorf("bad token: %v (class %v)", err, transfer.ClassOf(err))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("bad token took %v", d)
	}
}

func TestXOAUTH2Client(t *testing.T) {
	srv := startServer(t, imapserver.Options{OAuth2Tokens: map[string]string{"alice": "good-token"}})
	for _, tt := range []struct {
		token string
		ok    bool
	}{{"good-token", true}, {"bad", false}} {
		c, err := imapclient.DialInsecure(srv.Addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cl := &xoauth2Client{user: "alice", token: tt.token}
		err = c.Authenticate(cl)
		if (err == nil) != tt.ok {
			t.Errorf("token %q: err = %v", tt.token, err)
		}
		if !tt.ok && !strings.Contains(cl.failure, "401") {
			t.Errorf("token %q: failure detail %q", tt.token, cl.failure)
		}
		// The exchange ended cleanly: the connection still answers.
		done := make(chan error, 1)
		go func() { done <- c.Noop().Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("token %q: NOOP after AUTHENTICATE: %v", tt.token, err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("token %q: connection stuck after AUTHENTICATE", tt.token)
		}
		c.Close()
	}
}

func TestTLS(t *testing.T) {
	srv := startServer(t, imapserver.Options{TLS: true})
	trusted := srv.TLSConfig()
	for _, tt := range []struct {
		name string
		addr string
		sec  account.Security
	}{
		{"implicit", srv.TLSAddr(), account.SecurityTLS},
		{"starttls", srv.Addr(), account.SecurityStartTLS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := options(tt.addr, tt.sec, "secret")
			opts.TLSConfig = trusted
			c, err := Dial(context.Background(), &opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.TLS == nil || c.TLS.Version < tls.VersionTLS12 {
				t.Errorf("TLS state = %+v", c.TLS)
			}
			// The stream above TLS is lent to a pipe of APPENDs, and
			// go-imap goes on after it.
			p, err := c.StartAppendPipe()
			if err != nil {
				t.Fatal(err)
			}
			body := []byte("Subject: over " + tt.name + "\r\n\r\nbody\r\n")
			a, err := p.Send(AppendRequest{Mailbox: tt.name, Size: int64(len(body)), Body: func(w io.Writer) (int64, error) { n, err := w.Write(body); return int64(n), err }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Wait(context.Background(), p); err == nil || !IsResponse(err) {
				t.Errorf("APPEND to a missing folder: %v, want the server's NO", err)
			}
			p.Close()
			if err := c.Do(context.Background(), "CREATE", func() error { return c.C.Create(tt.name, nil).Wait() }); err != nil {
				t.Fatal(err)
			}
			c.Close()

			// Without trust in the self-signed certificate: refused, with
			// advice.
			opts.TLSConfig = nil
			_, err = Dial(context.Background(), &opts, nil)
			if err == nil {
				t.Fatal("self-signed certificate accepted without --ca-file")
			}
			if transfer.ClassOf(err) != transfer.Fatal {
				t.Errorf("class %v: %v", transfer.ClassOf(err), err)
			}
			for _, want := range []string{"--ca-file", "--insecure-skip-verify", "mailferry test server"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestStartTLSRequired(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	opts := options(srv.Addr(), account.SecurityStartTLS, "secret")
	_, err := Dial(context.Background(), &opts, nil)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "tls=none") {
		t.Errorf("server without STARTTLS: %v", err)
	}
}

func TestWatchdog(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	for _, tt := range []struct {
		name  string
		match string
	}{
		{"greeting", ""},
		{"login", "AUTHENTICATE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte(tt.match), Action: faultproxy.Stall}
			if tt.match == "" {
				f.Dir = faultproxy.ToClient
			}
			proxy, err := faultproxy.Start(srv.Addr(), f)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			opts := options(proxy.Addr(), account.SecurityNone, "secret")
			opts.Timeout = 300 * time.Millisecond
			start := time.Now()
			_, err = Dial(context.Background(), &opts, nil)
			if err == nil || !errors.Is(err, ErrTimeout) || transfer.ClassOf(err) != transfer.Temporary {
				t.Errorf("err = %v (class %v), want a Temporary timeout", err, transfer.ClassOf(err))
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestContextCancelEndsWait(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("NOOP"), Action: faultproxy.Stall})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	opts := options(proxy.Addr(), account.SecurityNone, "secret")
	opts.Timeout = time.Minute
	c, err := Dial(context.Background(), &opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Do(ctx, "NOOP", func() error { return c.C.Noop().Wait() })
	if !errors.Is(err, context.DeadlineExceeded) || !c.Broken() {
		t.Errorf("err = %v, broken %v", err, c.Broken())
	}
}

func TestProbe(t *testing.T) {
	srv := startServer(t, imapserver.Options{TLS: true, Delimiter: '.', Prefix: "INBOX."})
	opts := options(srv.TLSAddr(), account.SecurityTLS, "secret")
	opts.TLSConfig = srv.TLSConfig()
	r, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.TLSVersion != "TLS 1.3" || !strings.Contains(r.CertSubject, "mailferry test server") || r.CertExpires.Before(time.Now()) {
		t.Errorf("TLS part: %+v", r)
	}
	if r.Delim != "." || r.Prefix != "INBOX." {
		t.Errorf("namespace: %+v", r)
	}
	s := r.String()
	for _, want := range []string{"TLS 1.3", "IMAP4rev1", "UIDPLUS", "PLAIN", `INBOX.`} {
		if !strings.Contains(s, want) {
			t.Errorf("report does not mention %q:\n%s", want, s)
		}
	}
}
