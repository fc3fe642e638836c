package transfer

import (
	"errors"
	"fmt"
	"strings"
)

// Class says what the pipeline does with an error.
type Class int

const (
	// Fatal stops the run cleanly: authentication, quota, disk full, a
	// journal write. It is the class of any error nobody classified.
	Fatal Class = iota
	// Temporary is retried with backoff on a fresh connection, resuming
	// where the stream stopped: a dropped connection, a timeout, BYE,
	// [UNAVAILABLE], [IN-USE].
	Temporary
	// PerMessage is reported, the message is counted as failed and the run
	// goes on (exit code 3): [TOOBIG], a parse failure, a vanished UID.
	PerMessage
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case PerMessage:
		return "per-message"
	default:
		return "fatal"
	}
}

// classified carries a Class on an error without changing its text.
type classified struct {
	class Class
	err   error
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }

// Classify marks err with class c. A nil err stays nil.
func Classify(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: c, err: err}
}

// TemporaryError marks err as Temporary.
func TemporaryError(err error) error { return Classify(Temporary, err) }

// PerMessageError marks err as PerMessage.
func PerMessageError(err error) error { return Classify(PerMessage, err) }

// FatalError marks err as Fatal, overriding any class found deeper in it.
func FatalError(err error) error { return Classify(Fatal, err) }

// ClassOf returns the outermost class marked on err; unmarked errors are
// Fatal, so nothing unknown is silently retried or skipped.
func ClassOf(err error) Class {
	var c *classified
	if errors.As(err, &c) {
		return c.class
	}
	return Fatal
}

// MessageError names the message an error belongs to, so reports say which
// folder and message failed.
type MessageError struct {
	// Folder is the source folder.
	Folder string
	// ID is the message's ID in the source folder; "" when a whole folder
	// failed.
	ID string
	// Dest is the destination folder, when the failure happened there.
	Dest string
	// Subject is the message's subject, when its header was read.
	Subject string
	Err     error
}

// Error names the message once, each part labelled: source folder, message
// ID (and subject), destination folder, then the cause.
func (e *MessageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "source folder %q", e.Folder)
	if e.ID != "" {
		fmt.Fprintf(&b, ", message %s", e.ID)
		if e.Subject != "" {
			fmt.Fprintf(&b, " (subject %q)", e.Subject)
		}
	}
	if e.Dest != "" {
		fmt.Fprintf(&b, ", destination folder %q", e.Dest)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// cause is err shown without the *MessageError wrappers a store put around
// it, as the run names the message itself, once. It still unwraps to err, so
// its class and sentinels (ErrOverQuota) are kept.
func cause(err error) error {
	shown := err
	for {
		var me *MessageError
		if !errors.As(shown, &me) {
			break
		}
		shown = me.Err
	}
	if shown == err {
		return err
	}
	return &restated{shown: shown, err: err}
}

// restated shows one error and unwraps to another.
type restated struct{ shown, err error }

func (e *restated) Error() string { return e.shown.Error() }
func (e *restated) Unwrap() error { return e.err }

func (e *MessageError) Unwrap() error { return e.Err }

// ErrOverQuota is wrapped in the error of a destination that refused a
// message because the account is full (IMAP [OVERQUOTA]). It is Fatal:
// every further message would be refused the same way, so the run stops
// and says how much it copied before.
var ErrOverQuota = errors.New("the destination account is over its quota")

// FolderRefusedError is a destination that refused to create a folder
// (IMAP: NO [CANNOT] to CREATE, such as Dovecot's "Character not allowed in
// mailbox name"). It is PerMessage: the messages of that folder fail, each
// reported, and the other folders go on. Sinks return it for every message
// of the folder without asking the server again, so a caller can recognise
// the folder (errors.As) and store it under another name.
type FolderRefusedError struct {
	// Folder is the destination folder (transfer name).
	Folder string
	// Server names the destination, e.g. "imap alice@host:993".
	Server string
	// Reason is the server's answer, e.g. "NO [CANNOT] Character not
	// allowed in mailbox name: '.'".
	Reason string
	Err    error
}

func (e *FolderRefusedError) Error() string {
	return fmt.Sprintf("%s refused to create folder %q: %s", e.Server, e.Folder, e.Reason)
}

func (e *FolderRefusedError) Unwrap() error { return e.Err }
