package transfer

import (
	"context"
	"io"
	"time"
)

// Message is one message's metadata. Its body travels beside it as an
// io.Reader, so listing, filtering, planning and the journal work on
// metadata alone.
type Message struct {
	// Folder is the UTF-8 folder name with "/" as the hierarchy separator,
	// e.g. "Archive/2019". The inbox is always "INBOX".
	Folder string
	// ID is the message's stable identity inside its source folder:
	// "UIDVALIDITY.UID" for IMAP, the UIDL for POP3, the unique part of the
	// file name for Maildir, a content hash (plus ordinal) for mbox.
	ID string
	// Flags use IMAP spelling: \Seen \Answered \Flagged \Draft \Deleted,
	// $Forwarded and other keywords. Never \Recent.
	Flags []string
	// Date is the arrival time (IMAP INTERNALDATE). Sources fill it from the
	// best evidence they have (mtime, From_ line, Received: header); it is
	// zero only when nothing at all is known.
	Date time.Time
	// Size is an estimate when listed and the exact length of the body
	// when handed to a Sink (Body.Size).
	Size int64
	// VirtualSize is the size with CRLF line ends when the source knows it
	// without reading the body (IMAP RFC822.SIZE), else 0. With Key it lets
	// the plan recognise a message already at the destination without
	// fetching it.
	VirtualSize int64
	// Key is formats.IdentityKey of the header when the source read it
	// while listing, else "" (the plan then asks a Keyer or reads the body).
	Key string
	// CRLF reports the line-ending form of the body as the source delivers
	// it: true for network stores (IMAP, POP3), whose bodies use CRLF; false
	// for local archives, whose bodies are passed on exactly as stored. A
	// sink converts only when its own form differs (see formats.ToLF and
	// formats.ToCRLF), so local-to-local copies stay byte-identical.
	CRLF bool
}

// Folder describes one folder of a store.
type Folder struct {
	// Name is UTF-8 with "/" as separator; "INBOX" is the inbox.
	Name string
	// Role is the RFC 6154 special-use attribute when known: \Sent, \Trash,
	// \Drafts, \Junk, \Archive, \All, \Flagged; empty otherwise.
	Role string
	// Messages is the number of messages when cheaply known, else -1.
	Messages int
	// Bytes is the total size when cheaply known, else -1.
	Bytes int64
	// Subscription is whether the folder is subscribed, when the store
	// keeps that (IMAP: LIST-EXTENDED's \Subscribed).
	Subscription Subscription
	// State, when not "", changes whenever a message is added to or
	// removed from the folder (IMAP: UIDVALIDITY, UIDNEXT and MESSAGES
	// from LIST-STATUS), and with StateFlags also when a message's flags
	// change (HIGHESTMODSEQ, CONDSTORE). A run skips a folder whose state
	// is the one recorded when all of it was copied (see unchangedGroup).
	State      string
	StateFlags bool
}

// Source is a store messages are copied from.
//
// A Source may be used by several goroutines at once, but Fetch may be called
// concurrently only up to MaxFetchers (see Fetchers) times.
type Source interface {
	// Folders lists the folders of the store that can hold messages.
	Folders(ctx context.Context) ([]Folder, error)
	// List returns the metadata of every message in folder, without bodies.
	List(ctx context.Context, folder string) ([]Message, error)
	// Fetch streams the bodies of msgs (a subset of what List returned for
	// folder) and calls fn once per message, in an order the source
	// chooses. The reader is valid only until fn returns. The Message passed
	// to fn carries the exact Size of the reader. If fn returns an error,
	// Fetch stops and returns it. A message that vanished from the store is
	// reported as a PerMessage error wrapped in a *MessageError, and Fetch
	// goes on with the others.
	Fetch(ctx context.Context, folder string, msgs []Message, fn func(Message, io.Reader) error) error
	// Close releases connections and files.
	Close() error
}

// Body is a message body as a Sink receives it: the run's spool, which
// holds every body once between fetch and put. A sink reads it as often as
// it needs, from any offset (to learn its size in another line-ending form,
// to retry an APPEND, to compare a partial copy), so no sink spools again.
// *bytes.Reader and *strings.Reader are Bodies too.
type Body interface {
	io.ReaderAt
	// Size is the body's exact length in bytes.
	Size() int64
}

// BodyReader returns a reader of the whole body from its first byte.
func BodyReader(b Body) io.Reader { return io.NewSectionReader(b, 0, b.Size()) }

// Sink is a store messages are copied into.
type Sink interface {
	// Put stores one message in m.Folder, creating the folder when needed.
	// It is safe for concurrent use. When Put returns nil the message is
	// durable (on disk with fsync, or acknowledged by the server), unless
	// the sink is a Flusher, in which case it is durable after the next
	// successful Flush. body holds m.Size bytes in the form m.CRLF
	// describes; it is valid until Put returns.
	Put(ctx context.Context, m Message, body Body) error
	// Close flushes and releases the sink.
	Close() error
}

// Fetchers is an add-on interface for Source: how many Fetch calls may run
// at once (connections to a server, open files). A Source without it gets 1.
type Fetchers interface {
	MaxFetchers() int
}

// Deleter is an add-on interface for Source: removing messages that were
// copied (--delete-source). Run calls it only for messages that are durable
// in the sink and recorded in the journal.
type Deleter interface {
	Delete(ctx context.Context, folder string, msgs []Message) error
}

