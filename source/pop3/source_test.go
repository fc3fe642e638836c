package pop3

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/transfer"
)

// tricky are bodies whose bytes POP3 could easily damage: byte-stuffing,
// a line of a single dot, dots at the end, 8-bit bytes, bare CR, LF-only.
var tricky = []string{
	"Received: from a by b; Tue, 02 Jan 2024 10:11:12 +0100\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: dots\r\n\r\n.\r\n..\r\n...\r\n.leading\r\n..two\r\nend.\r\n.",
	"Subject: eight bit\r\nDate: Wed, 03 Jan 2024 08:00:00 +0000\r\n\r\nGr\xfc\xdfe, \xe2\x82\xac, \xff\xfe\x00 nul\r\nbare\rcr\r\n",
	"Subject: lf only\nDate: Thu, 04 Jan 2024 09:30:00 -0500\n\nline one\n.\nline three\n",
	"Subject: no final newline\r\n\r\nno newline at the end",
	"Subject: trailing spaces  \r\n\r\nspaces   \r\n\t\r\n\r\n\r\n",
}

// want is what a POP3 client can get back: CRLF form, ending in CRLF.
func want(body string) string {
	var b strings.Builder
	prevCR := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\n' && !prevCR {
			b.WriteByte('\r')
		}
		b.WriteByte(c)
		prevCR = c == '\r'
	}
	s := b.String()
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

func startServer(t *testing.T, opts pop3server.Options) *pop3server.Server {
	t.Helper()
	srv, err := pop3server.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func messages(bodies ...string) []pop3server.Message {
	var out []pop3server.Message
	for _, b := range bodies {
		out = append(out, pop3server.Message{Body: []byte(b)})
	}
	return out
}

func options(srv *pop3server.Server) Options {
	return Options{
		Addr:        srv.Addr(),
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: srv.User(), Password: account.StaticPassword(srv.Password())},
		Timeout:     5 * time.Second,
	}
}

func newSource(t *testing.T, opts Options) *Source {
	t.Helper()
	src, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

type fetched struct {
	msg  transfer.Message
	body string
}

func fetchAll(ctx context.Context, src *Source, msgs []transfer.Message) ([]fetched, error) {
	var out []fetched
	err := src.Fetch(ctx, Inbox, msgs, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		out = append(out, fetched{m, string(b)})
		return nil
	})
	return out, err
}

func TestFetchExactBytes(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky...)})
	src := newSource(t, options(srv))
	ctx := context.Background()

	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != 1 || folders[0].Name != "INBOX" || folders[0].Messages != len(tricky) {
		t.Fatalf("Folders = %+v", folders)
	}
	list, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(tricky) {
		t.Fatalf("List returned %d messages, want %d", len(list), len(tricky))
	}
	for i, m := range list {
		if m.ID != fmt.Sprintf("m%d", i+1) || !m.CRLF || m.Flags != nil || m.Size != int64(len(want(tricky[i]))) {
			t.Errorf("List[%d] = %+v", i, m)
		}
	}
	got, err := fetchAll(ctx, src, list)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tricky) {
		t.Fatalf("fetched %d, want %d", len(got), len(tricky))
	}
	wantDates := []time.Time{
		time.Date(2024, 1, 2, 9, 11, 12, 0, time.UTC),
		time.Date(2024, 1, 3, 8, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 4, 14, 30, 0, 0, time.UTC),
		{}, {},
	}
	for i, f := range got {
		if f.body != want(tricky[i]) {
			t.Errorf("message %d: got %q, want %q", i, f.body, want(tricky[i]))
		}
		if f.msg.Size != int64(len(f.body)) {
			t.Errorf("message %d: Size %d, body %d bytes", i, f.msg.Size, len(f.body))
		}
		if !f.msg.Date.Equal(wantDates[i]) {
			t.Errorf("message %d: Date %v, want %v", i, f.msg.Date, wantDates[i])
		}
		if f.msg.ID != list[i].ID || !f.msg.CRLF || f.msg.Folder != Inbox {
			t.Errorf("message %d: %+v", i, f.msg)
		}
	}
}

