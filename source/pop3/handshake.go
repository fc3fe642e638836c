package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/readbuf"
	"github.com/mailferry/mailferry/transfer"
)

// maxReplyLine bounds a reply line read during the authorization exchange.
const maxReplyLine = 4096

// handshake is the AUTHORIZATION state of a POP3 session, done here rather
// than by go-pop3, which has no STLS, CAPA or SASL: read the greeting, learn
// the capabilities, upgrade with STLS, and log in.
type handshake struct {
	server string
	conn   net.Conn // the raw deadline connection, or TLS on top of it
	r      *bufio.Reader
	caps   map[string]string // capability name (upper case) → arguments
	// capaOK says whether the server answered CAPA at all.
	capaOK bool
}

// readLine reads one reply line without its line break.
func (h *handshake) readLine(command string) (string, error) {
	var line []byte
	for {
		chunk, isPrefix, err := h.r.ReadLine()
		if err != nil {
			return "", connError(h.server, command, err)
		}
		line = append(line, chunk...)
		if len(line) > maxReplyLine {
			return "", transfer.TemporaryError(fmt.Errorf("pop3 server %s: %s: reply line too long", h.server, command))
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// send writes one command line.
func (h *handshake) send(command, line string) error {
	if _, err := h.conn.Write([]byte(line + "\r\n")); err != nil {
		return connError(h.server, command, err)
	}
	return nil
}

// status reads a one-line reply and turns -ERR into a classified
// *ServerError. It returns the text after "+OK".
func (h *handshake) status(command string) (string, error) {
	line, err := h.readLine(command)
	if err != nil {
		return "", err
	}
	return h.parseStatus(command, line)
}

func (h *handshake) parseStatus(command, line string) (string, error) {
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return "", classify(parseServerError(h.server, command, strings.TrimPrefix(line, "-ERR")))
	}
	return "", transfer.TemporaryError(fmt.Errorf("pop3 server %s: %s: unexpected reply %q", h.server, command, truncate(line)))
}

// capa asks for the capabilities. A server without CAPA (RFC 1939 only)
// leaves caps empty and capaOK false.
func (h *handshake) capa() error {
	if err := h.send("CAPA", "CAPA"); err != nil {
		return err
	}
	line, err := h.readLine("CAPA")
	if err != nil {
		return err
	}
	h.caps = map[string]string{}
	h.capaOK = false
	if _, err := h.parseStatus("CAPA", line); err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			return nil // no CAPA: an RFC 1939 server
		}
		return err
	}
	h.capaOK = true
	for {
		line, err := h.readLine("CAPA")
		if err != nil {
			return err
		}
		if line == "." {
			return nil
		}
		name, args, _ := strings.Cut(line, " ")
		h.caps[strings.ToUpper(name)] = args
	}
}

// has reports whether the server announced a capability.
func (h *handshake) has(name string) bool {
	_, ok := h.caps[name]
	return ok
}

// mechanisms returns the SASL mechanisms from CAPA, upper case.
func (h *handshake) mechanisms() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(h.caps["SASL"]) {
		m[strings.ToUpper(f)] = true
	}
	return m
}

// startTLS upgrades the connection with STLS (RFC 2595).
func (h *handshake) startTLS(ctx context.Context, cfg *tls.Config) error {
	if h.capaOK && !h.has("STLS") {
		return transfer.FatalError(fmt.Errorf("pop3 server %s does not offer STLS; use pop3s:// for implicit TLS, or ?tls=none to allow a plaintext connection", h.server))
	}
	if err := h.send("STLS", "STLS"); err != nil {
		return err
	}
	if _, err := h.status("STLS"); err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			return transfer.FatalError(fmt.Errorf("pop3 server %s refused STLS (%w); use pop3s:// for implicit TLS, or ?tls=none to allow a plaintext connection", h.server, err))
		}
		return err
	}
	if h.r.Buffered() > 0 {
		// Bytes after the +OK and before the handshake would be injected
		// by someone on the path (CVE-2011-0411 style).
		return transfer.FatalError(fmt.Errorf("pop3 server %s: STLS: unexpected data before the TLS handshake", h.server))
	}
	tc := tls.Client(readbuf.New(h.conn), cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tlsError(h.server, err)
	}
	h.conn = tc
	h.r = bufio.NewReader(tc)
	// Capabilities may change after STLS (RFC 2595 §4); ask again.
	return h.capa()
}

// tlsError classifies a failed TLS handshake: a certificate problem is
// fatal (retrying will not fix it), anything else temporary.
func tlsError(server string, err error) error {
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &recErr) {
		return transfer.FatalError(fmt.Errorf("pop3 server %s: TLS handshake: %w", server, err))
	}
	return connError(server, "TLS handshake", err)
}