// FlagChanges is an add-on interface for Source: the messages of folder
// whose flags changed between two of its Folder.State values, when the two
// say that nothing else changed (IMAP: the same UIDVALIDITY, UIDNEXT and
// MESSAGES, and a greater HIGHESTMODSEQ, read with UID FETCH (FLAGS)
// (CHANGEDSINCE)). The messages carry ID and Flags only. ok is false when
// the states do not allow it; the folder is then listed in full.
type FlagChanges interface {
	ChangedFlags(ctx context.Context, folder, oldState, newState string) (msgs []Message, ok bool, err error)
}

// PutWorkers is an add-on interface for Sink: how many Put calls it can
// keep busy at once, when that is more than Options.Workers. A sink that
// stores the messages of concurrent Puts together (IMAP MULTIAPPEND: one
// command, one commit on the server) asks for more; their spools share
// the same memory (Options.SpoolMemory).
type PutWorkers interface {
	PutWorkers() int
}

// Flusher is an add-on interface for Sink: a sink that buffers writes and
// makes them durable in batches. Run flushes before it journals.
type Flusher interface {
	Flush(ctx context.Context) error
}

// StoredMessage is one message a sink holds, as its index describes it
// without reading its body.
type StoredMessage struct {
	// Ref names the message for Indexer.Digests (an IMAP UID, a file name).
	Ref string
	// Key is formats.IdentityKey of its header.
	Key string
	// VirtualSize is its size with CRLF line ends (IMAP RFC822.SIZE), 0 when
	// it is not known without reading the body.
	VirtualSize int64
	// Flags are its flags, normalised (formats.NormalizeFlags); nil when the
	// store keeps none it could change (mbox).
	Flags []string
}

// FolderCreator is an add-on interface for Sink: a sink that can create an
// empty folder, so a source folder without messages (or every folder, with
// Options.FoldersOnly) exists at the destination too. CreateFolder reports
// whether the folder was new.
type FolderCreator interface {
	CreateFolder(ctx context.Context, folder string) (created bool, err error)
}

// MessageCounter is an add-on interface for Sink: how many messages a
// folder holds, cheaply (IMAP STATUS, a directory listing), or -1 when that
// is not cheap. Run uses it to notice a destination emptied or replaced
// while the journal says everything was copied, without reading its index
// on every run.
type MessageCounter interface {
	MessageCount(ctx context.Context, folder string) (int, error)
}

// StoredDeleter is an add-on interface for Sink: removing stored messages
// (by Ref) that mailferry copied and that are gone from the source
// (--delete-extraneous).
type StoredDeleter interface {
	DeleteStored(ctx context.Context, folder string, refs []string) error
}

// FlagChange gives one stored message (by Ref) a new set of flags.
type FlagChange struct {
	Ref   string
	Flags []string
}

// FlagSetter is an add-on interface for Sink: a sink whose stored flags can
// be changed (IMAP: UID STORE; Maildir: a rename). With Options.SyncFlags,
// Run carries the changed flags of messages it copied before.
type FlagSetter interface {
	SetFlags(ctx context.Context, folder string, changes []FlagChange) error
}

// FolderIndex is what one destination folder holds.
type FolderIndex struct {
	// Identity names the mailbox itself, so that one mailbox reached under
	// two names (a second host name, a symlink) is recognised: see
	// MailboxIdentity. "" when the store cannot tell.
	Identity string
	Messages []StoredMessage
}

// Indexer is an add-on interface for Sink: a sink that can tell what it
// already holds. Run's plan reads the index of every destination folder it
// copies into (headers and sizes only), so that a message already there is
// not fetched, let alone copied again, whoever put it there.
type Indexer interface {
	// Index describes folder's messages. A folder that does not exist
	// yields an empty index and no error.
	Index(ctx context.Context, folder string) (FolderIndex, error)
	// Digests returns formats.ContentDigest of the messages named by refs,
	// each computed on the message as the store's source would deliver
	// it. A ref whose message is gone is left out of the map.
	Digests(ctx context.Context, folder string, refs []string) (map[string]string, error)
}

// Keyer is an add-on interface for Source: a source that can read identity
// keys without bodies (IMAP: BODY.PEEK[HEADER.FIELDS]). Without it, the plan
// learns a message's key by fetching it, which is cheap only for local
// stores.
type Keyer interface {
	// Keys returns formats.IdentityKey for each of msgs, by Message.ID.
	// A message that vanished is left out.
	Keys(ctx context.Context, folder string, msgs []Message) (map[string]string, error)
}

// MailboxIdentifier is an add-on interface for Source: the identity of a
// listed folder, in the same terms as a sink's FolderIndex.Identity.
// --delete-source refuses when source and destination folder share it.
type MailboxIdentifier interface {
	MailboxIdentity(ctx context.Context, folder string, listed []Message) (string, error)
}

// RoleResolver is an add-on interface for Sink: a sink that has its own
// folders for special-use roles (\Sent, \Trash, …). FolderForRole returns the
// sink's folder for role, or ok=false when it has none.
type RoleResolver interface {
	FolderForRole(ctx context.Context, role string) (name string, ok bool, err error)
}

// StateLocator is an add-on interface for Sink: where the journal lives by
// default when the user gives no --state (inside a Maildir, next to an mbox).
type StateLocator interface {
	DefaultStatePath() string
}
