package imapserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/mailferry/mailferry/internal/testcert"
)

// User is an account on the server.
type User struct {
	Name, Password string
}

// Options configure a Server. Folder names in Options and AddMessage are
// "/"-separated UTF-8 (like transfer folder names), whatever delimiter
// clients see.
type Options struct {
	Users []User
	// SpecialUse gives folders a special-use attribute in LIST, e.g.
	// {"Sent Items": `\Sent`}. The folders are created for every user.
	SpecialUse map[string]string
	// Delimiter is the hierarchy delimiter clients see: '/' (default) or
	// '.'.
	Delimiter rune
	// Prefix is the personal namespace prefix clients see, e.g. "INBOX.";
	// every folder but INBOX carries it.
	Prefix string
	// TLS serves STARTTLS on Addr and implicit TLS on TLSAddr, with a
	// self-signed certificate for 127.0.0.1 (see CertPool).
	TLS bool
	// UIDAfterLiteral rewrites FETCH responses so UID comes after the body
	// literal, as some servers send it.
	UIDAfterLiteral bool
	// OAuth2Tokens enables AUTHENTICATE OAUTHBEARER and XOAUTH2: the bearer
	// token each user (by name) must present.
	OAuth2Tokens map[string]string
	// KeepPartialAppend stores what arrived of an APPEND whose connection
	// broke mid-literal, as sloppy servers do, so clients can be tested
	// for cleaning it up.
	KeepPartialAppend bool
	// ServeBody, when set, changes the bytes served for a whole message
	// (BODY[], BODY.PEEK[], RFC822) of the folder (stored "/"-separated
	// name) with the UID, to test clients against servers that lose or
	// alter mail. RFC822.SIZE stays the size of what is stored.
	ServeBody func(folder string, uid imap.UID, body []byte) []byte
	// StoreBody, when set, changes what an APPEND stores in the folder
	// (stored "/"-separated name), as servers that rewrite mail do
	// (Courier adds a final CRLF, Cyrus replaces 8-bit header bytes with
	// X); APPENDUID names the stored message.
	StoreBody func(folder string, body []byte) []byte
	// Refuse, when set, is asked before each CREATE, SELECT and EXAMINE
	// with the command and the folder (stored "/"-separated name); a
	// non-nil *imap.Error is the answer instead, such as Dovecot's NO
	// [CANNOT] for a name it cannot store or NO [NOPERM] for a folder the
	// user may not read.
	Refuse func(command, folder string) *imap.Error
	// RefuseAppend, when set, is asked for each APPEND with the folder
	// (stored "/"-separated name) and the message; a non-nil *imap.Error
	// is the answer instead of storing it, as a server that will not
	// take one message (size, content) answers.
	RefuseAppend func(folder string, body []byte) *imap.Error
	// Caps replaces the advertised capabilities; nil means IMAP4rev1 with
	// NAMESPACE, UIDPLUS, MOVE, SPECIAL-USE, LIST-EXTENDED, LIST-STATUS,
	// STATUS=SIZE, ESEARCH, LITERAL+ and CHILDREN.
	Caps imap.CapSet
	// Gmail makes the server behave as Gmail's IMAP does: X-GM-EXT-1 among
	// the capabilities, the system folders under "[Gmail]" (which is
	// \Noselect) with their special-use attributes, \All on All Mail, and
	// every message appended or copied to a label folder also in All Mail
	// (see AddGmailMessage), where FETCH X-GM-LABELS names its labels.
	Gmail bool
	// GmailWithoutLabels, with Gmail, answers a FETCH of X-GM-LABELS with
	// BAD, as a server that has Gmail's folders but not its extension
	// does.
	GmailWithoutLabels bool
	// AppendLimit, when set, is advertised as APPENDLIMIT=N (RFC 7889),
	// and go-imap refuses a larger APPEND with NO [TOOBIG].
	AppendLimit uint32
	// MultiAppend offers MULTIAPPEND (RFC 3502): an APPEND of several
	// messages, sent with non-synchronizing literals, stores all of them
	// with consecutive UIDs (APPENDUID names the uid-set) or, when one is
	// refused, none; a connection lost in the middle of one stores none,
	// or with KeepPartialAppend what arrived.
	MultiAppend bool
	// Debug receives the raw protocol.
	Debug io.Writer
}

// Server is a running in-process IMAP server.
type Server struct {
	opts  Options
	srv   *goimapserver.Server
	ln    net.Listener
	tlsLn net.Listener
	pool  *x509.CertPool

	mu    sync.Mutex
	users map[string]*user
}

type user struct {
	name, password string

	mu              sync.Mutex
	folders         map[string]bool     // stored name → subscribed
	boxes           map[string]*mailbox // stored name → messages
	lastUIDValidity uint32
}

