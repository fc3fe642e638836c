package pop3server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// maxLine bounds a command line. RFC 2449 allows 255 octets, but AUTH
// responses carrying OAuth2 tokens are longer.
const maxLine = 8192

// session is one connection: AUTHORIZATION, then TRANSACTION once the
// maildrop is locked, then UPDATE on QUIT.
type session struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool

	user    string // from USER, waiting for PASS
	authed  bool
	drop    []stored // the session's fixed view; index = message number - 1
	deleted []bool
}

func (s *session) run() {
	s.r = bufio.NewReader(s.conn)
	s.w = bufio.NewWriter(s.conn)
	defer func() {
		if s.authed {
			s.srv.unlock(nil) // no clean QUIT: nothing is deleted
		}
	}()
	s.reply("+OK mailferry test POP3 server ready")
	for {
		line, err := s.readLine()
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if s.srv.opts.OnCommand != nil {
			s.srv.opts.OnCommand(cmd, arg)
		}
		if !s.handle(cmd, arg) {
			return
		}
	}
}

func (s *session) readLine() (string, error) {
	var line []byte
	for {
		chunk, isPrefix, err := s.r.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, chunk...)
		if len(line) > maxLine {
			s.reply("-ERR line too long")
			return "", io.ErrShortBuffer
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (s *session) reply(format string, args ...any) {
	fmt.Fprintf(s.w, format+"\r\n", args...)
	s.w.Flush()
}

// handle runs one command; it returns false when the session ends.
func (s *session) handle(cmd, arg string) bool {
	switch cmd {
	case "CAPA":
		s.capa()
		return true
	case "QUIT":
		return s.quit()
	case "NOOP":
		if !s.authed {
			s.reply("-ERR not logged in")
			return true
		}
		s.reply("+OK")
		return true
	}
	if !s.authed {
		return s.authorization(cmd, arg)
	}
	s.transaction(cmd, arg)
	return true
}

func (s *session) capa() {
	var b strings.Builder
	b.WriteString("+OK capability list follows\r\n")
	b.WriteString("TOP\r\nUSER\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n")
	if !s.srv.opts.NoUIDL {
		b.WriteString("UIDL\r\n")
	}
	if s.srv.opts.TLSConfig != nil && !s.tls && !s.authed {
		b.WriteString("STLS\r\n")
	}
	if !s.srv.opts.NoSASL {
		b.WriteString("SASL PLAIN")
		if s.srv.opts.OAuth2Token != "" {
			b.WriteString(" XOAUTH2")
		}
		b.WriteString("\r\n")
	}
	b.WriteString(".")
	s.reply("%s", b.String())
}

func (s *session) authorization(cmd, arg string) bool {
	switch cmd {
	case "STLS":
		if s.srv.opts.TLSConfig == nil || s.tls {
			s.reply("-ERR STLS not available")
			return true
		}
		s.reply("+OK begin TLS negotiation")
		tc := tls.Server(s.conn, s.srv.opts.TLSConfig)
		if err := tc.Handshake(); err != nil {
			return false
		}
		s.srv.mu.Lock()
		s.srv.conns[tc] = true
		s.srv.mu.Unlock()
		s.conn = tc
		s.tls = true
		s.r = bufio.NewReader(tc)
		s.w = bufio.NewWriter(tc)
		s.user = ""
	case "USER":
		s.user = arg
		s.reply("+OK")
	case "PASS":
		user := s.user
		s.user = ""
		s.login(user, arg == s.srv.opts.Password)
	case "AUTH":
		s.auth(arg)
	default:
		s.reply("-ERR unknown command in AUTHORIZATION state")
	}
	return true
}

// auth runs AUTH PLAIN or AUTH XOAUTH2, with or without an initial response.
func (s *session) auth(arg string) {
	mech, ir, hasIR := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	if s.srv.opts.NoSASL || (mech != "PLAIN" && (mech != "XOAUTH2" || s.srv.opts.OAuth2Token == "")) {
		s.reply("-ERR unsupported mechanism")
		return
	}
	if !hasIR {
		s.reply("+ ")
		line, err := s.readLine()
		if err != nil {
			return
		}
		ir = line
	}
	if ir == "*" {
		s.reply("-ERR authentication cancelled")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(ir)
	if err != nil {
		s.reply("-ERR invalid base64")
		return
	}
	switch mech {
	case "PLAIN":
		parts := strings.Split(string(raw), "\x00")
		ok := len(parts) == 3 && (parts[0] == "" || parts[0] == parts[1]) && parts[2] == s.srv.opts.Password
		user := ""
		if len(parts) == 3 {
			user = parts[1]
		}
		s.login(user, ok)
	case "XOAUTH2":
		want := "user=" + s.srv.opts.User + "\x01auth=Bearer " + s.srv.opts.OAuth2Token + "\x01\x01"
		if string(raw) != want {
			// RFC-less Google convention: a JSON error as a challenge,
			// answered by an empty line, then the failure.
			s.reply("+ %s", base64.StdEncoding.EncodeToString([]byte(`{"status":"401"}`)))
			if _, err := s.readLine(); err != nil {
				return
			}
			s.reply("-ERR [AUTH] invalid token")
			return
		}
		s.login(s.srv.opts.User, true)
	}
}

// login finishes authentication: check the credentials, inject a login
// fault, and lock the maildrop.
func (s *session) login(user string, passwordOK bool) {
	if f := s.srv.fault(func(f Faults) bool { return f.LoginError != "" }); f.LoginError != "" {
		s.reply("-ERR %s", f.LoginError)
		return
	}
	if user != s.srv.opts.User || !passwordOK {
		s.reply("-ERR [AUTH] invalid user name or password")
		return
	}
	drop, ok := s.srv.lock()
	if !ok {
		s.reply("-ERR [IN-USE] maildrop is locked by another session")
		return
	}
	s.authed = true
	s.drop = drop
	s.deleted = make([]bool, len(drop))
	s.reply("+OK maildrop locked and ready")
}

// message returns the message numbered by arg, or replies -ERR.
func (s *session) message(arg string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > len(s.drop) {
		s.reply("-ERR no such message")
		return 0, false
	}
	if s.deleted[n-1] {
		s.reply("-ERR message %d already deleted", n)
		return 0, false
	}
	return n - 1, true
}

func (s *session) transaction(cmd, arg string) {
	switch cmd {
	case "STAT":
		n, size := 0, 0
		for i, m := range s.drop {
			if !s.deleted[i] {
				n++
				size += len(m.body)
			}
		}
		s.reply("+OK %d %d", n, size)
	case "LIST", "UIDL":
		if cmd == "UIDL" && s.srv.opts.NoUIDL {
			s.reply("-ERR unknown command")
			return
		}
		value := func(i int) string {
			if cmd == "UIDL" {
				return s.drop[i].uid
			}
			return strconv.Itoa(len(s.drop[i].body))
		}
		if strings.TrimSpace(arg) != "" {
			i, ok := s.message(arg)
			if ok {
				s.reply("+OK %d %s", i+1, value(i))
			}
			return
		}
		var b strings.Builder
		b.WriteString("+OK\r\n")
		for i := range s.drop {
			if !s.deleted[i] {
				fmt.Fprintf(&b, "%d %s\r\n", i+1, value(i))
			}
		}
		b.WriteString(".")
		s.reply("%s", b.String())
	case "RETR":
		i, ok := s.message(arg)
		if ok {
			s.retr(s.drop[i].body)
		}
	case "TOP":
		num, lines, _ := strings.Cut(arg, " ")
		n, err := strconv.Atoi(strings.TrimSpace(lines))
		if err != nil || n < 0 {
			s.reply("-ERR bad line count")
			return
		}
		i, ok := s.message(num)
		if ok {
			s.w.WriteString("+OK\r\n")
			writeStuffed(s.w, top(s.drop[i].body, n))
			s.w.Flush()
		}
	case "DELE":
		i, ok := s.message(arg)
		if ok {
			s.deleted[i] = true
			s.reply("+OK message %d deleted", i+1)
		}
	case "RSET":
		for i := range s.deleted {
			s.deleted[i] = false
		}
		s.reply("+OK")
	default:
		s.reply("-ERR unknown command")
	}
}

// retr sends one message, applying the stall and drop faults.
func (s *session) retr(body []byte) {
	size := int64(len(body))
	// A fault counts only when it cuts this message short.
	f := s.srv.fault(func(f Faults) bool {
		return (f.StallRETRAfter > 0 && f.StallRETRAfter < size) || (f.DropRETRAfter > 0 && f.DropRETRAfter < size)
	})
	if f.StallRETRAfter <= 0 && f.DropRETRAfter <= 0 {
		fmt.Fprintf(s.w, "+OK %d octets\r\n", len(body))
		writeStuffed(s.w, body)
		s.w.Flush()
		return
	}
	var resp bytes.Buffer
	w := bufio.NewWriter(&resp)
	fmt.Fprintf(w, "+OK %d octets\r\n", len(body))
	writeStuffed(w, body)
	w.Flush()
	cut := f.StallRETRAfter
	if cut <= 0 || (f.DropRETRAfter > 0 && f.DropRETRAfter < cut) {
		cut = f.DropRETRAfter
	}
	s.w.Write(resp.Bytes()[:cut])
	s.w.Flush()
	if cut == f.DropRETRAfter {
		// The server ends the session: its lock goes with it before the
		// client can see the connection close, as a client that
		// reconnects at once would otherwise race the session's exit
		// and find the maildrop still locked.
		s.srv.unlock(nil)
		s.authed = false
		s.conn.Close()
		return
	}
	// Stall: say nothing more until the client gives up.
	io.Copy(io.Discard, s.conn)
	s.conn.Close()
}

// top returns the header block and the first n body lines of a
// network-form message.
func top(body []byte, n int) []byte {
	end := bytes.Index(body, []byte("\r\n\r\n"))
	if end < 0 {
		return body
	}
	i := end + 4
	for ; n > 0 && i < len(body); n-- {
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			return body
		}
		i += j + 1
	}
	return body[:i]
}

// quit ends the session; in TRANSACTION state a clean QUIT applies the
// deletions (the UPDATE state).
func (s *session) quit() bool {
	if !s.authed {
		s.reply("+OK bye")
		return false
	}
	if f := s.srv.fault(func(f Faults) bool { return f.QuitError != "" }); f.QuitError != "" {
		s.authed = false
		s.srv.unlock(nil)
		s.reply("-ERR %s", f.QuitError)
		return false
	}
	deleted := map[string]bool{}
	for i, d := range s.deleted {
		if d {
			deleted[s.drop[i].uid] = true
		}
	}
	s.authed = false
	s.srv.unlock(deleted)
	s.reply("+OK %d messages deleted, bye", len(deleted))
	return false
}
