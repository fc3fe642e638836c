package pop3server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gopop3 "github.com/knadh/go-pop3"
)

// client is a raw POP3 conversation for tests.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	if line := c.line(); !strings.HasPrefix(line, "+OK") {
		t.Fatalf("greeting %q", line)
	}
	return c
}

func (c *client) line() string {
	c.t.Helper()
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return strings.TrimSuffix(s, "\r\n")
}

// cmd sends a command and returns the status line.
func (c *client) cmd(format string, args ...any) string {
	c.t.Helper()
	fmt.Fprintf(c.conn, format+"\r\n", args...)
	return c.line()
}

// multi reads the lines of a multi-line reply (still stuffed) up to ".".
func (c *client) multi() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func login(c *client) {
	c.t.Helper()
	if r := c.cmd("USER alice"); !strings.HasPrefix(r, "+OK") {
		c.t.Fatalf("USER: %q", r)
	}
	if r := c.cmd("PASS secret"); !strings.HasPrefix(r, "+OK") {
		c.t.Fatalf("PASS: %q", r)
	}
}

func TestConversation(t *testing.T) {
	s := start(t, Options{Messages: []Message{
		{UID: "u-1", Body: []byte("Subject: a\n\n.x\n..\n.\nend\n")},
		{Body: []byte("Subject: b\r\n\r\nbody\r\nline2\r\nline3")},
	}})
	c := dial(t, s.Addr())
	if r := c.cmd("STAT"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("STAT before login: %q", r)
	}
	if r := c.cmd("CAPA"); r != "+OK capability list follows" {
		t.Fatalf("CAPA: %q", r)
	}
	capa := strings.Join(c.multi(), ",")
	for _, want := range []string{"UIDL", "TOP", "USER", "SASL PLAIN", "RESP-CODES"} {
		if !strings.Contains(capa, want) {
			t.Errorf("CAPA %q lacks %s", capa, want)
		}
	}
	if strings.Contains(capa, "STLS") {
		t.Errorf("CAPA %q offers STLS without a TLS config", capa)
	}
	if r := c.cmd("USER alice"); r != "+OK" {
		t.Fatalf("USER: %q", r)
	}
	if r := c.cmd("PASS wrong"); r != "-ERR [AUTH] invalid user name or password" {
		t.Fatalf("PASS wrong: %q", r)
	}
	login(c)
	first := "Subject: a\r\n\r\n.x\r\n..\r\n.\r\nend\r\n"
	second := "Subject: b\r\n\r\nbody\r\nline2\r\nline3\r\n"
	if r, want := c.cmd("STAT"), fmt.Sprintf("+OK 2 %d", len(first)+len(second)); r != want {
		t.Errorf("STAT: %q, want %q", r, want)
	}
	c.cmd("LIST")
	if got, want := strings.Join(c.multi(), ","), fmt.Sprintf("1 %d,2 %d", len(first), len(second)); got != want {
		t.Errorf("LIST: %q, want %q", got, want)
	}
	c.cmd("UIDL")
	if got := strings.Join(c.multi(), ","); got != "1 u-1,2 m2" {
		t.Errorf("UIDL: %q", got)
	}
	if r := c.cmd("UIDL 2"); r != "+OK 2 m2" {
		t.Errorf("UIDL 2: %q", r)
	}
	if r := c.cmd("RETR 1"); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("RETR: %q", r)
	}
	if got, want := strings.Join(c.multi(), "|"), "Subject: a||..x|...|..|end"; got != want {
		t.Errorf("RETR 1 stuffed: %q, want %q", got, want)
	}
	c.cmd("TOP 2 1")
	if got := strings.Join(c.multi(), "|"); got != "Subject: b||body" {
		t.Errorf("TOP 2 1: %q", got)
	}
	if r := c.cmd("RETR 3"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("RETR 3: %q", r)
	}
	if r := c.cmd("DELE 1"); !strings.HasPrefix(r, "+OK") {
		t.Errorf("DELE 1: %q", r)
	}
	if r := c.cmd("RETR 1"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("RETR of a deleted message: %q", r)
	}
	if r := c.cmd("STAT"); r != fmt.Sprintf("+OK 1 %d", len(second)) {
		t.Errorf("STAT after DELE: %q", r)
	}
	if r := c.cmd("RSET"); r != "+OK" {
		t.Errorf("RSET: %q", r)
	}
	if r := c.cmd("STAT"); !strings.HasPrefix(r, "+OK 2 ") {
		t.Errorf("STAT after RSET: %q", r)
	}
	c.cmd("DELE 2")
	if r := c.cmd("QUIT"); !strings.HasPrefix(r, "+OK") {
		t.Errorf("QUIT: %q", r)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].UID != "u-1" || string(msgs[0].Body) != first {
		t.Errorf("after QUIT: %+v", msgs)
	}
}

