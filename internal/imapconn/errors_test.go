package imapconn

import (
	"errors"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// The answers of real servers (docs/architecture.md, "Error classes") and
// the class each gets, for APPEND and for other commands.
func TestClassOfServerAnswers(t *testing.T) {
	no := func(code imap.ResponseCode, text string) *imap.Error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	for _, c := range []struct {
		answer         *imap.Error
		append, others transfer.Class
	}{
		{no(imap.ResponseCodeLimit, "Mail size is larger than the maximum size allowed by server configuration"), transfer.PerMessage, transfer.Fatal},
		{no(imap.ResponseCodeTooBig, "Message too large"), transfer.PerMessage, transfer.PerMessage},
		{no("", "Message contains invalid header"), transfer.PerMessage, transfer.Fatal},
		{no(imap.ResponseCodeOverQuota, "Quota exceeded (mailbox for user is full)"), transfer.Fatal, transfer.Fatal},
		{no(imap.ResponseCodeUnavailable, "Internal error occurred"), transfer.Temporary, transfer.Temporary},
		{no(imap.ResponseCodeInUse, "Mailbox is locked"), transfer.Temporary, transfer.Temporary},
		{&imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down."}, transfer.Temporary, transfer.Temporary},
		{no(imap.ResponseCodeCannot, "Character not allowed in mailbox name: '.'"), transfer.PerMessage, transfer.PerMessage},
	} {
		if got := ClassOfAppend(c.answer); got != c.append {
			t.Errorf("APPEND %v: class %v, want %v", c.answer, got, c.append)
		}
		if got := ClassOfResponse(c.answer); got != c.others {
			t.Errorf("%v: class %v, want %v", c.answer, got, c.others)
		}
	}
}

func TestAppendRefusalOverQuota(t *testing.T) {
	ie := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded (mailbox for user is full) (0.001 + 0.000 secs)."}
	err := AppendRefusal(ie, Refusal{ie})
	if !errors.Is(err, transfer.ErrOverQuota) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("err = %v (class %v), want Fatal wrapping ErrOverQuota", err, transfer.ClassOf(err))
	}
	want := "the destination account is over its quota: NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"
	if err.Error() != want {
		t.Errorf("text %q, want %q (without Dovecot's timing)", err.Error(), want)
	}
	var back *imap.Error
	if !errors.As(err, &back) || back != ie {
		t.Errorf("the server's answer is not in the error chain")
	}
}