// login authenticates with the best method the server offers: XOAUTH2 or
// OAUTHBEARER when a token source is set, else SASL PLAIN, else USER/PASS.
func (h *handshake) login(ctx context.Context, creds account.Credentials) error {
	if err := checkLine("user name", creds.User); err != nil {
		return err
	}
	mechs := h.mechanisms()
	if creds.OAuth2Token != nil {
		token, err := creds.OAuth2Token(ctx)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("pop3 server %s: getting an OAuth2 token for %q: %w", h.server, creds.User, err))
		}
		switch {
		case mechs["XOAUTH2"]:
			return h.authenticate(creds.User, &xoauth2Client{user: creds.User, token: token})
		case mechs["OAUTHBEARER"]:
			return h.authenticate(creds.User, sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: creds.User, Token: token}))
		}
		if creds.Password == nil {
			return transfer.FatalError(fmt.Errorf("pop3 server %s offers neither XOAUTH2 nor OAUTHBEARER (SASL: %q), so an OAuth2 token cannot be used for %q", h.server, h.caps["SASL"], creds.User))
		}
	}
	if creds.Password == nil {
		return transfer.FatalError(fmt.Errorf("pop3 server %s: no password for %q", h.server, creds.User))
	}
	password, err := creds.Password(ctx)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("pop3 server %s: reading the password for %q: %w", h.server, creds.User, err))
	}
	if err := checkLine("password", password); err != nil {
		return err
	}
	if mechs["PLAIN"] {
		return h.authenticate(creds.User, sasl.NewPlainClient("", creds.User, password))
	}
	if err := h.send("USER", "USER "+creds.User); err != nil {
		return err
	}
	if _, err := h.status("USER"); err != nil {
		return loginError(h.server, creds.User, err, "")
	}
	if err := h.send("PASS", "PASS "+password); err != nil {
		return err
	}
	if _, err := h.status("PASS"); err != nil {
		return loginError(h.server, creds.User, err, "")
	}
	return nil
}

// authenticate runs one SASL exchange (RFC 5034). The initial response goes
// on the AUTH line when it keeps the line within 255 octets; otherwise it
// follows the server's first "+" continuation.
func (h *handshake) authenticate(user string, c sasl.Client) error {
	mech, ir, err := c.Start()
	if err != nil {
		return transfer.FatalError(fmt.Errorf("pop3 server %s: AUTH: %w", h.server, err))
	}
	command := "AUTH " + mech
	line := command
	pending := []byte(nil)
	if ir != nil {
		enc := base64.StdEncoding.EncodeToString(ir)
		if enc == "" {
			enc = "="
		}
		if len(line)+1+len(enc)+2 <= 255 {
			line += " " + enc
		} else {
			pending = ir
		}
	}
	if err := h.send(command, line); err != nil {
		return err
	}
	// The last challenge before a -ERR is, for the token mechanisms, the
	// server's JSON reason for refusing the token.
	var lastChallenge []byte
	for {
		reply, err := h.readLine(command)
		if err != nil {
			return err
		}
		if reply != "+" && !strings.HasPrefix(reply, "+ ") {
			if _, err := h.parseStatus(command, reply); err != nil {
				why := ""
				if (mech == "XOAUTH2" || mech == "OAUTHBEARER") && len(lastChallenge) > 0 {
					why = account.OAuth2Refusal(string(lastChallenge))
				}
				return loginError(h.server, user, err, why)
			}
			return nil
		}
		var resp []byte
		if pending != nil {
			resp, pending = pending, nil
		} else {
			challenge, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(reply, "+")))
			if err != nil {
				h.send(command, "*")
				return transfer.FatalError(fmt.Errorf("pop3 server %s: %s: bad challenge: %w", h.server, command, err))
			}
			lastChallenge = challenge
			resp, err = c.Next(challenge)
			if err != nil {
				// The server may still expect an answer to its error
				// challenge; an empty one makes it send -ERR.
				resp = []byte{}
			}
		}
		if err := h.send(command, base64.StdEncoding.EncodeToString(resp)); err != nil {
			return err
		}
	}
}

// loginError names the server and user in a failed login, and why the
// server refused when it said more than its -ERR line (why may be empty).
// A refusal without a temporary response code is fatal: retrying a wrong
// password only gets an account locked.
func loginError(server, user string, err error, why string) error {
	var se *ServerError
	if !errors.As(err, &se) {
		return err
	}
	reply := se.reply()
	if why != "" {
		reply += " (" + why + ")"
	}
	if temporaryCode(se.Code) {
		return transfer.TemporaryError(&contextError{
			msg: fmt.Sprintf("pop3 server %s: login as %q refused for now: %s", server, user, reply),
			err: se,
		})
	}
	return transfer.FatalError(&contextError{
		msg: fmt.Sprintf("pop3 server %s: login as %q failed (check the user name and password): %s", server, user, reply),
		err: se,
	})
}

// checkLine refuses a value that would end a command line early and let the
// rest be read as another command.
func checkLine(what, s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return transfer.FatalError(fmt.Errorf("pop3: the %s contains a line break or NUL, which POP3 cannot send", what))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// xoauth2Client is Google's XOAUTH2 SASL mechanism, which go-sasl does not
// carry. On failure the server sends a JSON error as a challenge, which is
// answered with an empty response to get the final -ERR.
type xoauth2Client struct{ user, token string }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}

var _ sasl.Client = (*xoauth2Client)(nil)
