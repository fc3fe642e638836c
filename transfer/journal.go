package transfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one journal line: a message that reached the sink durably.
type Record struct {
	Source      string    `json:"source"`            // Options.SourceKey
	Folder      string    `json:"folder"`            // source folder
	ID          string    `json:"id"`                // Message.ID
	Key         string    `json:"key,omitempty"`     // formats.IdentityKey of the message
	Digest      string    `json:"digest,omitempty"`  // formats.ContentDigest, when the copy was confirmed by content
	Fingerprint string    `json:"fp,omitempty"`      // what older versions wrote instead of Key; read, not used
	Dest        string    `json:"dest"`              // destination folder
	Time        time.Time `json:"time"`              // when first committed (first seen, for --keep-days)
	Deleted     bool      `json:"deleted,omitempty"` // the message was deleted from the source afterwards
	// Flags are the source's flags last carried to the copy; nil in
	// records of older versions, which did not keep them.
	Flags []string `json:"flags"`
	// Copied says a run stored the message (not merely found it at the
	// destination): only such copies may be deleted by --delete-extraneous.
	Copied bool `json:"copied,omitempty"`
	// CopyDeleted says --delete-extraneous removed the copy after the
	// message was gone from the source.
	CopyDeleted bool `json:"copy_deleted,omitempty"`
	// State, in a record without ID, is a folder record: the source
	// folder's Folder.State when a run had copied all of it into Dest,
	// Count messages (see unchangedGroup).
	State string `json:"state,omitempty"`
	Count int    `json:"n,omitempty"`
}

// ErrLocked is returned by OpenJournal when another run holds the state file.
var ErrLocked = errors.New("state file is in use by another mailferry run")

// journalVersion is the format version written in the header line.
const journalVersion = 1

// journalHeader is the first line of every state file (see headerLine).
type journalHeader struct {
	Version *int `json:"mailferry-state"`
}

// Journal is the append-only state file: a header line followed by one JSON
// record per line. Every Append is fsync'd before it returns, so a record in
// the journal always names a message that is durable in the sink. A line torn
// by a crash can only be the last one; OpenJournal cuts it away.
//
// A Journal holds an exclusive lock on its file until Close, so two runs
// never share one state file. Its methods are safe for concurrent use;
// concurrent Appends are written together with one fsync (group commit).
type Journal struct {
	path string
	f    *os.File

	mu      sync.Mutex
	index   *journalIndex        // the message records
	states  map[folderKey]Record // the last folder record of each source folder
	size    int64                // bytes known good on disk
	err     error                // sticky write failure
	batch   *journalBatch        // records waiting for the next write
	writing bool                 // a goroutine is writing batches
	idle    *sync.Cond           // signalled when writing becomes false
	closed  bool
}

// journalBatch is a set of records written with one fsync.
type journalBatch struct {
	recs []Record
	done chan struct{}
	err  error
}

// OpenJournal opens or creates the journal at path, creating its parent
// directories, and locks it. It fails with an error wrapping ErrLocked when
// another process (or another OpenJournal in this one) holds it.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("state file %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("state file %s: lock: %w", path, err)
	}
	j := &Journal{
		path:   path,
		f:      f,
		index:  newJournalIndex(),
		states: make(map[folderKey]Record),
	}
	j.idle = sync.NewCond(&j.mu)
	if err := j.load(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load reads every record into the index, cuts away a torn last line and
// writes the header into a new file.
func (j *Journal) load() error {
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("state file %s: %w", j.path, err)
	}
	r := bufio.NewReaderSize(j.f, 64*1024)
	var (
		good   int64 // offset after the last complete, valid line
		lineNo int
		header bool
	)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("state file %s: %w", j.path, err)
		}
		if len(line) == 0 {
			break
		}
		lineNo++
		if line[len(line)-1] != '\n' {
			// A line without its newline is the last one, torn by a
			// crash: it was never acknowledged, so dropping it loses
			// nothing. A first line must still look like our header,
			// so nobody's file is overwritten by mistake.
			if !header && !bytes.HasPrefix(headerLine(), line) {
				return fmt.Errorf("state file %s: not a mailferry state file; choose another state file", j.path)
			}
			break
		}
		if perr := j.parseLine(bytes.TrimRight(line, "\r\n"), !header); perr != nil {
			if !header {
				return fmt.Errorf("state file %s, line 1: %v; choose another state file", j.path, perr)
			}
			// An invalid record with nothing after it is torn too.
			if _, peekErr := r.Peek(1); peekErr == io.EOF {
				break
			}
			return fmt.Errorf("state file %s, line %d: %v; the file can be removed safely "+
				"(mailferry recognises messages already at the destination by their identity)",
				j.path, lineNo, perr)
		}
		header = true
		good += int64(len(line))
		if err == io.EOF {
			break
		}
	}
	st, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("state file %s: %w", j.path, err)
	}
	if st.Size() != good {
		if err := j.f.Truncate(good); err != nil {
			return fmt.Errorf("state file %s: cutting a torn last line: %w", j.path, err)
		}
	}
	j.size = good
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("state file %s: %w", j.path, err)
	}
	if !header {
		line := headerLine()
		if _, err := j.f.Write(line); err != nil {
			return fmt.Errorf("state file %s: %w", j.path, err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("state file %s: %w", j.path, err)
		}
		if err := syncDir(filepath.Dir(j.path)); err != nil {
			return fmt.Errorf("state file %s: %w", j.path, err)
		}
		j.size += int64(len(line))
	}
	return nil
}

