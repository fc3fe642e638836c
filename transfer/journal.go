package transfer

import (
	"errors"
	"time"
)

// Record is one journal line: a message that reached the sink durably.
type Record struct {
	Source      string    // Options.SourceKey
	Folder      string    // source folder
	ID          string    // Message.ID
	Fingerprint string    // formats.Fingerprint of the copy
	Dest        string    // destination folder
	Time        time.Time // when first committed (first seen, for --keep-days)
	Deleted     bool      // the message was deleted from the source afterwards
}

// ErrLocked is returned by OpenJournal when another run holds the state file.
var ErrLocked = errors.New("state file is in use by another mailferry run")

// Journal is the append-only, fsync'd state file. TODO: implementation.
type Journal struct{}

// OpenJournal opens or creates the journal at path.
func OpenJournal(path string) (*Journal, error) { return nil, errors.New("journal: not implemented") }

// Lookup returns the record of a message, if the journal has one.
func (j *Journal) Lookup(source, folder, id string) (Record, bool) { return Record{}, false }

// Append writes records and fsyncs before returning.
func (j *Journal) Append(recs ...Record) error { return errors.New("journal: not implemented") }

// Close releases the lock and the file.
func (j *Journal) Close() error { return nil }
