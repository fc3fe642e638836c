package dovecot

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is an account on the server. Passwords are stored in plain text in
// the server's private directory; they are test passwords.
type User struct {
	Name     string
	Password string
}

// Options describe the server to start.
type Options struct {
	// Users are the accounts; at least one is required.
	Users []User
	// Separator is the IMAP hierarchy separator: "/" (the default) or ".".
	Separator string
	// Prefix is the personal namespace prefix: "" (the default) or
	// "INBOX.". Its trailing character is replaced by Separator, so
	// "INBOX." with Separator "/" gives the prefix "INBOX/".
	Prefix string
	// SpecialUse maps folders (UTF-8, "/"-separated, without Prefix) to an
	// RFC 6154 attribute such as `\Sent`. Each folder is created and
	// subscribed automatically and LIST shows the attribute. Dovecot
	// announces the SPECIAL-USE capability only when this is not empty.
	SpecialUse map[string]string
	// OAuth2IntrospectionURL, when set, adds Dovecot's oauth2 passdb for
	// the XOAUTH2 and OAUTHBEARER mechanisms: each token is POSTed to this
	// URL (introspection_mode = post), which must answer with a JSON object
	// {"active": true, "username": USER} for a token that logs USER in.
	// See TokenServer. Passwords keep working for PLAIN and LOGIN.
	OAuth2IntrospectionURL string
	// OAuth2Mechanisms are the token mechanisms offered, "xoauth2" and/or
	// "oauthbearer"; empty means both. Clients that prefer OAUTHBEARER are
	// tested with XOAUTH2 by offering only that.
	OAuth2Mechanisms []string
	// MaxMailSize, when set, is quota_max_mail_size (such as "4k"): an
	// APPEND of a larger message is refused with "NO [LIMIT] Mail size is
	// larger than the maximum size allowed by server configuration".
	MaxMailSize string
	// QuotaMessages, when above 0, lets each user hold at most that many
	// messages (the quota plugin's count backend); an APPEND beyond it is
	// refused with "NO [OVERQUOTA] Quota exceeded (mailbox for user is
	// full)".
	QuotaMessages int
	// StrictNames leaves out the listescape plugin, so a folder name with
	// the Maildir++ separator '.' in it is refused: "NO [CANNOT] Character
	// not allowed in mailbox name: '.'" (Separator "/" only).
	StrictNames bool
	// Mbox serves each user's mail from a directory of mbox files instead
	// of a Maildir, with the configuration the README gives users:
	// mail_location = mbox:DIR:INBOX=DIR/INBOX, where DIR is MboxDir(user).
	Mbox bool
	// POP3KeepsFlags stops POP3 sessions from changing flags
	// (pop3_no_flag_updates): a RETR then leaves a message unseen, so a
	// benchmark can read the same account over POP3 and IMAP and find the
	// flags it stored.
	POP3KeepsFlags bool
}

// ErrNotInstalled is returned by Launch when no dovecot binary is on PATH.
var ErrNotInstalled = errors.New("dovecot: the dovecot binary is not on PATH (Debian/Ubuntu: apt-get install dovecot-imapd dovecot-pop3d)")

// Server is a running Dovecot. All addresses are on 127.0.0.1.
type Server struct {
	IMAPAddr  string // IMAP, STARTTLS offered, plaintext LOGIN allowed
	IMAPSAddr string // IMAP over implicit TLS
	POP3Addr  string // POP3, STLS offered, plaintext USER/PASS allowed
	POP3SAddr string // POP3 over implicit TLS
	CAFile    string // PEM file of the self-signed certificate; trust it to verify the server

	dir     string
	cert    *x509.Certificate
	mailUID int
	mailGID int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the master process has exited

	closeOnce sync.Once
	closeErr  error
}

// startTimeout bounds how long Launch waits for Dovecot to accept logins.
const startTimeout = 15 * time.Second