func TestLargeMessage(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Subject: big\r\nDate: Fri, 05 Jan 2024 12:00:00 +0000\r\n\r\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for i := 0; b.Len() < 20<<20; i++ {
		if i%1000 == 0 {
			b.WriteString(".dot line that is stuffed on the wire\r\n")
		}
		b.WriteString(line)
	}
	body := b.String()
	srv := startServer(t, pop3server.Options{Messages: messages(body)})
	src := newSource(t, options(srv))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fetchAll(context.Background(), src, list)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].body != body {
		t.Fatalf("20 MB message came back different (%d messages)", len(got))
	}
}

func TestLogin(t *testing.T) {
	serverTLS, clientTLS, err := pop3server.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		server pop3server.Options
		edit   func(*Options)
		class  transfer.Class // when failing
		errHas []string       // "" list means success
	}{
		{name: "sasl plain", server: pop3server.Options{}},
		{name: "user pass", server: pop3server.Options{NoSASL: true}},
		{name: "xoauth2", server: pop3server.Options{OAuth2Token: "tok3n"}, edit: func(o *Options) {
			o.Credentials.Password = nil
			o.Credentials.OAuth2Token = func(context.Context) (string, error) { return "tok3n", nil }
		}},
		{name: "xoauth2 long token", server: pop3server.Options{OAuth2Token: strings.Repeat("t", 400)}, edit: func(o *Options) {
			o.Credentials.OAuth2Token = func(context.Context) (string, error) { return strings.Repeat("t", 400), nil }
		}},
		{name: "xoauth2 bad token", server: pop3server.Options{OAuth2Token: "tok3n"}, edit: func(o *Options) {
			o.Credentials.OAuth2Token = func(context.Context) (string, error) { return "wrong", nil }
		}, class: transfer.Fatal, errHas: []string{"alice", "[AUTH]", "login"}},
		{name: "wrong password plain", server: pop3server.Options{}, edit: func(o *Options) {
			o.Credentials.Password = account.StaticPassword("nope")
		}, class: transfer.Fatal, errHas: []string{"alice", "[AUTH]", "check the user name and password"}},
		{name: "wrong password user pass", server: pop3server.Options{NoSASL: true}, edit: func(o *Options) {
			o.Credentials.Password = account.StaticPassword("nope")
		}, class: transfer.Fatal, errHas: []string{"alice", "PASS"}},
		{name: "in use", server: pop3server.Options{Faults: pop3server.Faults{LoginError: "[IN-USE] locked"}},
			class: transfer.Temporary, errHas: []string{"IN-USE", "alice"}},
		{name: "sys temp", server: pop3server.Options{NoSASL: true, Faults: pop3server.Faults{LoginError: "[SYS/TEMP] busy"}},
			class: transfer.Temporary, errHas: []string{"SYS/TEMP"}},
		{name: "sys perm", server: pop3server.Options{Faults: pop3server.Faults{LoginError: "[SYS/PERM] account disabled"}},
			class: transfer.Fatal, errHas: []string{"SYS/PERM", "account disabled"}},
		{name: "login delay", server: pop3server.Options{Faults: pop3server.Faults{LoginError: "[LOGIN-DELAY] wait"}},
			class: transfer.Temporary, errHas: []string{"LOGIN-DELAY"}},
		{name: "no code", server: pop3server.Options{Faults: pop3server.Faults{LoginError: "go away"}},
			class: transfer.Fatal, errHas: []string{"go away"}},
		{name: "crlf in password", server: pop3server.Options{NoSASL: true}, edit: func(o *Options) {
			o.Credentials.Password = account.StaticPassword("secret\r\nDELE 1")
		}, class: transfer.Fatal, errHas: []string{"line break"}},
		{name: "crlf in user", server: pop3server.Options{NoSASL: true}, edit: func(o *Options) {
			o.Credentials.User = "alice\r\nQUIT"
		}, class: transfer.Fatal, errHas: []string{"line break"}},
		{name: "stls", server: pop3server.Options{TLSConfig: serverTLS}, edit: func(o *Options) {
			o.Security = account.SecurityStartTLS
			o.TLSConfig = clientTLS
		}},
		{name: "stls missing", server: pop3server.Options{}, edit: func(o *Options) {
			o.Security = account.SecurityStartTLS
			o.TLSConfig = clientTLS
		}, class: transfer.Fatal, errHas: []string{"does not offer STLS", "pop3s://"}},
		{name: "implicit tls", server: pop3server.Options{TLSConfig: serverTLS, ImplicitTLS: true}, edit: func(o *Options) {
			o.Security = account.SecurityTLS
			o.TLSConfig = clientTLS
		}},
		{name: "implicit tls untrusted", server: pop3server.Options{TLSConfig: serverTLS, ImplicitTLS: true}, edit: func(o *Options) {
			o.Security = account.SecurityTLS
			o.TLSConfig = &tls.Config{}
		}, class: transfer.Fatal, errHas: []string{"TLS handshake", "certificate"}},
		{name: "stls untrusted", server: pop3server.Options{TLSConfig: serverTLS}, edit: func(o *Options) {
			o.Security = account.SecurityStartTLS
		}, class: transfer.Fatal, errHas: []string{"TLS handshake"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.server.Messages = messages(tricky[0])
			srv := startServer(t, tt.server)
			opts := options(srv)
			if tt.edit != nil {
				tt.edit(&opts)
			}
			src, err := New(context.Background(), opts)
			if tt.errHas == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer src.Close()
				list, err := src.List(context.Background(), Inbox)
				if err != nil || len(list) != 1 {
					t.Fatalf("List = %v, %v", list, err)
				}
				return
			}
			if err == nil {
				src.Close()
				t.Fatal("New succeeded, want an error")
			}
			if c := transfer.ClassOf(err); c != tt.class {
				t.Errorf("class %v, want %v (%v)", c, tt.class, err)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), srv.Addr()) && tt.name != "crlf in password" && tt.name != "crlf in user" {
				t.Errorf("error %q does not name the server", err)
			}
			if got := len(srv.Messages()); got != 1 {
				t.Errorf("server holds %d messages after a failed login, want 1", got)
			}
		})
	}
}