func TestDeleteOnlyAtCleanQuit(t *testing.T) {
	s := start(t, Options{Messages: []Message{{Body: []byte("a\r\n")}, {Body: []byte("b\r\n")}}})
	c := dial(t, s.Addr())
	login(c)
	c.cmd("DELE 1")
	c.conn.Close() // no QUIT
	deadline := time.Now().Add(5 * time.Second)
	var c2 *client
	for {
		c2 = dial(t, s.Addr())
		c2.cmd("USER alice")
		r := c2.cmd("PASS secret")
		if strings.HasPrefix(r, "+OK") {
			break
		}
		if !strings.Contains(r, "[IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("login after a dropped session: %q", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("a session without QUIT deleted messages: %d left", n)
	}
	c2.cmd("DELE 1")
	c2.cmd("QUIT")
	if msgs := s.Messages(); len(msgs) != 1 || string(msgs[0].Body) != "b\r\n" {
		t.Fatalf("after QUIT: %+v", msgs)
	}
}

func TestMaildropLock(t *testing.T) {
	s := start(t, Options{Messages: []Message{{Body: []byte("a\r\n")}}})
	c1 := dial(t, s.Addr())
	login(c1)
	c2 := dial(t, s.Addr())
	c2.cmd("USER alice")
	if r := c2.cmd("PASS secret"); r != "-ERR [IN-USE] maildrop is locked by another session" {
		t.Fatalf("second session: %q", r)
	}
	c1.cmd("QUIT")
	login(c2)
}

// With SharedMaildrop two sessions hold the maildrop at once, each with the
// view it logged in to, and each QUIT removes only what that session
// marked.
func TestSharedMaildrop(t *testing.T) {
	s := start(t, Options{SharedMaildrop: true, Messages: []Message{{Body: []byte("a\r\n")}, {Body: []byte("b\r\n")}}})
	c1 := dial(t, s.Addr())
	login(c1)
	s.AddMessage(Message{Body: []byte("c\r\n")})
	c2 := dial(t, s.Addr())
	login(c2)
	if r := c1.cmd("STAT"); r != "+OK 2 6" {
		t.Fatalf("first session STAT %q, want the 2 messages it logged in to", r)
	}
	if r := c2.cmd("STAT"); r != "+OK 3 9" {
		t.Fatalf("second session STAT %q, want 3 messages", r)
	}
	c1.cmd("DELE 1")
	c2.cmd("DELE 3")
	if r := c1.cmd("QUIT"); r != "+OK 1 messages deleted, bye" {
		t.Fatalf("first QUIT %q", r)
	}
	if msgs := s.Messages(); len(msgs) != 2 || string(msgs[0].Body) != "b\r\n" || string(msgs[1].Body) != "c\r\n" {
		t.Fatalf("after the first QUIT: %+v", msgs)
	}
	if r := c2.cmd("QUIT"); r != "+OK 1 messages deleted, bye" {
		t.Fatalf("second QUIT %q", r)
	}
	if msgs := s.Messages(); len(msgs) != 1 || string(msgs[0].Body) != "b\r\n" {
		t.Fatalf("after the second QUIT: %+v", msgs)
	}
}

func TestAuthPlainAndXOAUTH2(t *testing.T) {
	s := start(t, Options{OAuth2Token: "tok"})
	c := dial(t, s.Addr())
	if r := c.cmd("AUTH PLAIN %s", b64("\x00alice\x00wrong")); !strings.Contains(r, "[AUTH]") {
		t.Errorf("AUTH PLAIN wrong: %q", r)
	}
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("AUTH PLAIN without initial response: %q", r)
	}
	if r := c.cmd("%s", b64("\x00alice\x00secret")); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("AUTH PLAIN: %q", r)
	}
	c.cmd("QUIT")
	c = dial(t, s.Addr())
	if r := c.cmd("AUTH XOAUTH2 %s", b64("user=alice\x01auth=Bearer bad\x01\x01")); !strings.HasPrefix(r, "+ ") {
		t.Fatalf("XOAUTH2 bad token: %q, want an error challenge", r)
	}
	if r := c.cmd(""); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Fatalf("XOAUTH2 after the error challenge: %q", r)
	}
	if r := c.cmd("AUTH XOAUTH2 %s", b64("user=alice\x01auth=Bearer tok\x01\x01")); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("XOAUTH2: %q", r)
	}
}

func TestSTLS(t *testing.T) {
	serverTLS, clientTLS, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, Options{TLSConfig: serverTLS, Messages: []Message{{Body: []byte("x\r\n")}}})
	c := dial(t, s.Addr())
	c.cmd("CAPA")
	if capa := strings.Join(c.multi(), ","); !strings.Contains(capa, "STLS") {
		t.Fatalf("CAPA %q lacks STLS", capa)
	}
	if r := c.cmd("STLS"); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("STLS: %q", r)
	}
	cfg := clientTLS.Clone()
	cfg.ServerName = "127.0.0.1"
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.cmd("CAPA")
	if capa := strings.Join(c.multi(), ","); strings.Contains(capa, "STLS") {
		t.Errorf("CAPA after STLS still offers it: %q", capa)
	}
	login(c)
	if r := c.cmd("STAT"); r != "+OK 1 3" {
		t.Errorf("STAT over TLS: %q", r)
	}
}