// Start launches a Dovecot for the test and stops it, removing all its
// files, when the test ends; if the test failed, Dovecot's log is printed
// first. It skips the test when dovecot is not installed, unless the
// environment sets MAILFERRY_REQUIRE_DOVECOT=1 (as CI does), in which case
// the test fails.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Launch(opts)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("MAILFERRY_REQUIRE_DOVECOT") == "1" {
			t.Fatalf("MAILFERRY_REQUIRE_DOVECOT=1 but %v", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dovecot log (%s):\n%s", s.dir, s.Log())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stopping dovecot: %v", err)
		}
	})
	return s
}

// debianDovecot is where Debian's dovecot-core installs the binary; a
// PATH without the sbin directories (cron, some CI runners) does not find it.
const debianDovecot = "/usr/sbin/dovecot"

// dovecotBinary finds the dovecot binary on PATH or where Debian puts it.
func dovecotBinary() (string, error) {
	if bin, err := exec.LookPath("dovecot"); err == nil {
		return bin, nil
	}
	if st, err := os.Stat(debianDovecot); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return debianDovecot, nil
	}
	return "", ErrNotInstalled
}

// Launch starts a Dovecot and returns once it accepts connections on all
// four ports. The caller must Close it. It returns ErrNotInstalled when
// there is no dovecot binary.
func Launch(opts Options) (*Server, error) {
	if err := validate(opts); err != nil {
		return nil, err
	}
	bin, err := dovecotBinary()
	if err != nil {
		return nil, err
	}
	l, err := newLayout(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:     l.dir,
		CAFile:  l.path("cert.pem"),
		mailUID: l.mailUID,
		mailGID: l.mailGID,
	}
	if err := s.prepare(l, opts); err != nil {
		os.RemoveAll(l.dir)
		return nil, err
	}
	// Free ports are found by binding to port 0 and letting go again, so
	// another process may take one before Dovecot binds it; try again with
	// new ports when that happens.
	for attempt := 1; ; attempt++ {
		if l.ports, err = freePorts(); err != nil {
			os.RemoveAll(l.dir)
			return nil, err
		}
		err = s.run(bin, l)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !strings.Contains(s.Log(), "Address already in use") {
			log := s.Log()
			os.RemoveAll(l.dir)
			return nil, fmt.Errorf("%w\ndovecot log:\n%s", err, log)
		}
		os.Remove(l.path("dovecot.log"))
	}
}

// validate checks opts before anything is created.
func validate(opts Options) error {
	if len(opts.Users) == 0 {
		return errors.New("dovecot: Options.Users is empty")
	}
	if opts.Separator != "" && opts.Separator != "/" && opts.Separator != "." {
		return fmt.Errorf("dovecot: separator %q: want \"/\" or \".\"", opts.Separator)
	}
	if opts.StrictNames && opts.Separator == "." {
		return errors.New(`dovecot: StrictNames needs Separator "/": with "." a dot in a name is the hierarchy`)
	}
	if opts.QuotaMessages < 0 {
		return fmt.Errorf("dovecot: QuotaMessages %d is negative", opts.QuotaMessages)
	}
	if !quotaSize.MatchString(opts.MaxMailSize) {
		return fmt.Errorf("dovecot: MaxMailSize %q: want a size such as 4k or 10M", opts.MaxMailSize)
	}
	if opts.Prefix != "" && opts.Prefix != "INBOX." && opts.Prefix != "INBOX/" {
		return fmt.Errorf("dovecot: prefix %q: want \"\" or \"INBOX.\"", opts.Prefix)
	}
	for folder, use := range opts.SpecialUse {
		if !specialUseAttr.MatchString(use) {
			return fmt.Errorf("dovecot: special-use %q for folder %q is not an attribute like \\Sent", use, folder)
		}
		if folder == "" || strings.ContainsAny(folder, "\r\n\x00") {
			return fmt.Errorf("dovecot: special-use folder %q is not a folder name", folder)
		}
	}
	if u := opts.OAuth2IntrospectionURL; u != "" && (!strings.HasPrefix(u, "http://") || strings.ContainsAny(u, " \t\r\n\x00")) {
		return fmt.Errorf("dovecot: introspection URL %q: want http://… without spaces", u)
	}
	for _, m := range opts.OAuth2Mechanisms {
		if m != "xoauth2" && m != "oauthbearer" {
			return fmt.Errorf("dovecot: OAuth2 mechanism %q: want xoauth2 or oauthbearer", m)
		}
	}
	for _, u := range opts.Users {
		if !userName.MatchString(u.Name) {
			return fmt.Errorf("dovecot: user name %q: use letters, digits and . _ - + @ only", u.Name)
		}
		if u.Password == "" || strings.ContainsAny(u.Password, ":\r\n\x00") {
			return fmt.Errorf("dovecot: password of %q must be non-empty without ':' or line breaks", u.Name)
		}
	}
	return nil
}

