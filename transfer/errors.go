package transfer

import (
	"errors"
	"fmt"
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
	Folder string
	ID     string
	Err    error
}

func (e *MessageError) Error() string {
	if e.ID == "" {
		// A whole folder failed (it could not be listed).
		return fmt.Sprintf("folder %q: %v", e.Folder, e.Err)
	}
	return fmt.Sprintf("folder %q, message %s: %v", e.Folder, e.ID, e.Err)
}

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
