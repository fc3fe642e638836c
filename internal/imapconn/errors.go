package imapconn

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// ClassOfResponse returns the transfer class of a tagged NO or BAD answer,
// from its response code: the server is busy or going away → Temporary;
// the account cannot go on (authentication, quota, limits) → Fatal; the
// one message cannot be handled ([TOOBIG], [NONEXISTENT], [PARSE],
// [CANNOT]) → PerMessage. A NO without a known code is Fatal for commands
// other than APPEND (see ClassOfAppend), so nothing unknown is retried
// forever. docs/architecture.md ("Error classes") lists the answers seen
// from real servers.
func ClassOfResponse(e *imap.Error) transfer.Class {
	if e.Type == imap.StatusResponseTypeBye {
		return transfer.Temporary
	}
	if _, ok := throttled(e); ok {
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

// ClassOfAppend is ClassOfResponse for a refused APPEND. A NO without a
// known code, and [LIMIT], refuse that one message: servers use them for
// content or a size they will not store (Dovecot's quota_max_mail_size
// answers "NO [LIMIT] Mail size is larger than the maximum size allowed by
// server configuration"), so the run goes on with the others.
func ClassOfAppend(e *imap.Error) transfer.Class {
	if _, ok := throttled(e); ok {
		return transfer.Temporary
	}
	if e.Code == imap.ResponseCodeLimit || e.Code == "" && e.Type == imap.StatusResponseTypeNo {
		return transfer.PerMessage
	}
	return ClassOfResponse(e)
}

// AppendRefusal classifies err, which carries the server's refusal e of an
// APPEND, with ClassOfAppend; an [OVERQUOTA] refusal also wraps
// transfer.ErrOverQuota, so the run can say the account is full.
func AppendRefusal(e *imap.Error, err error) error {
	return transfer.Classify(ClassOfAppend(e), withBackoff(e, withQuota(e, err)))
}

// suggestedBackoff is Microsoft 365's way of saying how long to wait:
// "NO Request is throttled. Suggested Backoff Time: 150 milliseconds" (also
// "ms", seconds).
var suggestedBackoff = regexp.MustCompile(`(?i)backoff time:\s*(\d+)\s*(ms|milliseconds?|s|seconds?)\b`)

// throttled reports whether e is a throttling answer ([THROTTLED], or a
// text that says the request is throttled), and the wait it suggests (0
// when none).
func throttled(e *imap.Error) (time.Duration, bool) {
	if e.Code != "THROTTLED" && !strings.Contains(strings.ToLower(e.Text), "throttl") {
		return 0, false
	}
	m := suggestedBackoff.FindStringSubmatch(e.Text)
	if m == nil {
		return 0, true
	}
	n, _ := strconv.Atoi(m[1])
	unit := time.Millisecond
	if strings.HasPrefix(strings.ToLower(m[2]), "s") {
		unit = time.Second
	}
	// A server asking for hours is not taken at its word: the run's own
	// backoff and its bound on retries still apply.
	return min(time.Duration(n)*unit, 5*time.Minute), true
}

// withBackoff makes err a transfer.RetryAfterError when e is a throttling
// answer that names a wait.
func withBackoff(e *imap.Error, err error) error {
	if d, ok := throttled(e); ok && d > 0 {
		return &transfer.RetryAfterError{After: d, Err: err}
	}
	return err
}

// withQuota wraps transfer.ErrOverQuota around err when e is [OVERQUOTA].
func withQuota(e *imap.Error, err error) error {
	if e.Code == imap.ResponseCodeOverQuota {
		return fmt.Errorf("%w: %w", transfer.ErrOverQuota, err)
	}
	return err
}

// Refusal is a tagged NO or BAD as the user should read it: "NO [CANNOT]
// Character not allowed in mailbox name: '.'", without go-imap's "imap:"
// prefix and without the timing Dovecot appends to every tagged answer
// (" (0.001 + 0.000 secs)."), which would make the same refusal read
// differently each time. It unwraps to the *imap.Error.
type Refusal struct{ E *imap.Error }

func (r Refusal) Error() string {
	s := string(r.E.Type)
	if r.E.Code != "" {
		s += " [" + string(r.E.Code) + "]"
	}
	if text := dovecotTiming.ReplaceAllString(r.E.Text, ""); text != "" {
		s += " " + text
	}
	return s
}

func (r Refusal) Unwrap() error { return r.E }

var dovecotTiming = regexp.MustCompile(` \([0-9.]+ \+ [0-9.]+(?: \+ [0-9.]+)? secs\)\.$`)

// IsResponse reports whether err is the server's answer to a command (a
// tagged NO or BAD) rather than a broken connection, which leaves the
// connection usable.
func IsResponse(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye
}

// ErrTimeout is wrapped in the error of a command the watchdog ended. It
// is account.ErrNoAnswer, which POP3 uses too, so a caller can tell a
// silent server from others without knowing the protocol.
var ErrTimeout = account.ErrNoAnswer

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
		return transfer.Classify(class, withBackoff(ie, withQuota(ie, fmt.Errorf("imap %s: %s: %w", server, what, Refusal{ie}))))
	}
	// Anything else is the connection itself: a drop, a reset, or a
	// response the library could not parse (which makes it close the
	// connection). A fresh connection may do better.
	c.markBroken()
	return transfer.TemporaryError(fmt.Errorf("imap %s: %s: connection lost: %w", server, what, err))
}
