package imapconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/syncbuffer"
)

// pipeMessages are messages of sizes on both sides of RFC 7888's 4096-byte
// bound for LITERAL-.
func pipeMessages(n int) [][]byte {
	var out [][]byte
	for i := range n {
		size := []int{300, 5000, 4096, 70000}[i%4]
		head := fmt.Sprintf("Message-ID: <%d@pipe.example>\r\nSubject: %d\r\n\r\n", i, i)
		out = append(out, []byte(head+strings.Repeat("x", size-len(head)-2)+"\r\n"))
	}
	return out
}

func sendAll(t *testing.T, p *AppendPipe, mailbox string, bodies [][]byte) []*PendingAppend {
	t.Helper()
	var out []*PendingAppend
	for i, b := range bodies {
		a, err := p.Send(AppendRequest{Mailbox: mailbox, Flags: []imap.Flag{imap.FlagSeen, "Work"}, Date: date(i), Size: int64(len(b)),
			Body: func(w io.Writer) (int64, error) { n, err := w.Write(b); return int64(n), err }})
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		out = append(out, a)
	}
	return out
}

func date(i int) time.Time {
	return time.Date(2015, 3, 1+i, 10, 20, 30, 0, time.FixedZone("", 2*3600))
}

// Every APPEND is sent before the first answer is awaited, with a
// non-synchronizing literal (the server offers LITERAL+), and each answer
// is matched to its own APPEND; afterwards go-imap uses the connection
// again.
func TestAppendPipeSendsBeforeAnswers(t *testing.T) {
	var wire syncbuffer.Buffer
	srv := startServer(t, imapserver.Options{Debug: &wire})
	ctx := context.Background()
	c, err := Dial(ctx, ptr(options(srv.Addr(), account.SecurityNone, "secret")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	bodies := pipeMessages(8)
	pending := sendAll(t, p, "INBOX", bodies)
	for i, a := range pending {
		data, err := a.Wait(ctx, p)
		if err != nil {
			t.Fatalf("APPEND %d: %v", i, err)
		}
		if data.UID() != imap.UID(i+1) {
			t.Errorf("APPEND %d: UID %d, want %d", i, data.UID(), i+1)
		}
	}
	p.Close()
	if strings.Contains(wire.String(), "\r\n+ ") || strings.HasPrefix(wire.String(), "+ ") {
		t.Errorf("the server sent a continuation request although every literal was non-synchronizing")
	}
	if n := strings.Count(wire.String(), "+}\r\n"); n != len(bodies) {
		t.Errorf("%d non-synchronizing literals on the wire, want %d", n, len(bodies))
	}

	// go-imap has the stream back, between responses.
	sel, err := c.Select(ctx, "INBOX", true)
	if err != nil || sel.NumMessages != uint32(len(bodies)) {
		t.Fatalf("SELECT after the pipe: %v, %+v", err, sel)
	}
	checkStored(t, srv.Addr(), "INBOX", bodies)
}

func ptr(o Options) *Options { return &o }

func checkStored(t *testing.T, addr, folder string, bodies [][]byte) {
	t.Helper()
	d, err := imapserver.Dump(addr, nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	got := d[folder]
	if len(got) != len(bodies) {
		t.Fatalf("%s holds %d messages, want %d", folder, len(got), len(bodies))
	}
	for i, m := range got {
		if !bytes.Equal(m.Body, bodies[i]) {
			t.Errorf("message %d: %d bytes differ from the %d sent", i, len(m.Body), len(bodies[i]))
		}
		if !m.Date.Equal(date(i)) {
			t.Errorf("message %d: date %v, want %v", i, m.Date, date(i))
		}
		if strings.ToLower(strings.Join(m.Flags, " ")) != `\seen work` {
			t.Errorf("message %d: flags %v", i, m.Flags)
		}
	}
}

// With LITERAL- a literal over 4096 bytes must wait for the server's "+";
// without either extension every one does (go-imap's server always offers
// LITERAL-, so that case is the pipe told the server has neither). The pipe
// still answers each.
func TestAppendPipeSynchronizingLiterals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cap       imap.Cap
		wantConts int
	}{
		{"LITERAL-", imap.CapLiteralMinus, 4}, // the 5000- and 70000-byte ones of 8
		{"neither", "", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wire syncbuffer.Buffer
			caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}

			srv := startServer(t, imapserver.Options{Debug: &wire, Caps: caps})
			ctx := context.Background()
			c, err := Dial(ctx, ptr(options(srv.Addr(), account.SecurityNone, "secret")), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := c.StartAppendPipe()
			if err != nil {
				t.Fatal(err)
			}
			if p.plus || !p.minus {
				t.Fatalf("server offers LITERAL+ %v, LITERAL- %v; want only LITERAL-", p.plus, p.minus)
			}
			p.minus = tc.cap == imap.CapLiteralMinus
			bodies := pipeMessages(8)
			for i, a := range sendAll(t, p, "INBOX", bodies) {
				if _, err := a.Wait(ctx, p); err != nil {
					t.Fatalf("APPEND %d: %v", i, err)
				}
			}
			p.Close()
			if n := strings.Count(wire.String(), "\r\n+ "); n != tc.wantConts {
				t.Errorf("%d continuation requests, want %d", n, tc.wantConts)
			}
			checkStored(t, srv.Addr(), "INBOX", bodies)
		})
	}
}

