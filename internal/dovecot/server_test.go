package dovecot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var alice = User{Name: "alice", Password: "s3cret pass"}

// dialMode is how a test client reaches the server.
type dialMode int

const (
	viaIMAPS dialMode = iota
	viaStartTLS
)

// login connects to s as u and registers a logout for the end of the test.
func login(t *testing.T, s *Server, u User, mode dialMode) *imapclient.Client {
	t.Helper()
	opts := &imapclient.Options{TLSConfig: s.TLSConfig()}
	var c *imapclient.Client
	var err error
	switch mode {
	case viaIMAPS:
		c, err = imapclient.DialTLS(s.IMAPSAddr, opts)
	case viaStartTLS:
		c, err = imapclient.DialStartTLS(s.IMAPAddr, opts)
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(u.Name, u.Password).Wait(); err != nil {
		t.Fatalf("login as %s: %v", u.Name, err)
	}
	return c
}

// appendMessage APPENDs body to mailbox and returns its UID.
func appendMessage(t *testing.T, c *imapclient.Client, mailbox string, flags []imap.Flag, date time.Time, body []byte) imap.UID {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(body)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write(body); err != nil {
		t.Fatalf("APPEND to %s: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND to %s: %v", mailbox, err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND to %s: %v", mailbox, err)
	}
	if data.UID == 0 {
		t.Fatalf("APPEND to %s: no APPENDUID", mailbox)
	}
	return data.UID
}

// fetched is what a test reads back of one message.
type fetched struct {
	flags []string
	date  time.Time
	size  int64
	body  []byte
}

// fetchAll selects mailbox read-only and fetches every message by UID.
func fetchAll(t *testing.T, c *imapclient.Client, mailbox string) map[imap.UID]fetched {
	t.Helper()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("EXAMINE %s: %v", mailbox, err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH %s: %v", mailbox, err)
	}
	out := make(map[imap.UID]fetched, len(msgs))
	for _, m := range msgs {
		f := fetched{date: m.InternalDate, size: m.RFC822Size, body: m.FindBodySection(section)}
		for _, fl := range m.Flags {
			if fl == `\Recent` {
				continue
			}
			f.flags = append(f.flags, string(fl))
		}
		slices.Sort(f.flags)
		out[m.UID] = f
	}
	return out
}

func listNames(t *testing.T, c *imapclient.Client) map[string]*imap.ListData {
	t.Helper()
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	out := make(map[string]*imap.ListData, len(list))
	for _, l := range list {
		out[l.Mailbox] = l
	}
	return out
}

const testMessage = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Tue, 02 Jan 2024 10:00:00 +0100\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Hello,\r\n" +
	".a line with a leading dot\r\n" +
	"\r\n" +
	"trailing spaces   \r\n"

func TestAppendFetchRoundTrip(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{alice}})
	date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.FixedZone("", -7*3600))
	flags := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, "$Forwarded", "Project_X"}

	for _, mode := range []dialMode{viaIMAPS, viaStartTLS} {
		c := login(t, s, alice, mode)
		uid := appendMessage(t, c, "INBOX", flags, date, []byte(testMessage))
		got := fetchAll(t, c, "INBOX")[uid]
		if !bytes.Equal(got.body, []byte(testMessage)) {
			t.Errorf("mode %d: BODY[] = %q, want %q", mode, got.body, testMessage)
		}
		if got.size != int64(len(testMessage)) {
			t.Errorf("mode %d: RFC822.SIZE = %d, want %d", mode, got.size, len(testMessage))
		}
		if !got.date.Equal(date) {
			t.Errorf("mode %d: INTERNALDATE = %v, want %v", mode, got.date, date)
		}
		want := []string{"$Forwarded", "Project_X", `\Answered`, `\Flagged`, `\Seen`}
		if !slices.Equal(got.flags, want) {
			t.Errorf("mode %d: FLAGS = %v, want %v", mode, got.flags, want)
		}
	}
}

func TestSTARTTLSVerifiesCertificate(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{alice}})
	for name, dial := range map[string]func(string, *imapclient.Options) (*imapclient.Client, error){
		"starttls": imapclient.DialStartTLS,
		"imaps":    imapclient.DialTLS,
	} {
		addr := s.IMAPSAddr
		if name == "starttls" {
			addr = s.IMAPAddr
		}
		// A client that does not trust the harness certificate must fail,
		// which proves the connection really was TLS with that certificate.
		c, err := dial(addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}})
		if err == nil {
			err = c.Login(alice.Name, alice.Password).Wait()
			c.Close()
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("%s with an empty trust store: err = %v, want x509.UnknownAuthorityError", name, err)
		}
	}
	// The certificate is valid for localhost as well as 127.0.0.1.
	_, port, _ := net.SplitHostPort(s.IMAPSAddr)
	c, err := imapclient.DialTLS(net.JoinHostPort("localhost", port), &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatalf("imaps via localhost: %v", err)
	}
	defer c.Close()
	if err := c.Login(alice.Name, alice.Password).Wait(); err != nil {
		t.Fatalf("login via localhost: %v", err)
	}
	// CAFile holds the same certificate TLSConfig trusts.
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CAFile %s holds no certificate", s.CAFile)
	}
	conn, err := tls.Dial("tcp", s.IMAPSAddr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS with CAFile: %v", err)
	}
	conn.Close()
}

