package imapconn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// Against Dovecot's oauth2 passdb, both token mechanisms log in with one
// fresh token per connection, and a revoked token is refused with NO and
// the server's reason, over XOAUTH2 too (whose error challenge go-imap
// would answer with "=", which Dovecot rejects with BAD).
func TestOAuth2Dovecot(t *testing.T) {
	ts := dovecot.StartTokenServer(t)
	for _, tc := range []struct {
		mech   string
		offers []string
	}{
		{"XOAUTH2", []string{"xoauth2"}},
		{"OAUTHBEARER", nil}, // offered with XOAUTH2, and preferred
	} {
		t.Run(tc.mech, func(t *testing.T) {
			srv := dovecot.Start(t, dovecot.Options{
				Users:                  []dovecot.User{{Name: "alice", Password: "unused pw"}},
				OAuth2IntrospectionURL: ts.IntrospectionURL(),
				OAuth2Mechanisms:       tc.offers,
			})
			issuedBefore := len(ts.Issued())
			checksBefore := ts.Introspections()
			var tokens []string
			opts := Options{
				Addr:      srv.IMAPSAddr,
				Security:  account.SecurityTLS,
				TLSConfig: srv.TLSConfig(),
				Credentials: account.Credentials{User: "alice", OAuth2Token: func(context.Context) (string, error) {
					tok := ts.Issue("alice")
					tokens = append(tokens, tok)
					return tok, nil
				}},
				Connections: 3,
			}
			ctx := context.Background()
			p, err := NewPool(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			var conns []*Conn
			for range 3 {
				c, err := p.Get(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			for _, c := range conns {
				p.Put(c)
			}
			p.Close()
			if n, checks := len(ts.Issued())-issuedBefore, ts.Introspections()-checksBefore; n != 3 || checks != 3 || len(tokens) != 3 {
				t.Errorf("3 connections: %d tokens issued, %d checked by the server", n, checks)
			}

			revoked := ts.Issue("alice")
			ts.Revoke(revoked)
			opts.Credentials.OAuth2Token = func(context.Context) (string, error) { return revoked, nil }
			_, err = NewPool(ctx, opts)
			if err == nil {
				t.Fatal("a revoked token logged in")
			}
			msg := err.Error()
			for _, want := range []string{"with " + tc.mech + " failed", "NO [AUTHENTICATIONFAILED]", "invalid_token", "check the user name and password (or token)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "BAD") || strings.Contains(msg, "base64") || strings.Contains(msg, revoked) {
				t.Errorf("error %q: want the NO, without BAD or the token", msg)
			}
			if transfer.ClassOf(err) != transfer.Fatal {
				t.Errorf("class %v, want fatal", transfer.ClassOf(err))
			}
		})
	}
}

// The token is fetched before the connection is made, so a slow token
// command is not taken for a server that does not answer.
func TestSlowTokenCommandBeforeWatchdog(t *testing.T) {
	srv := startServer(t, imapserver.Options{OAuth2Tokens: map[string]string{"alice": "good-token"}})
	opts := options(srv.Addr(), account.SecurityNone, "")
	opts.Credentials.Password = nil
	opts.Timeout = 200 * time.Millisecond
	opts.Credentials.OAuth2Token = func(ctx context.Context) (string, error) {
		time.Sleep(3 * opts.Timeout)
		return "good-token", nil
	}
	p, err := NewPool(context.Background(), opts)
	if err != nil {
		t.Fatalf("a token command slower than the timeout: %v", err)
	}
	p.Close()
}
