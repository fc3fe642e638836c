package imapserver

import (
	"bytes"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

var _ goimapserver.SessionSASL = (*session)(nil)

var errBadToken = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid token"}

// AuthenticateMechanisms offers PLAIN, and OAUTHBEARER and XOAUTH2 when
// Options.OAuth2Tokens is set.
func (s *session) AuthenticateMechanisms() []string {
	if s.srv.opts.OAuth2Tokens == nil {
		return []string{sasl.Plain}
	}
	return []string{sasl.Plain, sasl.OAuthBearer, "XOAUTH2"}
}

func (s *session) Authenticate(mech string) (sasl.Server, error) {
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return goimapserver.ErrAuthFailed
			}
			return s.Login(username, password)
		}), nil
	case sasl.OAuthBearer:
		if s.srv.opts.OAuth2Tokens != nil {
			return &authFailed{sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
				if s.tokenLogin(o.Username, o.Token) != nil {
					return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
				}
				return nil
			})}, nil
		}
	case "XOAUTH2":
		if s.srv.opts.OAuth2Tokens != nil {
			return &xoauth2Server{s: s}, nil
		}
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

func (s *session) tokenLogin(username, token string) error {
	want, ok := s.srv.opts.OAuth2Tokens[username]
	u, err := s.srv.user(username)
	if !ok || err != nil || want != token {
		return errBadToken
	}
	s.user = u
	return nil
}

// xoauth2Server is the server side of XOAUTH2: on a bad token it sends a
// JSON error as a challenge, waits for the client's empty response and
// then fails.
type xoauth2Server struct {
	s      *session
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, errBadToken
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		switch {
		case bytes.HasPrefix(f, []byte("user=")):
			user = string(f[5:])
		case bytes.HasPrefix(f, []byte("auth=Bearer ")):
			token = string(f[12:])
		}
	}
	if user == "" || token == "" {
		return nil, true, errors.New("malformed XOAUTH2 response")
	}
	if x.s.tokenLogin(user, token) != nil {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.example.org/"}`), false, nil
	}
	return nil, true, nil
}

// authFailed answers a failed SASL exchange with NO [AUTHENTICATIONFAILED]
// (go-sasl's errors would become [SERVERBUG]).
type authFailed struct{ sasl.Server }

func (a *authFailed) Next(resp []byte) ([]byte, bool, error) {
	c, done, err := a.Server.Next(resp)
	if err != nil {
		err = errBadToken
	}
	return c, done, err
}