func TestTokenFetchedPerConnection(t *testing.T) {
	srv := startServer(t, pop3server.Options{OAuth2Token: "tok", Messages: messages(tricky[0])})
	opts := options(srv)
	var mu sync.Mutex
	calls := 0
	opts.Credentials.OAuth2Token = func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return "tok", nil
	}
	src := newSource(t, opts)
	if _, err := src.List(context.Background(), Inbox); err != nil {
		t.Fatal(err)
	}
	// A lost connection: the next call logs in again with a fresh token.
	src.pool.mu.Lock()
	src.pool.idle[0].close()
	src.pool.mu.Unlock()
	// The server may not have noticed yet that the old session is gone.
	for i := 0; ; i++ {
		_, err := src.List(context.Background(), Inbox)
		if err == nil {
			break
		}
		if i > 100 || !strings.Contains(err.Error(), "[IN-USE]") {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls < 2 {
		t.Errorf("token fetched %d times for at least 2 connections", calls)
	}
}

func TestSecondSessionInUse(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky[0])})
	first := newSource(t, options(srv))
	_, err := New(context.Background(), options(srv))
	if err == nil || transfer.ClassOf(err) != transfer.Temporary || !strings.Contains(err.Error(), "[IN-USE]") {
		t.Fatalf("second session: %v (class %v), want a temporary [IN-USE] error", err, transfer.ClassOf(err))
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := newSource(t, options(srv))
	if _, err := second.List(context.Background(), Inbox); err != nil {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky...)})
	src := newSource(t, options(srv))
	ctx := context.Background()
	list, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fetchAll(ctx, src, list); err != nil {
		t.Fatal(err)
	}
	// Delete the 2nd and 4th, plus one the server does not have.
	gone := transfer.Message{Folder: Inbox, ID: "not-there"}
	if err := src.Delete(ctx, Inbox, []transfer.Message{list[1], list[3], gone}); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range srv.Messages() {
		left = append(left, m.UID)
	}
	if strings.Join(left, ",") != "m1,m3,m5" {
		t.Fatalf("server holds %v, want m1,m3,m5", left)
	}
	// A new session after Delete: listing and fetching still work, mapped
	// by UIDL although the message numbers changed.
	list2, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(list2) != 3 {
		t.Fatalf("List after Delete: %d messages", len(list2))
	}
	got, err := fetchAll(ctx, src, []transfer.Message{list[4]})
	if err != nil || len(got) != 1 || got[0].body != want(tricky[4]) {
		t.Fatalf("Fetch after Delete: %v, %v", got, err)
	}
	// Fetching a deleted message is a per-message error; the others come.
	got, err = fetchAll(ctx, src, []transfer.Message{list[1], list[2]})
	if len(got) != 1 || got[0].body != want(tricky[2]) {
		t.Fatalf("Fetch of a deleted and a present message: got %d", len(got))
	}
	var me *transfer.MessageError
	if transfer.ClassOf(err) != transfer.PerMessage || !errors.As(err, &me) || me.ID != "m2" {
		t.Fatalf("Fetch of a deleted message: %v, want a per-message error for m2", err)
	}
}

