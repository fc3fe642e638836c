package pop3e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// Dovecot's POP3 with its oauth2 passdb: XOAUTH2 (preferred by the POP3
// source) and OAUTHBEARER log in with a fresh token per session, and a
// revoked token is a fatal refusal naming the user and the server's
// reason, without the token.
func TestDovecotPOP3OAuth2(t *testing.T) {
	ts := dovecot.StartTokenServer(t)
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}, OAuth2IntrospectionURL: ts.IntrospectionURL(), OAuth2Mechanisms: []string{mech}})
			deliver(t, s, alice.Name, tricky)
			so := dovecotPOP3(s, account.SecurityTLS)
			so.Credentials.Password = nil
			so.Credentials.OAuth2Token = func(context.Context) (string, error) { return ts.Issue(alice.Name), nil }
			checked := ts.Introspections()
			if n := dovecotMessages(t, so); n != len(tricky) {
				t.Errorf("%d messages listed, want %d", n, len(tricky))
			}
			if n := dovecotMessages(t, so); n != len(tricky) {
				t.Errorf("second session: %d messages listed, want %d", n, len(tricky))
			}
			if n := ts.Introspections() - checked; n != 2 {
				t.Errorf("two sessions, %d token logins", n)
			}

			revoked := ts.Issue(alice.Name)
			ts.Revoke(revoked)
			so.Credentials.OAuth2Token = func(context.Context) (string, error) { return revoked, nil }
			_, err := pop3.New(context.Background(), so)
			if err == nil {
				t.Fatal("a revoked token logged in")
			}
			msg := err.Error()
			for _, want := range []string{`login as "alice" failed`, "AUTH " + strings.ToUpper(mech) + ": -ERR [AUTH] Authentication failed.", "the server's reason: invalid_token"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, revoked) {
				t.Errorf("error %q shows the token", msg)
			}
			if transfer.ClassOf(err) != transfer.Fatal {
				t.Errorf("class %v, want fatal: %v", transfer.ClassOf(err), err)
			}
		})
	}
}
