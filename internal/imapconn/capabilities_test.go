package imapconn

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/syncbuffer"
)

var capabilityCommand = regexp.MustCompile(`(?m)^[A-Za-z0-9.]+ CAPABILITY\r?$`)

// Dovecot lists its capabilities in its greeting and again in the login's
// OK, so a connection over implicit TLS asks for them not once; over
// STARTTLS, where what the greeting said no longer holds, once, before the
// login. Either way the connection knows what the server offers after
// login (CONDSTORE, which Dovecot lists only then).
func TestCapabilitiesFromResponsesDovecot(t *testing.T) {
	u := dovecot.User{Name: "alice", Password: "secret"}
	srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{u}})
	for _, tc := range []struct {
		name string
		addr string
		sec  account.Security
		want int
	}{
		{"imaps", srv.IMAPSAddr, account.SecurityTLS, 0},
		{"starttls", srv.IMAPAddr, account.SecurityStartTLS, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := &syncbuffer.Buffer{}
			opts := Options{Addr: tc.addr, Security: tc.sec, TLSConfig: srv.TLSConfig(), Timeout: 10 * time.Second, Debug: wire,
				Credentials: account.Credentials{User: u.Name, Password: account.StaticPassword(u.Password)}}
			c, err := Dial(context.Background(), &opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if n := len(capabilityCommand.FindAllString(wire.String(), -1)); n != tc.want {
				t.Errorf("%d CAPABILITY commands, want %d; the wire:\n%s", n, tc.want, wire)
			}
			if !c.Info.Caps.Has(imap.CapIMAP4rev1) || !c.Info.Caps.Has(imap.CapCondStore) {
				t.Errorf("capabilities after login %v, want IMAP4rev1 and CONDSTORE among them", c.Info.Caps)
			}
		})
	}
}