func TestDeleteNotAppliedWithoutQuit(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky[:3]...), Faults: pop3server.Faults{QuitError: "[SYS/TEMP] cannot update maildrop"}})
	src := newSource(t, options(srv))
	ctx := context.Background()
	list, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	err = src.Delete(ctx, Inbox, list)
	if err == nil || transfer.ClassOf(err) != transfer.Temporary {
		t.Fatalf("Delete with a failing QUIT: %v, want a temporary error", err)
	}
	if n := len(srv.Messages()); n != 3 {
		t.Fatalf("server holds %d messages, want 3", n)
	}
	srv.SetFaults(pop3server.Faults{})
	if err := src.Delete(ctx, Inbox, list); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server holds %d messages, want 0", n)
	}
}

func TestStallAndDrop(t *testing.T) {
	for _, tt := range []struct {
		name   string
		faults pop3server.Faults
		errHas string
	}{
		{"stall", pop3server.Faults{StallRETRAfter: 100, Times: 1}, "timed out"},
		{"drop", pop3server.Faults{DropRETRAfter: 100, Times: 1}, "connection failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, pop3server.Options{Messages: messages(tricky...), Faults: tt.faults})
			opts := options(srv)
			opts.Timeout = 300 * time.Millisecond
			src := newSource(t, opts)
			ctx := context.Background()
			list, err := src.List(ctx, Inbox)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := fetchAll(ctx, src, list)
			if err == nil || transfer.ClassOf(err) != transfer.Temporary || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Fetch: %v (class %v), want a temporary %q error", err, transfer.ClassOf(err), tt.errHas)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Fetch took %v to fail", d)
			}
			if len(got) != 0 {
				t.Errorf("%d messages delivered before the fault, want 0", len(got))
			}
			// The next Fetch reconnects and maps by UIDL again. The
			// server may still be ending the broken session, holding the
			// maildrop ([IN-USE]), as real servers do; a run retries that.
			for try := 0; ; try++ {
				got, err = fetchAll(ctx, src, list)
				if err == nil || !strings.Contains(err.Error(), "[IN-USE]") || try == 50 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil || len(got) != len(tricky) {
				t.Fatalf("Fetch after the fault: %d messages, %v", len(got), err)
			}
			for i, f := range got {
				if f.body != want(tricky[i]) {
					t.Errorf("message %d differs after reconnect", i)
				}
			}
			if n := len(srv.Messages()); n != len(tricky) {
				t.Errorf("server holds %d messages, want %d", n, len(tricky))
			}
		})
	}
}

