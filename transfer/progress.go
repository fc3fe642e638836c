package transfer

// EventKind says what happened.
type EventKind int

const (
	// EventPlanned: a folder was planned. Folder, Count (messages to copy)
	// and Bytes (their estimated size) are set; Text names the destination
	// folder.
	EventPlanned EventKind = iota
	// EventCopied: Message was stored in the sink and journaled. Bytes is
	// its size.
	EventCopied
	// EventSkipped: Message was not copied; Text says why ("already at
	// destination", "filtered", …). Count is how many when Message is nil.
	EventSkipped
	// EventFailed: Message (or, when nil, Folder) failed; Err says why.
	EventFailed
	// EventRetry: a temporary error is being retried; Err says why, Count
	// is the attempt number.
	EventRetry
	// EventWarning: something the user should know that does not fail the
	// run (a keyword a store cannot keep, a UIDVALIDITY change).
	EventWarning
	// EventDeleted: Count messages were deleted from the source folder.
	EventDeleted
	// EventPlanMessage: in a dry run, Message would be copied to Text.
	EventPlanMessage
	// EventFlagsSynced: Count messages already copied got the flags they
	// have now at the source; Text names the destination folder. In a dry
	// run, Count would.
	EventFlagsSynced
	// EventFolderCreated: the destination folder Text was created, empty,
	// for source folder Folder.
	EventFolderCreated
	// EventExtraneous: Count copies in destination folder Text of messages
	// gone from source folder Folder were deleted (in a dry run: would be).
	EventExtraneous
)

// Event is one thing Run reports.
type Event struct {
	Kind    EventKind
	Folder  string
	Message *Message
	Count   int
	Bytes   int64
	Err     error
	Text    string
	// Subject is the message's Subject, printable and shortened, in an
	// EventCopied, read from the header as the body was spooled; "" when
	// the header has none.
	Subject string
}

// Progress receives events from Run. Event is called from several
// goroutines at once and must not block for long: it sits on the copy path.
type Progress interface {
	Event(e Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Event)

// Event calls f(e).
func (f ProgressFunc) Event(e Event) { f(e) }

var _ Progress = ProgressFunc(nil)

// nopProgress discards events.
type nopProgress struct{}

func (nopProgress) Event(Event) {}