func TestFaultsFireTimes(t *testing.T) {
	s := start(t, Options{Faults: Faults{LoginError: "[SYS/TEMP] busy", Times: 2}})
	for i := 0; i < 3; i++ {
		c := dial(t, s.Addr())
		c.cmd("USER alice")
		r := c.cmd("PASS secret")
		if wantErr := i < 2; wantErr != (r == "-ERR [SYS/TEMP] busy") {
			t.Fatalf("attempt %d: %q", i, r)
		}
		c.cmd("QUIT")
	}
}

func TestDropMidRETR(t *testing.T) {
	body := []byte(strings.Repeat("line\r\n", 100))
	s := start(t, Options{Messages: []Message{{Body: body}}, Faults: Faults{DropRETRAfter: 50}})
	c := dial(t, s.Addr())
	login(c)
	fmt.Fprintf(c.conn, "RETR 1\r\n")
	var got bytes.Buffer
	if _, err := got.ReadFrom(c.r); err != nil {
		t.Fatal(err)
	}
	if got.Len() != 50 {
		t.Fatalf("got %d bytes before the drop, want 50", got.Len())
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// retrThroughGoPOP3 stuffs body as the server does and reads it back with
// go-pop3's RetrRaw, the client mailferry uses.
func retrThroughGoPOP3(t testing.TB, body []byte) []byte {
	server, clientSide := net.Pipe()
	defer server.Close()
	go func() {
		w := bufio.NewWriter(server)
		r := bufio.NewReader(server)
		w.WriteString("+OK ready\r\n")
		w.Flush()
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		w.WriteString("+OK\r\n")
		writeStuffed(w, networkForm(body))
		w.Flush()
	}()
	c, err := gopop3.New(gopop3.Opt{Host: "pipe", Port: 1, Dialer: pipeDialer{clientSide}}).NewConn()
	if err != nil {
		t.Fatal(err)
	}
	buf, err := c.RetrRaw(1)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type pipeDialer struct{ c net.Conn }

func (d pipeDialer) Dial(string, string) (net.Conn, error) { return d.c, nil }

func TestStuffingRoundTrip(t *testing.T) {
	for _, body := range []string{
		".\r\n", "..\r\n", "...\r\n", ".a\r\n..b\r\n", "a\r\n.\r\n.\r\nb", "x\r\n.", ".", "\r\n.\r\n", "bare\rcr.\r\n",
		"\xff\xfe.\r\n.\x00\r\n",
	} {
		got := retrThroughGoPOP3(t, []byte(body))
		if want := networkForm([]byte(body)); !bytes.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", body, got, want)
		}
	}
}

func FuzzStuffingRoundTrip(f *testing.F) {
	for _, s := range []string{".\r\n", "..\n.", "a\r\n.\r\nb", "\r\r\n.\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 {
			return
		}
		got := retrThroughGoPOP3(t, body)
		if want := networkForm(body); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", body, got, want)
		}
	})
}

// FuzzSession sends arbitrary command lines; the server must answer or hang
// up, never crash, and never lose a message without a DELE and QUIT.
func FuzzSession(f *testing.F) {
	f.Add("USER alice\r\nPASS secret\r\nRETR 1\r\nTOP 1 0\r\nLIST 1\r\nQUIT\r\n")
	f.Add("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nUIDL\r\nDELE 1\r\nRSET\r\nQUIT\r\n")
	f.Add("CAPA\r\nSTLS\r\nAUTH XOAUTH2 ====\r\n\r\nTOP -1 x\r\n")
	s, err := Start(Options{OAuth2Token: "t", Messages: []Message{{Body: []byte("Subject: x\r\n\r\n.\r\n")}}})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, script string) {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		go func() {
			conn.Write([]byte(script))
			conn.(*net.TCPConn).CloseWrite() // end of script: the server sees EOF
		}()
		var out bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			out.Write(buf[:n])
			if err != nil || bytes.Contains(out.Bytes(), []byte("bye\r\n")) {
				break
			}
		}
		conn.Close()
		// Wait for the session to let go of the lock.
		for i := 0; i < 200; i++ {
			s.mu.Lock()
			locked := s.holders > 0
			s.mu.Unlock()
			if !locked {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n := len(s.Messages()); n != 1 && !strings.Contains(strings.ToUpper(script), "DELE") {
			t.Fatalf("message gone without DELE: %d left", n)
		}
		if len(s.Messages()) == 0 {
			s.AddMessage(Message{Body: []byte("Subject: x\r\n\r\n.\r\n")})
		}
	})
}