// Start listens on 127.0.0.1 (random ports) and serves.
func Start(opts Options) (*Server, error) {
	if opts.Delimiter == 0 {
		opts.Delimiter = '/'
	}
	if opts.Delimiter != '/' && opts.Delimiter != '.' {
		return nil, fmt.Errorf("imapserver: delimiter %q not supported", opts.Delimiter)
	}
	if opts.Gmail {
		su := map[string]string{}
		for f, r := range gmailSpecialUse {
			su[f] = r
		}
		for f, r := range opts.SpecialUse {
			su[f] = r
		}
		opts.SpecialUse = su
	}
	s := &Server{opts: opts, users: make(map[string]*user)}
	for _, u := range opts.Users {
		us := &user{name: u.Name, password: u.Password, folders: map[string]bool{}, boxes: map[string]*mailbox{}}
		if err := us.create("INBOX"); err != nil {
			return nil, err
		}
		us.folders["INBOX"] = true
		s.users[u.Name] = us
		for f := range opts.SpecialUse {
			if err := s.createFolder(us, f); err != nil {
				return nil, err
			}
		}
	}
	caps := opts.Caps
	if caps == nil {
		caps = imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapMove: {},
			imap.CapSpecialUse: {}, imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapStatusSize: {},
			imap.CapESearch: {}, imap.CapLiteralPlus: {}, imap.CapChildren: {},
		}
	}
	srvOpts := &goimapserver.Options{
		NewSession: func(*goimapserver.Conn) (goimapserver.Session, *goimapserver.GreetingData, error) {
			if opts.AppendLimit > 0 {
				return &limitedSession{session: &session{srv: s}, limit: opts.AppendLimit}, nil, nil
			}
			return &session{srv: s}, nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		DebugWriter:  opts.Debug,
		Logger:       log.New(io.Discard, "", 0),
	}
	var tlsCfg *tls.Config
	if opts.TLS {
		cert, err := testcert.New(24 * time.Hour)
		if err != nil {
			return nil, err
		}
		s.pool = cert.Pool
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		srvOpts.TLSConfig = tlsCfg
	}
	s.srv = goimapserver.New(srvOpts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	rewrite := func(segs [][]byte) []byte { return bytes.Join(segs, nil) }
	if opts.UIDAfterLiteral {
		rewrite = rewriteFetch
	}
	switch {
	case opts.Gmail:
		l := &rewritingListener{Listener: ln, rewrite: addGmailCapability(rewrite), request: gmailLabelsRequests}
		if opts.GmailWithoutLabels {
			l.request = nil
		}
		go s.srv.Serve(l)
	case opts.MultiAppend:
		go s.srv.Serve(&rewritingListener{Listener: ln, request: multiAppendRequests(opts.KeepPartialAppend),
			rewrite: func(server io.Reader, client io.Writer) error {
				return rewriteResponses(server, client, multiAppendResponses(rewrite))
			}})
	case opts.UIDAfterLiteral:
		go s.srv.Serve(&rewritingListener{Listener: ln, rewrite: MoveUIDAfterLiteral})
	default:
		go s.srv.Serve(ln)
	}
	if opts.TLS {
		tln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		s.tlsLn = tls.NewListener(tln, tlsCfg)
		go s.srv.Serve(s.tlsLn)
	}
	return s, nil
}

// Addr is host:port for plaintext (and STARTTLS when Options.TLS).
func (s *Server) Addr() string {
	return s.ln.Addr().String()
}

// TLSAddr is host:port for implicit TLS; "" without Options.TLS.
func (s *Server) TLSAddr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// CertPool trusts the server's self-signed certificate (Options.TLS).
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// TLSConfig is a client configuration that trusts the server.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.pool, ServerName: "127.0.0.1"}
}

// Close stops the server.
func (s *Server) Close() error {
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	return s.srv.Close()
}

func (s *Server) user(name string) (*user, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	if u == nil {
		return nil, fmt.Errorf("imapserver: no user %q", name)
	}
	return u, nil
}

// createFolder creates a folder (stored name) and its parents, subscribed.
func (s *Server) createFolder(u *user, name string) error {
	parts := strings.Split(name, "/")
	for i := 1; i <= len(parts); i++ {
		n := strings.Join(parts[:i], "/")
		if strings.EqualFold(n, "INBOX") {
			continue
		}
		u.mu.Lock()
		_, ok := u.folders[n]
		u.mu.Unlock()
		if ok {
			continue
		}
		if err := u.create(n); err != nil && !isAlreadyExists(err) {
			return err
		}
		u.mu.Lock()
		u.folders[n] = true
		u.mu.Unlock()
	}
	return nil
}

func isAlreadyExists(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists
}

// AddMessage stores a message for user in folder ("/"-separated, created
// with its parents when missing) with flags and INTERNALDATE date.
func (s *Server) AddMessage(userName, folder string, flags []string, date time.Time, body []byte) error {
	u, err := s.user(userName)
	if err != nil {
		return err
	}
	if strings.EqualFold(folder, "INBOX") {
		folder = "INBOX"
	}
	if err := s.createFolder(u, folder); err != nil {
		return err
	}
	var fl []imap.Flag
	for _, f := range flags {
		fl = append(fl, imap.Flag(f))
	}
	mb, err := u.mailbox(folder)
	if err != nil {
		return err
	}
	mb.add(bytes.Clone(body), fl, date)
	u.alsoInAllMail(s, folder, bytes.Clone(body), fl, date)
	return nil
}