func TestWrongPasswordFails(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{alice}})
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice.Name, "wrong").Wait(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}

// pop3Conn is a minimal POP3 client for checking the server.
type pop3Conn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (p *pop3Conn) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("POP3 read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (p *pop3Conn) cmd(c string) string {
	p.t.Helper()
	if _, err := fmt.Fprintf(p.conn, "%s\r\n", c); err != nil {
		p.t.Fatalf("POP3 %s: %v", c, err)
	}
	l := p.line()
	if !strings.HasPrefix(l, "+OK") {
		p.t.Fatalf("POP3 %s: %s", c, l)
	}
	return l
}

// multiline reads a dot-terminated response and undoes dot-stuffing,
// returning the payload with CRLF line endings.
func (p *pop3Conn) multiline() []byte {
	p.t.Helper()
	var b bytes.Buffer
	for {
		l := p.line()
		if l == "." {
			return b.Bytes()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
		b.WriteString("\r\n")
	}
}

func dialPOP3(t *testing.T, s *Server, implicitTLS bool) *pop3Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = tls.Dial("tcp", s.POP3SAddr, s.TLSConfig())
	} else {
		conn, err = net.Dial("tcp", s.POP3Addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	p := &pop3Conn{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := p.line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("POP3 greeting: %s", g)
	}
	if !implicitTLS {
		p.cmd("STLS")
		tc := tls.Client(conn, s.TLSConfig())
		if err := tc.Handshake(); err != nil {
			t.Fatalf("STLS handshake: %v", err)
		}
		p.conn, p.r = tc, bufio.NewReader(tc)
	}
	return p
}

func TestPOP3(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{alice}})
	c := login(t, s, alice, viaIMAPS)
	appendMessage(t, c, "INBOX", nil, time.Now(), []byte(testMessage))

	for _, implicitTLS := range []bool{true, false} {
		p := dialPOP3(t, s, implicitTLS)
		p.cmd("USER " + alice.Name)
		p.cmd("PASS " + alice.Password)
		if stat := p.cmd("STAT"); stat != fmt.Sprintf("+OK 1 %d", len(testMessage)) {
			t.Errorf("tls=%v: STAT = %q, want 1 message of %d bytes", implicitTLS, stat, len(testMessage))
		}
		p.cmd("RETR 1")
		if got := p.multiline(); !bytes.Equal(got, []byte(testMessage)) {
			t.Errorf("tls=%v: RETR 1 = %q, want %q", implicitTLS, got, testMessage)
		}
		p.cmd("QUIT")
	}
}

// TestPOP3KeepsFlags: a RETR marks the message seen, unless
// POP3KeepsFlags is set.
func TestPOP3KeepsFlags(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{false, true} {
		s := Start(t, Options{Users: []User{alice}, POP3KeepsFlags: keep})
		c := login(t, s, alice, viaIMAPS)
		appendMessage(t, c, "INBOX", nil, time.Now(), []byte(testMessage))
		p := dialPOP3(t, s, true)
		p.cmd("USER " + alice.Name)
		p.cmd("PASS " + alice.Password)
		p.cmd("RETR 1")
		p.multiline()
		p.cmd("QUIT")
		var flags []string
		for _, m := range fetchAll(t, c, "INBOX") {
			flags = m.flags
		}
		if seen := slices.Contains(flags, `\Seen`); seen == keep {
			t.Errorf("POP3KeepsFlags %v: flags after RETR %q", keep, flags)
		}
	}
}

