package imapconn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// xoauth2Client is the SASL XOAUTH2 mechanism (Google, Microsoft), which
// go-sasl does not implement. On failure the server sends a JSON error as a
// challenge and waits for one more client response before it answers NO.
// Google describes that response as empty, but go-imap sends an empty
// continuation as "=", which is valid only as an initial response: Dovecot
// answers it with BAD ("Invalid base64 data in continued response") and the
// server's refusal is lost. The %x01 dummy that RFC 7628 prescribes for
// OAUTHBEARER is what the server ignores either way, so it gets the NO.
type xoauth2Client struct {
	user, token string
	failure     string
}

func (x *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	x.failure = string(challenge)
	return []byte{0x01}, nil
}

// oauthBearerClient wraps go-sasl's OAUTHBEARER client, whose Next returns
// an error on the server's error challenge without sending the %x01 reply
// RFC 7628 requires; the server would then take our next command as the
// SASL response. Answering %x01 lets the server end the exchange with NO.
type oauthBearerClient struct {
	sasl.Client
	failure string
}

func (o *oauthBearerClient) Next(challenge []byte) ([]byte, error) {
	resp, err := o.Client.Next(challenge)
	if err != nil {
		o.failure = string(challenge)
		return []byte{0x01}, nil
	}
	return resp, nil
}

// oauth2Token runs the credentials' token function, if there is one, before
// the connection is made: a token command may take its time (it retries
// when it fails on a reconnect), and neither the watchdog nor the server's
// patience with a client that has not logged in should be spent on it.
func (c *Conn) oauth2Token(ctx context.Context) (string, error) {
	creds := c.opts.Credentials
	if creds.OAuth2Token == nil {
		return "", nil
	}
	token, err := creds.OAuth2Token(ctx)
	if err != nil {
		return "", transfer.FatalError(fmt.Errorf("imap %s: getting an OAuth2 token: %w", c.opts.Server(), err))
	}
	return token, nil
}

// login authenticates c with the credentials of its options, using token
// (from oauth2Token) when the credentials have a token function. A
// refusal is Fatal and names the server and user; the caller closes the
// connection.
func (c *Conn) login(ctx context.Context, token string) error {
	creds := c.opts.Credentials
	caps, err := c.capabilities(ctx)
	if err != nil {
		return err
	}
	c.preAuth = caps
	host := hostOf(c.opts.Addr)
	var (
		mech    string
		failure func() string
	)
	end := c.Begin(ctx)
	switch {
	case creds.OAuth2Token != nil:
		switch {
		case caps.Has(imap.AuthCap(sasl.OAuthBearer)):
			mech = sasl.OAuthBearer
			cl := &oauthBearerClient{Client: sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{
				Username: creds.User, Token: token, Host: host,
			})}
			failure = func() string { return cl.failure }
			err = c.C.Authenticate(cl)
		case caps.Has(imap.AuthCap("XOAUTH2")):
			mech = "XOAUTH2"
			cl := &xoauth2Client{user: creds.User, token: token}
			failure = func() string { return cl.failure }
			err = c.C.Authenticate(cl)
		default:
			end()
			return transfer.FatalError(fmt.Errorf("imap %s: the server offers neither OAUTHBEARER nor XOAUTH2 (it offers %s); use a password",
				c.opts.Server(), mechList(caps)))
		}
	case creds.Password != nil:
		var pw string
		pw, err = creds.Password(ctx)
		if err != nil {
			end()
			return transfer.FatalError(fmt.Errorf("imap %s: reading the password: %w", c.opts.Server(), err))
		}
		switch {
		case caps.Has(imap.AuthCap(sasl.Plain)):
			mech = "AUTHENTICATE PLAIN"
			err = c.C.Authenticate(sasl.NewPlainClient("", creds.User, pw))
		case caps.Has(imap.CapLoginDisabled):
			end()
			return transfer.FatalError(fmt.Errorf("imap %s: the server does not allow a password login on this connection (LOGINDISABLED; it offers %s); use TLS",
				c.opts.Server(), mechList(caps)))
		default:
			mech = "LOGIN"
			err = c.C.Login(creds.User, pw).Wait()
		}
	default:
		end()
		return transfer.FatalError(fmt.Errorf("imap %s: no password or OAuth2 token given for user %q", c.opts.Addr, creds.User))
	}
	end()
	if err == nil {
		return nil
	}
	if c.wd.Fired() || !IsResponse(err) {
		return c.classify("login ("+mech+")", err)
	}
	detail := ""
	if failure != nil && failure() != "" {
		detail = " (" + account.OAuth2Refusal(failure()) + ")"
	}
	var ie *imap.Error
	errors.As(err, &ie)
	// A refused login is final, whatever code the server gives, except a
	// server saying it is unavailable for now: retrying would only lock the
	// account.
	class := transfer.Fatal
	if ie.Code == imap.ResponseCodeUnavailable || ie.Code == imap.ResponseCodeInUse {
		class = transfer.Temporary
	}
	return transfer.Classify(class, fmt.Errorf("imap server %s: login as user %q with %s failed: %w%s; check the user name and password (or token)",
		c.opts.Addr, creds.User, mech, err, detail))
}

func mechList(caps imap.CapSet) string {
	m := caps.AuthMechanisms()
	if len(m) == 0 {
		return "no SASL mechanisms"
	}
	return strings.Join(m, ", ")
}