// newLayout creates the server's private directory for opts, which
// validate has accepted.
func newLayout(opts Options) (*layout, error) {
	l := &layout{separator: opts.Separator, specialUse: opts.SpecialUse, introspectionURL: opts.OAuth2IntrospectionURL, oauth2Mechs: opts.OAuth2Mechanisms,
		maxMailSize: opts.MaxMailSize, quotaMessages: opts.QuotaMessages, strictNames: opts.StrictNames, mbox: opts.Mbox,
		pop3KeepsFlags: opts.POP3KeepsFlags}
	if len(l.oauth2Mechs) == 0 {
		l.oauth2Mechs = []string{"xoauth2", "oauthbearer"}
	}
	if l.separator == "" {
		l.separator = "/"
	}
	if opts.Prefix != "" {
		l.prefix = "INBOX" + l.separator
	}
	if os.Geteuid() == 0 {
		// Dovecot refuses to run mail processes as root.
		uid, gid, err := lookupUser("nobody")
		if err != nil {
			return nil, err
		}
		l.mailUID, l.mailGID = uid, gid
	} else {
		cur, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("dovecot: current user: %w", err)
		}
		grp, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			return nil, fmt.Errorf("dovecot: current group: %w", err)
		}
		l.mailUID, l.mailGID = os.Getuid(), os.Getgid()
		l.unprivileged, l.ownUser, l.ownGroup = true, cur.Username, grp.Name
	}

	sweepStale()
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	l.dir = dir
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if err := checkPathChars(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Dovecot's auth and login processes run as unprivileged users and
	// must be able to reach the passwd file and the sockets.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if !l.unprivileged {
		if err := checkTraversable(filepath.Dir(dir)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return l, nil
}

var (
	specialUseAttr = regexp.MustCompile(`^\\[A-Za-z]+$`)
	userName       = regexp.MustCompile(`^[A-Za-z0-9._+@-]+$`)
	quotaSize      = regexp.MustCompile(`^([0-9]+[kKmMgG]?)?$`)
)

// lookupUser returns the uid and primary gid of name.
func lookupUser(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("dovecot: running as root needs user %q for mail: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("dovecot: user %q has non-numeric ids %s:%s", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

// checkTraversable reports an error when some directory on the way to dir
// cannot be entered by other users (Dovecot's auth process among them).
func checkTraversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("dovecot: %s is not searchable by other users (mode %v), so Dovecot's unprivileged processes cannot reach their files; set TMPDIR to a directory they can traverse", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// prepare writes the certificate, the users and the mail directories.
func (s *Server) prepare(l *layout, opts Options) error {
	cert, err := writeCert(l.path("cert.pem"), l.path("key.pem"), 7*24*time.Hour)
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.cert = cert

	var passwd strings.Builder
	for _, u := range opts.Users {
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s::::::\n", u.Name, u.Password)
	}
	if err := os.WriteFile(l.path("passwd"), []byte(passwd.String()), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	if l.introspectionURL != "" {
		if err := os.WriteFile(l.path(oauth2ConfFile), []byte(l.oauth2Config()), 0o644); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	if err := os.Mkdir(l.path("mail"), 0o755); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	for _, u := range opts.Users {
		home := filepath.Join(l.path("mail"), u.Name)
		if err := os.Mkdir(home, 0o700); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		if err := os.Lchown(home, l.mailUID, l.mailGID); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	return nil
}

// run writes the configuration for l.ports, starts the master process and
// waits until it serves.
func (s *Server) run(bin string, l *layout) error {
	conf := l.path("dovecot.conf")
	if err := os.WriteFile(conf, []byte(l.config()), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	out, err := os.Create(l.path("stderr.log"))
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "-F", "-c", conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = l.dir
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dovecot: starting %s: %w", bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(s.exited)
	}()

	addr := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	s.IMAPAddr, s.IMAPSAddr = addr(l.ports.imap), addr(l.ports.imaps)
	s.POP3Addr, s.POP3SAddr = addr(l.ports.pop3), addr(l.ports.pop3s)

	deadline := time.Now().Add(startTimeout)
	err = s.waitReady(deadline)
	if err != nil {
		s.stop()
	}
	return err
}

// waitReady polls until the IMAP port greets with its capabilities (which
// Dovecot sends only once its auth process answers), the POP3 port greets,
// and the TLS ports accept connections.
func (s *Server) waitReady(deadline time.Time) error {
	checks := []struct {
		addr, greeting, bye string
	}{
		{s.IMAPAddr, "* OK [CAPABILITY", "a LOGOUT\r\n"},
		{s.POP3Addr, "+OK", "QUIT\r\n"},
		{s.IMAPSAddr, "", ""},
		{s.POP3SAddr, "", ""},
	}
	for _, c := range checks {
		for {
			select {
			case <-s.exited:
				return fmt.Errorf("dovecot: exited during start-up (%v)", s.cmd.ProcessState)
			default:
			}
			err := probe(c.addr, c.greeting, c.bye, deadline)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dovecot: not serving on %s after %v: %w", c.addr, startTimeout, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// probe connects to addr and, when greeting is set, reads lines until one
// starts with it, then says goodbye.
func probe(addr, greeting, bye string, deadline time.Time) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if greeting == "" {
		return nil
	}
	conn.SetDeadline(deadline)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if strings.HasPrefix(line, greeting) {
			break
		}
	}
	_, err = conn.Write([]byte(bye))
	return err
}

// TLSConfig returns a client configuration that trusts the server's
// certificate (valid for 127.0.0.1 and localhost).
func (s *Server) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	// ServerName lets a raw tls.Client (POP3 STLS) verify without knowing
	// the address; every listener is on 127.0.0.1.
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// MailDir returns the root of user's Maildir++ (the INBOX; other folders
// are its dot-directories). It exists once the user has logged in or a
// test has created it. Files written there by a root process must be
// handed over with ChownMail before Dovecot can change them.
func (s *Server) MailDir(user string) string {
	return filepath.Join(s.dir, "mail", user, "Maildir")
}

// MboxDir returns the directory of user's mbox files when the server was
// started with Options.Mbox: INBOX is the file INBOX in it, other folders
// are files named as their folders, subfolders in subdirectories.
func (s *Server) MboxDir(user string) string {
	return filepath.Join(s.dir, "mail", user, "mbox")
}

// ChownMail gives everything below MailDir(user) and MboxDir(user) to the system user that
// Dovecot runs mail processes as (nobody when started as root). It does
// nothing when not running as root, since Dovecot then uses the caller's
// own user.
func (s *Server) ChownMail(user string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for _, dir := range []string{s.MailDir(user), s.MboxDir(user)} {
		err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, s.mailUID, s.mailGID)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Log returns what Dovecot has logged so far, start-up errors included.
func (s *Server) Log() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "dovecot.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, name))
		if err == nil && len(data) > 0 {
			fmt.Fprintf(&b, "--- %s\n%s", name, data)
		}
	}
	return b.String()
}

// Close stops Dovecot and all its processes and removes the server's
// directory, mail included.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		if err := os.RemoveAll(s.dir); err != nil {
			s.closeErr = fmt.Errorf("dovecot: removing %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// stop kills the master and every process it started (they share its
// process group). Nothing of the server outlives it, so there is nothing
// to shut down gracefully, and a graceful shutdown takes Dovecot a second.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	killGroup(s.cmd.Process)
	deadline := time.After(10 * time.Second)
	select {
	case <-s.exited:
	case <-deadline:
		// The master is our child, so SIGKILL ends it; this only guards
		// against a wedged kernel, not a wedged Dovecot.
		return
	}
	// The other processes of the group (login processes hold the
	// listening sockets too) may still be ending: once stop returns,
	// nothing of the server answers on its ports.
	for !groupGone(s.cmd.Process.Pid) {
		select {
		case <-deadline:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