// A NO for one message in the middle of a pipeline refuses that message
// alone: the ones before and after it are stored and get their UIDs.
func TestAppendPipeRefusalInTheMiddle(t *testing.T) {
	bodies := pipeMessages(7)
	srv := startServer(t, imapserver.Options{RefuseAppend: func(folder string, body []byte) *imap.Error {
		if bytes.Equal(body, bodies[3]) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "too big"}
		}
		return nil
	}})
	ctx := context.Background()
	c, err := Dial(ctx, ptr(options(srv.Addr(), account.SecurityNone, "secret")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	var uids []imap.UID
	for i, a := range sendAll(t, p, "INBOX", bodies) {
		data, err := a.Wait(ctx, p)
		if i == 3 {
			var ie *imap.Error
			if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTooBig || !IsResponse(err) {
				t.Fatalf("APPEND 3: err = %v, want the server's NO [TOOBIG]", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("APPEND %d: %v", i, err)
		}
		uids = append(uids, data.UID())
	}
	p.Close()
	if fmt.Sprint(uids) != "[1 2 3 4 5 6]" {
		t.Errorf("UIDs %v, want 1 to 6", uids)
	}
	if c.Broken() {
		t.Error("a NO broke the connection")
	}
	checkStoredExcept(t, srv.Addr(), bodies, 3)
}

func checkStoredExcept(t *testing.T, addr string, bodies [][]byte, refused int) {
	t.Helper()
	d, err := imapserver.Dump(addr, nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i, b := range bodies {
		if i != refused {
			want = append(want, b)
		}
	}
	got := d["INBOX"]
	if len(got) != len(want) {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Body, want[i]) {
			t.Errorf("message %d differs", i)
		}
	}
}

// Against Dovecot over implicit TLS: a pipeline of APPENDs gets one
// APPENDUID each, in order, with the folder's UIDVALIDITY.
func TestAppendPipeDovecot(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{{Name: "alice", Password: "secret"}}})
	ctx := context.Background()
	opts := options(srv.IMAPSAddr, account.SecurityTLS, "secret")
	opts.TLSConfig = srv.TLSConfig()
	c, err := Dial(ctx, &opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Info.Caps.Has(imap.CapLiteralPlus) {
		t.Fatalf("Dovecot does not offer LITERAL+: %v", c.Info.Caps)
	}
	sel, err := c.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	bodies := pipeMessages(12)
	for i, a := range sendAll(t, p, "INBOX", bodies) {
		data, err := a.Wait(ctx, p)
		if err != nil {
			t.Fatalf("APPEND %d: %v", i, err)
		}
		if data.UID() != imap.UID(i+1) || data.UIDValidity != sel.UIDValidity {
			t.Errorf("APPEND %d: APPENDUID %d %d, want %d %d", i, data.UIDValidity, data.UID(), sel.UIDValidity, i+1)
		}
	}
	p.Close()
	// The EXISTS Dovecot sent for the selected folder went to the pipe;
	// go-imap opens the folder afresh and sees every message.
	sel, err = c.Select(ctx, "INBOX", true)
	if err != nil || sel.NumMessages != uint32(len(bodies)) {
		t.Fatalf("EXAMINE after the pipe: %v, %+v", err, sel)
	}
	d, err := imapserver.Dump(srv.IMAPSAddr, srv.TLSConfig(), "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	got := d["INBOX"]
	if len(got) != len(bodies) {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), len(bodies))
	}
	for i := range got {
		if !bytes.Equal(got[i].Body, bodies[i]) || !got[i].Date.Equal(date(i)) {
			t.Errorf("message %d: %d bytes, date %v", i, len(got[i].Body), got[i].Date)
		}
	}
}

// sendMulti sends bodies as MULTIAPPEND commands of per messages each.
func sendMulti(t *testing.T, p *AppendPipe, mailbox string, bodies [][]byte, per int) []*PendingAppend {
	t.Helper()
	var out []*PendingAppend
	for start := 0; start < len(bodies); start += per {
		i := start
		end := min(start+per, len(bodies))
		a, sent, err := p.SendMulti(mailbox, func() (*AppendMessage, bool) {
			if i == end {
				return nil, false
			}
			b, k := bodies[i], i
			i++
			return &AppendMessage{Flags: []imap.Flag{imap.FlagSeen, "Work"}, Date: date(k), Size: int64(len(b)),
				Body: func(w io.Writer) (int64, error) { n, err := w.Write(b); return int64(n), err }}, true
		})
		if err != nil || sent != end-start {
			t.Fatalf("SendMulti of %d from %d: %d sent, %v", end-start, start, sent, err)
		}
		out = append(out, a)
	}
	return out
}

// A MULTIAPPEND carries several messages in one command, each literal
// non-synchronizing; the one tagged OK names every message's UID, in
// order, and the messages are stored with their flags and dates.
func TestAppendPipeMultiAppend(t *testing.T) {
	var wire syncbuffer.Buffer
	srv := startServer(t, imapserver.Options{MultiAppend: true, Debug: &wire})
	ctx := context.Background()
	c, err := Dial(ctx, ptr(options(srv.Addr(), account.SecurityNone, "secret")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Info.Caps.Has(imap.CapMultiAppend) {
		t.Fatalf("the server does not offer MULTIAPPEND: %v", c.Info.Caps)
	}
	p, err := c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	bodies := pipeMessages(10)
	next := imap.UID(1)
	for i, a := range sendMulti(t, p, "INBOX", bodies, 4) {
		res, err := a.Wait(ctx, p)
		if err != nil {
			t.Fatalf("MULTIAPPEND %d: %v", i, err)
		}
		want := []imap.UID{}
		for range min(4, len(bodies)-4*i) {
			want = append(want, next)
			next++
		}
		if fmt.Sprint(res.UIDs) != fmt.Sprint(want) {
			t.Errorf("MULTIAPPEND %d: UIDs %v, want %v", i, res.UIDs, want)
		}
	}
	p.Close()
	if n := strings.Count(wire.String(), ` APPEND "INBOX" `); n != 3 {
		t.Errorf("%d APPEND commands for 10 messages four to a command, want 3", n)
	}
	checkStored(t, srv.Addr(), "INBOX", bodies)
}

// Dovecot stores a MULTIAPPEND in one transaction and names the uid-set;
// a refused one (a folder that does not exist) stores nothing.
func TestAppendPipeMultiAppendDovecot(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{{Name: "alice", Password: "secret"}}})
	ctx := context.Background()
	opts := options(srv.IMAPSAddr, account.SecurityTLS, "secret")
	opts.TLSConfig = srv.TLSConfig()
	c, err := Dial(ctx, &opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Info.Caps.Has(imap.CapMultiAppend) {
		t.Fatalf("Dovecot does not offer MULTIAPPEND: %v", c.Info.Caps)
	}
	p, err := c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	bodies := pipeMessages(9)
	refused := sendMulti(t, p, "Nowhere", bodies[:3], 3)[0]
	pending := sendMulti(t, p, "INBOX", bodies, 5)
	if _, err := refused.Wait(ctx, p); !IsResponse(err) || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("MULTIAPPEND to a missing folder: %v, want NO [TRYCREATE]", err)
	}
	var uids []imap.UID
	for i, a := range pending {
		res, err := a.Wait(ctx, p)
		if err != nil {
			t.Fatalf("MULTIAPPEND %d: %v", i, err)
		}
		uids = append(uids, res.UIDs...)
	}
	p.Close()
	if fmt.Sprint(uids) != "[1 2 3 4 5 6 7 8 9]" {
		t.Errorf("UIDs %v, want 1 to 9", uids)
	}
	// With synchronizing literals each message of the command waits for
	// Dovecot's "+", and the command is one transaction all the same.
	p, err = c.StartAppendPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.plus, p.minus = false, false
	res, err := sendMulti(t, p, "INBOX", bodies[:3], 3)[0].Wait(ctx, p)
	p.Close()
	if err != nil || fmt.Sprint(res.UIDs) != "[10 11 12]" {
		t.Fatalf("MULTIAPPEND with synchronizing literals: %v, %v; want UIDs 10 to 12", res, err)
	}
	bodies = append(bodies, bodies[:3]...)
	d, err := imapserver.Dump(srv.IMAPSAddr, srv.TLSConfig(), "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	got := d["INBOX"]
	if len(got) != len(bodies) {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), len(bodies))
	}
	for i := range got {
		if !bytes.Equal(got[i].Body, bodies[i]) || !got[i].Date.Equal(date(i%9)) {
			t.Errorf("message %d: %d bytes, date %v", i, len(got[i].Body), got[i].Date)
		}
	}
	if len(d) != 1 {
		t.Errorf("folders after the refused MULTIAPPEND: %d, want INBOX alone", len(d))
	}
}