func TestContextCancelStopsStalledFetch(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky...), Faults: pop3server.Faults{StallRETRAfter: 10}})
	src := newSource(t, options(srv)) // 5s timeout: the context must win
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = fetchAll(ctx, src, list)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled Fetch took %v", d)
	}
}

func TestNoUIDL(t *testing.T) {
	bodies := []string{tricky[0], tricky[1], tricky[0], tricky[2]} // a duplicate copy
	srv := startServer(t, pop3server.Options{NoUIDL: true, Messages: messages(bodies...)})
	var warnings []string
	opts := options(srv)
	opts.Warn = func(s string) { warnings = append(warnings, s) }
	src := newSource(t, opts)
	ctx := context.Background()
	list, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no UIDL") {
		t.Errorf("warnings = %q", warnings)
	}
	if list[2].ID != list[0].ID+"#2" || list[0].ID == list[1].ID || list[1].ID == list[3].ID {
		t.Fatalf("IDs: %q %q %q %q", list[0].ID, list[1].ID, list[2].ID, list[3].ID)
	}
	if !list[0].Date.Equal(time.Date(2024, 1, 2, 9, 11, 12, 0, time.UTC)) {
		t.Errorf("List date from headers: %v", list[0].Date)
	}
	// The same identities in a new session; fetch maps by them.
	if err := src.Delete(ctx, Inbox, []transfer.Message{list[1]}); err != nil {
		t.Fatal(err)
	}
	list2, err := src.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(list2) != 3 || list2[0].ID != list[0].ID || list2[1].ID != list[2].ID || list2[2].ID != list[3].ID {
		t.Fatalf("IDs after delete: %+v", list2)
	}
	got, err := fetchAll(ctx, src, []transfer.Message{list[3]})
	if err != nil || len(got) != 1 || got[0].body != want(tricky[2]) {
		t.Fatalf("Fetch by hash ID: %v %v", got, err)
	}
	if len(warnings) != 1 {
		t.Errorf("the no-UIDL warning was given %d times over two sessions, want once", len(warnings))
	}
}

func TestUnknownFolder(t *testing.T) {
	srv := startServer(t, pop3server.Options{})
	src := newSource(t, options(srv))
	if _, err := src.List(context.Background(), "Sent"); err == nil || !strings.Contains(err.Error(), `"Sent"`) {
		t.Fatalf("List(Sent) = %v", err)
	}
}

func TestEmptyMaildrop(t *testing.T) {
	srv := startServer(t, pop3server.Options{})
	src := newSource(t, options(srv))
	folders, err := src.Folders(context.Background())
	if err != nil || len(folders) != 1 || folders[0].Messages != 0 || folders[0].Bytes != 0 {
		t.Fatalf("Folders = %+v, %v", folders, err)
	}
	list, err := src.List(context.Background(), Inbox)
	if err != nil || len(list) != 0 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	got, err := fetchAll(context.Background(), src, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Fetch of nothing = %v, %v", got, err)
	}
}

// A server that answered the first session and then accepts new ones
// without a word: the second silent session in a row gives up on it.
func TestGivesUpOnSilentServer(t *testing.T) {
	srv := startServer(t, pop3server.Options{Messages: messages(tricky[0])})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToClient, Action: faultproxy.Stall, Skip: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	opts := options(srv)
	opts.Addr = proxy.Addr()
	opts.Timeout = 300 * time.Millisecond
	src := newSource(t, opts)
	ctx := context.Background()
	src.pool.mu.Lock()
	src.pool.idle[0].close() // as after a broken connection
	src.pool.mu.Unlock()
	_, err = src.Folders(ctx)
	if !errors.Is(err, account.ErrNoAnswer) || transfer.ClassOf(err) != transfer.Temporary {
		t.Fatalf("first silent session: %v (class %v), want a Temporary timeout", err, transfer.ClassOf(err))
	}
	_, err = src.Folders(ctx)
	if !errors.Is(err, account.ErrNoAnswer) || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "2 new sessions in a row got no answer") {
		t.Fatalf("second silent session: %v (class %v), want Fatal, saying so", err, transfer.ClassOf(err))
	}
}
