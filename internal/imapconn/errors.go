package imapconn

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// ClassOfResponse returns the transfer class of a tagged NO or BAD answer,
// from its response code: the server is busy or going away → Temporary;
// the account cannot go on (authentication, quota, limits) → Fatal; the
// one message cannot be handled ([TOOBIG], [NONEXISTENT], [PARSE],
// [CANNOT]) → PerMessage. A NO without a known code is Fatal for commands
// other than APPEND (see ClassOfAppend), so nothing unknown is retried
// forever.
func ClassOfResponse(e *imap.Error) transfer.Class {
	if e.Type == imap.StatusResponseTypeBye {
		return transfer.Temporary
	}
	switch e.Code {
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeServerBug:
		return transfer.Temporary
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed,
		imap.ResponseCodeExpired, imap.ResponseCodeOverQuota, imap.ResponseCodeLimit,
		imap.ResponseCodeNoPerm, imap.ResponseCodePrivacyRequired, imap.ResponseCodeContactAdmin:
		return transfer.Fatal
	case imap.ResponseCodeTooBig, imap.ResponseCodeNonExistent, imap.ResponseCodeParse,
		imap.ResponseCodeCannot, imap.ResponseCodeCorruption, imap.ResponseCodeUnknownCTE:
		return transfer.PerMessage
	}
	return transfer.Fatal
}

// ClassOfAppend is ClassOfResponse for a refused APPEND: a NO without a
// known code refuses that one message (servers use it for content they
// will not store), so the run goes on with the others.
func ClassOfAppend(e *imap.Error) transfer.Class {
	if e.Code == "" && e.Type == imap.StatusResponseTypeNo {
		return transfer.PerMessage
	}
	return ClassOfResponse(e)
}

// IsResponse reports whether err is the server's answer to a command (a
// tagged NO or BAD) rather than a broken connection, which leaves the
// connection usable.
func IsResponse(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye
}

// ErrTimeout is wrapped in the error of a command the watchdog ended.
var ErrTimeout = errors.New("no answer from the server")

// classify turns the error of a command on c into a classified error that
// names the server and what was being done, and marks c broken unless the
// error was a plain answer from the server.
func (c *Conn) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	server := c.opts.Server()
	if c.wd.Fired() {
		c.markBroken()
		return transfer.TemporaryError(fmt.Errorf("imap %s: %s: %w within %v; connection closed", server, what, ErrTimeout, c.opts.timeout()))
	}
	if cerr := c.ctxErr(); cerr != nil {
		c.markBroken()
		return fmt.Errorf("imap %s: %s: %w", server, what, cerr)
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		class := ClassOfResponse(ie)
		if ie.Type == imap.StatusResponseTypeBye {
			c.markBroken()
		}
		return transfer.Classify(class, fmt.Errorf("imap %s: %s: %w", server, what, err))
	}
	// Anything else is the connection itself: a drop, a reset, or a
	// response the library could not parse (which makes it close the
	// connection). A fresh connection may do better.
	c.markBroken()
	return transfer.TemporaryError(fmt.Errorf("imap %s: %s: connection lost: %w", server, what, err))
}
