package transfer

import (
	"regexp"
	"time"
)

// Options control one Run. The zero value copies every folder with defaults
// suitable for local archives.
type Options struct {
	// SourceKey names the source in the journal (e.g. "imap://alice@host"
	// or "maildir:/abs/path"), so one state file can serve several sources.
	SourceKey string
	// Journal records what reached the sink. Nil runs without state; the
	// sink's fingerprints alone then keep the run duplicate-free.
	Journal *Journal

	// Include, when not empty, keeps only folders matching one of them;
	// Exclude drops folders matching any. Both match source folder names.
	Include, Exclude []*regexp.Regexp
	// Since and Before keep messages whose Date is on or after Since and
	// before Before. Zero values do not filter. A message listed without a
	// date is filtered once fetched, by the date the source gives it then
	// (POP3 reads it from the message's headers); if that is unknown too,
	// it passes.
	Since, Before time.Time
	// MaxSize skips messages larger than this many bytes; 0 means no limit.
	MaxSize int64
	// Map renames folders: a source folder equal to Old, or below it, lands
	// under New. The longest matching Old wins. A mapping overrides the
	// special-use role mapping.
	Map []FolderMapping
	// FlattenTo, when not empty, puts every message into this one
	// destination folder (a single mbox file holds one folder).
	FlattenTo string

	// DryRun plans and reports (EventPlanned, EventPlanMessage) but fetches
	// and writes nothing.
	DryRun bool
	// DeleteSource deletes copied messages from a Deleter source once they
	// are durable and journaled. With KeepDays > 0, only messages first seen
	// at least KeepDays ago are deleted. It needs a Deleter source and a
	// Journal (not in a dry run); without them Run fails before copying.
	// Only messages that pass the filters are deleted.
	DeleteSource bool
	KeepDays     int
	// DeleteExtraneous deletes from the destination the copies of messages
	// a run copied earlier that are gone from the source, when the sink is
	// a StoredDeleter. Only copies confirmed by content are deleted, never a
	// message mailferry did not copy.
	DeleteExtraneous bool
	// Bandwidth, when not nil, limits the bytes read from the source per
	// second, over all connections (--bwlimit); Messages limits the
	// messages stored per second (--max-messages-per-second).
	Bandwidth, Messages *Throttle
	// FoldersOnly creates the destination folders of the selected source
	// folders and copies no message (imapsync's --justfolders).
	FoldersOnly bool
	// SyncFlags carries changed flags of messages copied earlier to their
	// copies, when the sink is a FlagSetter (IMAP, Maildir).
	SyncFlags bool

	// Connections bounds concurrent Fetch calls (further bounded by the
	// source's MaxFetchers); 0 means 4: providers commonly allow 10 or more
	// IMAP connections per account (Dovecot's default
	// mail_max_userip_connections is 10), and on loopback 4 streams already
	// keep both cores of a small machine busy.
	Connections int
	// Workers is the number of concurrent Put calls; 0 means 4. A sink
	// that is a PutWorkers may ask for more.
	Workers int
	// SpoolMemory is the memory the spools of the run hold at once: a body
	// is kept in memory while its buffer fits in what the other spools
	// leave (and it is at most 2 MiB, or SpoolMemory when that is less);
	// otherwise it spills to a temporary file. 0 means 8 MiB: nearly all
	// mail, attachments of a MiB or two included, stays in memory, and the
	// spools keep the memory of a run bounded whatever the message sizes
	// and the number of workers.
	SpoolMemory int64
	// SpoolDir is where spill files go (--temp-dir); "" means
	// os.TempDir(). A spill file is the only copy of a body between fetch
	// and put: sinks read it, they do not spool again.
	SpoolDir string
	// ChunkSize is how many messages one Fetch call asks for, so a large
	// folder is fetched over several connections; 0 means 256: large enough
	// that a FETCH's round trip is spread over many messages, small enough
	// that a 10,000-message folder splits into 40 chunks for the connections
	// to share, and that a cut stream resumes with little to ask again.
	ChunkSize int

	// Retries is how often a temporary error is retried; 0 means 5, a
	// negative value disables retries. RetryDelay is the first backoff
	// (doubled each time, capped at 30s); 0 means 1s.
	Retries    int
	RetryDelay time.Duration

	// Progress receives events; nil discards them.
	Progress Progress
	// Now is the clock (for KeepDays and journal times); nil means time.Now.
	Now func() time.Time
}

// FolderMapping renames Old (and its subfolders) to New. With Pattern set
// it is a --map-regex: a folder whose whole name matches Pattern is named
// New with $1, ${name} and the like expanded (regexp.Regexp.Expand); Old is
// not used.
type FolderMapping struct {
	Old, New string
	Pattern  *regexp.Regexp
}

// Summary is what a Run did.
type Summary struct {
	Copied int
	// Skipped counts selected messages not copied because the destination
	// has them already.
	Skipped int
	// Filtered counts messages Since, Before or MaxSize left out.
	Filtered int
	Failed   int
	Deleted  int
	// FlagsSynced counts messages copied earlier whose changed flags were
	// carried over to the destination.
	FlagsSynced int
	// DestDeleted counts copies deleted by DeleteExtraneous.
	DestDeleted int
	// Rewritten counts messages the destination stored in another form
	// than they were sent (a RewriteChecker sink).
	Rewritten int
	// Moved counts copies moved between destination folders because
	// their messages moved between source folders (DeleteExtraneous).
	Moved int
	// SubscriptionsChanged counts destination folders subscribed or
	// unsubscribed to match their source folders.
	SubscriptionsChanged int
	// FoldersCreated counts destination folders created empty (a source
	// folder without messages to copy, or --folders-only).
	FoldersCreated int
	Bytes          int64
	Seconds        float64
	// Failures holds the per-message errors, each a *MessageError.
	Failures []error
	// Renamed maps destination folders the destination refused to create
	// to the names it stored them under (see RefusedFolderName).
	Renamed map[string]string
	// Folders holds the counts of each source folder the run selected,
	// sorted by source folder name; their sums are the counts above.
	Folders []FolderSummary
}

// FolderSummary is what a Run did with one source folder.
type FolderSummary struct {
	Folder                            string // the source folder
	Dest                              string // the destination folder it went into
	Copied, Skipped, Filtered, Failed int
	Bytes                             int64
}
