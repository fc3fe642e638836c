package pop3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// ServerError is a -ERR reply. Code is the RFC 2449 / RFC 3206 response code
// without brackets ("IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM",
// "AUTH"), or "" when the server sent none.
type ServerError struct {
	Server  string // host:port
	Command string // the command refused, e.g. "PASS", "RETR"
	Code    string
	Text    string // the rest of the reply line
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("pop3 server %s: %s", e.Server, e.reply())
}

// reply is the refused command and the server's answer, e.g.
// "PASS: -ERR [AUTH] invalid password".
func (e *ServerError) reply() string {
	reply := e.Command + ": -ERR"
	if e.Code != "" {
		reply += " [" + e.Code + "]"
	}
	if e.Text != "" {
		reply += " " + e.Text
	}
	return reply
}

// contextError puts a sentence of context before an error that already
// names the server, without naming the server twice.
type contextError struct {
	msg string
	err error
}

func (e *contextError) Error() string { return e.msg }
func (e *contextError) Unwrap() error { return e.err }

// parseServerError splits the text after "-ERR " into a response code and
// the rest.
func parseServerError(server, command, text string) *ServerError {
	e := &ServerError{Server: server, Command: command, Text: strings.TrimSpace(text)}
	if strings.HasPrefix(e.Text, "[") {
		if end := strings.IndexByte(e.Text, ']'); end > 0 {
			e.Code = strings.ToUpper(e.Text[1:end])
			e.Text = strings.TrimSpace(e.Text[end+1:])
		}
	}
	return e
}

// temporaryCode reports whether a response code says "try again later".
// RFC 2449 and RFC 3206 codes are hierarchical, so "SYS/TEMP/FOO" counts as
// SYS/TEMP.
func temporaryCode(code string) bool {
	for _, c := range []string{"IN-USE", "LOGIN-DELAY", "SYS/TEMP"} {
		if code == c || strings.HasPrefix(code, c+"/") {
			return true
		}
	}
	return false
}

// classify marks a ServerError with the class the pipeline needs.
//   - [IN-USE], [LOGIN-DELAY], [SYS/TEMP]: another session holds the
//     maildrop or the server is busy; retried.
//   - [AUTH], [SYS/PERM], and a login refused without a code: fatal, so a
//     wrong password is reported once instead of retried into a lockout.
//   - without a code, for a command about one message (RETR, TOP, DELE): the
//     message is the problem; per message.
//   - anything else: fatal.
func classify(e *ServerError) error {
	switch {
	case temporaryCode(e.Code):
		return transfer.TemporaryError(e)
	case e.Code != "":
		return transfer.FatalError(e)
	}
	switch e.Command {
	case "RETR", "TOP", "DELE":
		return transfer.PerMessageError(e)
	}
	return transfer.FatalError(e)
}

// errUnknownResponse is the prefix go-pop3 gives a reply that is neither
// +OK nor -ERR.
const errUnknownResponse = "unknown response"

// errNoInfo is go-pop3's text for a bare "-ERR".
const errNoInfo = "unknown error (no info specified in response)"

// connError wraps a failure of the connection itself: always temporary,
// since a fresh connection may well work.
func connError(server, command string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return transfer.TemporaryError(fmt.Errorf("pop3 server %s: %s: %w (timed out: %w)", server, command, account.ErrNoAnswer, err))
	}
	return transfer.TemporaryError(fmt.Errorf("pop3 server %s: %s: connection failed: %w", server, command, err))
}

// libraryError turns an error from a go-pop3 call into a classified error:
// a cancelled context stays as it is, a failed connection is temporary, a
// garbled reply is temporary (the stream is out of step; a new connection
// starts clean), and a -ERR reply becomes a classified *ServerError.
func libraryError(ctx context.Context, dc *deadlineConn, server, command string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pop3 server %s: %s: %w", server, command, ctxErr)
	}
	if ioErr := dc.ioErr(); ioErr != nil {
		return connError(server, command, ioErr)
	}
	text := err.Error()
	if strings.HasPrefix(text, errUnknownResponse) {
		return transfer.TemporaryError(fmt.Errorf("pop3 server %s: %s: unexpected reply: %w", server, command, err))
	}
	if text == errNoInfo {
		text = ""
	}
	return classify(parseServerError(server, command, text))
}