func TestNamespaces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sep, prefix string
		// create is the folder as typed over IMAP; list as LIST shows it;
		// disk is the Maildir++ directory under MailDir.
		create, list, disk string
	}{
		{"/", "", "Archive/2019/Q1", "Archive/2019/Q1", ".Archive.2019.Q1"},
		{".", "INBOX.", "INBOX.Archive.2019.Q1", "INBOX.Archive.2019.Q1", ".Archive.2019.Q1"},
		{"/", "INBOX.", "INBOX/Archive/2019/Q1", "INBOX/Archive/2019/Q1", ".Archive.2019.Q1"},
		{"/", "", "a.b", "a.b", `.a\2eb`},
		{"/", "", `back\slash`, `back\slash`, `.back\5cslash`},
		{"/", "", "Entwürfe", "Entwürfe", ".Entw&APw-rfe"},
		{".", "INBOX.", "INBOX.a/b", "INBOX.a/b", `.a\2fb`},
		{".", "", "x/y.z", "x/y.z", `.x\2fy.z`},
	} {
		t.Run(fmt.Sprintf("%s_%s_%s", tc.sep, tc.prefix, tc.create), func(t *testing.T) {
			t.Parallel()
			s := Start(t, Options{Users: []User{alice}, Separator: tc.sep, Prefix: tc.prefix})
			c := login(t, s, alice, viaIMAPS)
			ns, err := c.Namespace().Wait()
			if err != nil {
				t.Fatal(err)
			}
			wantPrefix := ""
			if tc.prefix != "" {
				wantPrefix = "INBOX" + tc.sep
			}
			if len(ns.Personal) != 1 || ns.Personal[0].Prefix != wantPrefix || string(ns.Personal[0].Delim) != tc.sep {
				t.Fatalf("NAMESPACE personal = %+v, want prefix %q delim %q", ns.Personal, wantPrefix, tc.sep)
			}
			if err := c.Create(tc.create, nil).Wait(); err != nil {
				t.Fatalf("CREATE %q: %v", tc.create, err)
			}
			appendMessage(t, c, tc.create, nil, time.Now(), []byte(testMessage))
			l, ok := listNames(t, c)[tc.list]
			if !ok {
				t.Fatalf("LIST has no %q: %v", tc.list, listNames(t, c))
			}
			if string(l.Delim) != tc.sep {
				t.Errorf("LIST delimiter %q, want %q", l.Delim, tc.sep)
			}
			dir := filepath.Join(s.MailDir(alice.Name), tc.disk)
			entries, err := os.ReadDir(filepath.Join(dir, "new"))
			if err != nil {
				t.Fatalf("folder %q is not at %s: %v", tc.create, dir, err)
			}
			if len(entries) != 1 {
				t.Errorf("%s/new holds %d files, want the 1 appended message", dir, len(entries))
			}
		})
	}
}

func TestSpecialUse(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"/", "."} {
		t.Run(sep, func(t *testing.T) {
			t.Parallel()
			prefix := map[string]string{"/": "", ".": "INBOX."}[sep]
			s := Start(t, Options{Users: []User{alice}, Separator: sep, Prefix: prefix, SpecialUse: map[string]string{
				"Sent":          `\Sent`,
				"Papierkorb":    `\Trash`,
				"Archive/2019":  `\Archive`,
				"Entwürfe":      `\Drafts`,
				"Junk-E-Mail":   `\Junk`,
				"All Mail":      `\All`,
				"Flagged Stuff": `\Flagged`,
			}})
			c := login(t, s, alice, viaStartTLS)
			p := map[string]string{"/": "", ".": "INBOX."}[sep]
			want := map[string]imap.MailboxAttr{
				p + "Sent":                   imap.MailboxAttrSent,
				p + "Papierkorb":             imap.MailboxAttrTrash,
				p + "Archive" + sep + "2019": imap.MailboxAttrArchive,
				p + "Entwürfe":               imap.MailboxAttrDrafts,
				p + "Junk-E-Mail":            imap.MailboxAttrJunk,
				p + "All Mail":               imap.MailboxAttrAll,
				p + "Flagged Stuff":          imap.MailboxAttrFlagged,
				"INBOX":                      "",
			}
			got := listNames(t, c)
			for name, attr := range want {
				l, ok := got[name]
				if !ok {
					t.Errorf("LIST has no %q", name)
					continue
				}
				if attr != "" && !slices.Contains(l.Attrs, attr) {
					t.Errorf("LIST %q attrs = %v, want %s", name, l.Attrs, attr)
				}
			}
			// Auto-created folders accept mail at once.
			appendMessage(t, c, p+"Archive"+sep+"2019", nil, time.Now(), []byte(testMessage))
			if _, err := os.Stat(filepath.Join(s.MailDir(alice.Name), ".Archive.2019", "new")); err != nil {
				t.Errorf("special-use folder not on disk: %v", err)
			}
		})
	}
}