// headerLine is the first line of a state file, with its newline.
func headerLine() []byte {
	return []byte(fmt.Sprintf(`{"mailferry-state":%d}`+"\n", journalVersion))
}

// parseLine checks one line and, for a record, adds it to the index.
func (j *Journal) parseLine(line []byte, isHeader bool) error {
	if isHeader {
		if bytes.Equal(line, bytes.TrimSuffix(headerLine(), []byte("\n"))) {
			return nil
		}
		var h journalHeader
		if err := json.Unmarshal(line, &h); err != nil || h.Version == nil || *h.Version == journalVersion {
			return errors.New(`not a mailferry state file (the first line must be {"mailferry-state":1})`)
		}
		if *h.Version != journalVersion {
			return fmt.Errorf("state file version %d is not supported by this mailferry (it reads version %d)",
				*h.Version, journalVersion)
		}
		return nil
	}
	var rec Record
	if err := decodeRecord(line, &rec); err != nil {
		return fmt.Errorf("invalid record: %v", err)
	}
	if rec.ID == "" && rec.State == "" {
		return errors.New("invalid record: no message id")
	}
	j.index1(rec)
	return nil
}

// index1 adds one record to the index: a folder record replaces the
// folder's last one, a message record goes into the index.
func (j *Journal) index1(rec Record) {
	f := folderKey{j.index.sharedName(rec.Source), j.index.sharedName(rec.Folder)}
	if rec.ID == "" {
		rec.Source, rec.Folder = f.source, f.folder
		j.states[f] = rec
		return
	}
	j.index.add(f, rec)
}

// FolderState returns the last folder record of a source folder (see
// Record.State), if the journal has one.
func (j *Journal) FolderState(source, folder string) (Record, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec, ok := j.states[folderKey{source, folder}]
	return rec, ok
}

// Path returns the file name of the journal.
func (j *Journal) Path() string { return j.path }

// Lookup returns the record of a message, if the journal has one. The record
// carries the time the message was first committed and whether it has been
// deleted from the source since.
func (j *Journal) Lookup(source, folder, id string) (Record, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f := folderKey{source, folder}
	e, ok := j.index.folders[f][id]
	if !ok {
		return Record{}, false
	}
	return j.index.record(f, id, e), true
}

// FolderLen returns how many messages the journal records for one source
// folder: a folder that has records but none of whose listed messages is
// known has been renumbered (a UIDVALIDITY change).
func (j *Journal) FolderLen(source, folder string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.index.folders[folderKey{source, folder}])
}

// FolderRecords returns the records of one source folder.
func (j *Journal) FolderRecords(source, folder string) []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	f := folderKey{source, folder}
	var out []Record
	for id, e := range j.index.folders[f] {
		out = append(out, j.index.record(f, id, e))
	}
	return out
}

// Len returns the number of messages the journal knows.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.index.count
}

// Append writes records and fsyncs before returning. Records appended by
// concurrent callers are written together with one fsync. They become
// visible to Lookup once they are durable. A failed write is a
// Fatal error and makes every later Append fail too: the state of the file
// is no longer known.
func (j *Journal) Append(recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return FatalError(fmt.Errorf("state file %s: journal is closed", j.path))
	}
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		return err
	}
	b := j.batch
	if b == nil {
		b = &journalBatch{done: make(chan struct{})}
		j.batch = b
	}
	b.recs = append(b.recs, recs...)
	if j.writing {
		// The writer picks this batch up after its current fsync.
		j.mu.Unlock()
		<-b.done
		return b.err
	}
	j.writing = true
	for j.batch != nil {
		cur := j.batch
		j.batch = nil
		if j.err != nil {
			cur.err = j.err
			close(cur.done)
			continue
		}
		j.mu.Unlock()
		n, err := j.write(cur.recs)
		j.mu.Lock()
		if err != nil {
			j.err = FatalError(fmt.Errorf("state file %s: %w", j.path, err))
			cur.err = j.err
			// Cut a partial line away so a later run reads a clean
			// file; if that fails too, the next open repairs it.
			_ = j.f.Truncate(j.size)
		} else {
			j.size += n
			for _, rec := range cur.recs {
				j.index1(rec)
			}
		}
		close(cur.done)
	}
	j.writing = false
	j.idle.Broadcast()
	j.mu.Unlock()
	<-b.done
	return b.err
}

// write appends records as lines and fsyncs once.
func (j *Journal) write(recs []Record) (int64, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if recs[i].ID == "" && recs[i].State == "" {
			return 0, errors.New("record without message id")
		}
		if err := enc.Encode(&recs[i]); err != nil {
			return 0, err
		}
	}
	n, err := j.f.Write(buf.Bytes())
	if err != nil {
		return 0, err
	}
	if err := j.f.Sync(); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// Close releases the lock and the file. Appends still waiting finish first.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.writing {
		j.idle.Wait()
	}
	if j.closed {
		return nil
	}
	j.closed = true
	// Closing the descriptor releases the flock.
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("state file %s: %w", j.path, err)
	}
	return nil
}