func TestParallelServers(t *testing.T) {
	t.Parallel()
	const n = 4
	servers := make([]*Server, n)
	errs := make([]error, n)
	durations := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		// Launch, not Start: t.Fatal and t.Skip belong to the test goroutine.
		wg.Go(func() {
			start := time.Now()
			servers[i], errs[i] = Launch(Options{Users: []User{{Name: fmt.Sprintf("user%d", i), Password: "pw"}}})
			durations[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("dovecot %d log:\n%s", i, s.Log())
				}
				s.Close()
			})
		}
	}
	for _, err := range errs {
		if errors.Is(err, ErrNotInstalled) && os.Getenv("MAILFERRY_REQUIRE_DOVECOT") != "1" {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	addrs := map[string]bool{}
	for i, s := range servers {
		t.Logf("server %d started in %v", i, durations[i])
		for _, a := range []string{s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr} {
			if addrs[a] {
				t.Errorf("address %s used twice", a)
			}
			addrs[a] = true
		}
		u := User{Name: fmt.Sprintf("user%d", i), Password: "pw"}
		c := login(t, s, u, viaIMAPS)
		appendMessage(t, c, "INBOX", nil, time.Now(), []byte(testMessage))
		// Users of one server do not exist on another.
		other := servers[(i+1)%n]
		oc, err := imapclient.DialTLS(other.IMAPSAddr, &imapclient.Options{TLSConfig: other.TLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		if err := oc.Login(u.Name, u.Password).Wait(); err == nil {
			t.Errorf("user %s logged in to server %d", u.Name, (i+1)%n)
		}
		oc.Close()
	}
}

func TestCloseStopsAndRemoves(t *testing.T) {
	t.Parallel()
	s, err := Launch(Options{Users: []User{alice}})
	if errors.Is(err, ErrNotInstalled) && os.Getenv("MAILFERRY_REQUIRE_DOVECOT") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(alice.Name, alice.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Close: %v", s.dir, err)
	}
	for _, a := range []string{s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr} {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
	// The session's imap process was ended too: the connection is closed.
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("client connection still open after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLaunchRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"no users":           {},
		"bad separator":      {Users: []User{alice}, Separator: ":"},
		"bad prefix":         {Users: []User{alice}, Prefix: "Mail/"},
		"colon in password":  {Users: []User{{Name: "a", Password: "x:y"}}},
		"empty password":     {Users: []User{{Name: "a"}}},
		"space in user":      {Users: []User{{Name: "a b", Password: "x"}}},
		"special-use no \\":  {Users: []User{alice}, SpecialUse: map[string]string{"Sent": "Sent"}},
		"special-use folder": {Users: []User{alice}, SpecialUse: map[string]string{"": `\Sent`}},
	} {
		// Options are checked before looking for dovecot, so this holds
		// without it too.
		s, err := Launch(opts)
		if errors.Is(err, ErrNotInstalled) {
			t.Errorf("%s: Launch(%+v) = %v, want an options error", name, opts, err)
		}
		if err == nil {
			s.Close()
			t.Errorf("%s: Launch(%+v) succeeded", name, opts)
		}
	}
}

func TestLogHoldsSessions(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{alice}})
	c := login(t, s, alice, viaIMAPS)
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.Log(), "Login: user=<alice>") {
		if time.Now().After(deadline) {
			t.Fatalf("log has no login line:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var _ io.Closer = (*Server)(nil)

func TestStaleDirectoriesAreSwept(t *testing.T) {
	// Not parallel: it makes a directory that looks abandoned.
	stale, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(stale)
	// A pid above the kernel's limit (4194304 at most) cannot be alive.
	if err := os.WriteFile(filepath.Join(stale, ownerFile), []byte("2147483647"), 0o644); err != nil {
		t.Fatal(err)
	}
	live, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(live)
	if err := os.WriteFile(filepath.Join(live, ownerFile), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	sweepStale()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale directory %s survived: %v", stale, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live process was removed: %v", err)
	}
}

// TestCapabilities pins the extensions sources and sinks may rely on when
// they test against this server. Dovecot announces SPECIAL-USE only when
// some folder has a special-use attribute.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	for _, withSpecialUse := range []bool{false, true} {
		opts := Options{Users: []User{alice}}
		if withSpecialUse {
			opts.SpecialUse = map[string]string{"Sent": `\Sent`}
		}
		s := Start(t, opts)
		c := login(t, s, alice, viaIMAPS)
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []imap.Cap{
			imap.CapIMAP4rev1, imap.CapUIDPlus, imap.CapMove, imap.CapCondStore, imap.CapQResync,
			imap.CapListStatus, imap.CapListExtended, imap.CapESearch, imap.CapLiteralPlus, imap.CapIdle,
			imap.CapNamespace, imap.CapUnselect, imap.CapEnable, imap.CapBinary, imap.CapMultiAppend,
		} {
			if _, ok := caps[want]; !ok {
				t.Errorf("capability %s missing; server has %v", want, caps)
			}
		}
		if _, ok := caps[imap.CapSpecialUse]; ok != withSpecialUse {
			t.Errorf("with special-use folders %v: SPECIAL-USE announced %v", withSpecialUse, ok)
		}
		if _, ok := caps[imap.CapIMAP4rev2]; ok {
			t.Errorf("Dovecot 2.3 announces IMAP4rev2; tests of the IMAP4rev1 paths assume it does not")
		}
	}
}
