package transfertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// Stored is a message as a MemSink holds it.
type Stored struct {
	transfer.Message
	Body []byte
}

// MemSink is an in-memory transfer.Sink that implements the Indexer
// and RoleResolver add-ons. Each Put is durable at once; see
// NewBufferedMemSink for a Flusher. Set its fault fields before the run
// starts; it is safe for concurrent use during the run.
type MemSink struct {
	// Roles maps special-use roles (\Sent, …) to the sink's folders.
	Roles map[string]string
	// BeforePut, when set, is called with the number of the Put call
	// (from 1) and the message before anything is stored; an error it
	// returns fails the Put and nothing is stored.
	BeforePut func(n int, m transfer.Message) error
	// AfterPut, when set, is called after the message was stored; an error
	// it returns is returned by Put although the message is stored, as
	// when a connection dies after the server stored a message, or the
	// process is killed before the journal is written.
	AfterPut func(n int, m transfer.Message) error
	// Identity names the store in FolderIndex.Identity; see
	// MemSource.Identity.
	Identity string

	buffered bool
	mu       sync.Mutex
	puts     int
	folders  map[string][]Stored // durable
	pending  map[string][]Stored // written but not flushed (buffered mode)
	flushes  int
	// digestReads counts the messages Digests read.
	digestReads int
	flagChanges int
	// beforeFlush is BufferedMemSink.BeforeFlush.
	beforeFlush func(flush func()) error
}

// BufferedMemSink is a MemSink that implements transfer.Flusher: a Put is
// durable only after the next Flush, and Crash loses what was not flushed.
type BufferedMemSink struct {
	*MemSink
}

var (
	_ transfer.Sink           = (*MemSink)(nil)
	_ transfer.Indexer        = (*MemSink)(nil)
	_ transfer.FlagSetter     = (*MemSink)(nil)
	_ transfer.StoredDeleter  = (*MemSink)(nil)
	_ transfer.MessageCounter = (*MemSink)(nil)
	_ transfer.RoleResolver   = (*MemSink)(nil)
	_ transfer.Flusher        = BufferedMemSink{}
)

// NewMemSink returns an empty sink.
func NewMemSink() *MemSink {
	return &MemSink{folders: make(map[string][]Stored), pending: make(map[string][]Stored)}
}

// NewBufferedMemSink returns an empty sink that needs Flush.
func NewBufferedMemSink() BufferedMemSink {
	s := NewMemSink()
	s.buffered = true
	return BufferedMemSink{s}
}

// FailNth returns a BeforePut hook that fails the nth Put with err.
func FailNth(n int, err error) func(int, transfer.Message) error {
	return func(i int, _ transfer.Message) error {
		if i == n {
			return err
		}
		return nil
	}
}

// Put implements transfer.Sink. It checks the contract: the body must
// hold exactly m.Size bytes, and read so from its start.
func (s *MemSink) Put(ctx context.Context, m transfer.Message, b transfer.Body) error {
	s.mu.Lock()
	s.puts++
	n := s.puts
	s.mu.Unlock()
	if s.BeforePut != nil {
		if err := s.BeforePut(n, m); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Size < 0 {
		return transfer.FatalError(fmt.Errorf("transfertest: message %s: negative Size", m.ID))
	}
	if b.Size() != m.Size {
		return transfer.FatalError(fmt.Errorf("transfertest: message %s: Size %d, body %d bytes", m.ID, m.Size, b.Size()))
	}
	r := transfer.BodyReader(b)
	body := make([]byte, m.Size)
	got, err := io.ReadFull(r, body)
	if err == nil {
		var extra [1]byte
		if k, _ := io.ReadFull(r, extra[:]); k > 0 {
			err = errors.New("more bytes than Size")
		}
	}
	if err != nil {
		return transfer.FatalError(fmt.Errorf("transfertest: message %s: Size %d, reader yielded %d bytes: %w", m.ID, m.Size, got, err))
	}
	if m.Folder == "" {
		return transfer.FatalError(errors.New("transfertest: Put without a folder"))
	}
	st := Stored{Message: m, Body: body}
	st.Flags = slices.Clone(m.Flags)
	s.mu.Lock()
	if s.buffered {
		s.pending[m.Folder] = append(s.pending[m.Folder], st)
	} else {
		s.folders[m.Folder] = append(s.folders[m.Folder], st)
	}
	s.mu.Unlock()
	if s.AfterPut != nil {
		return s.AfterPut(n, m)
	}
	return nil
}

// SetBeforeFlush installs a hook called by Flush instead of flushing: it
// gets a function that does the flush and decides what Flush returns. It
// can simulate a crash (call Crash, return an error), a flush whose success
// was never reported (call flush, return an error), or a temporary failure.
// Nil restores plain flushing.
func (s BufferedMemSink) SetBeforeFlush(hook func(flush func()) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeFlush = hook
}

// Flush makes everything put so far durable.
func (s BufferedMemSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	hook := s.beforeFlush
	s.flushes++
	s.mu.Unlock()
	if hook != nil {
		return hook(s.flush)
	}
	s.flush()
	return nil
}

func (s BufferedMemSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for f, msgs := range s.pending {
		s.folders[f] = append(s.folders[f], msgs...)
	}
	clear(s.pending)
}

// Close flushes and releases the sink.
func (s BufferedMemSink) Close() error {
	return s.Flush(context.Background())
}

// Flushes returns how often Flush was called.
func (s BufferedMemSink) Flushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushes
}

// Crash loses every message that was not flushed.
func (s BufferedMemSink) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.pending)
}

// Add stores a message directly, as if an earlier run had put it.
func (s *MemSink) Add(m transfer.Message, body []byte) {
	m.Size = int64(len(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.folders[m.Folder] = append(s.folders[m.Folder], Stored{Message: m, Body: bytes.Clone(body)})
}

// Index implements transfer.Indexer over durable and buffered messages,
// from the stored bytes. Refs are "folder/position".
func (s *MemSink) Index(ctx context.Context, folder string) (transfer.FolderIndex, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var idx transfer.FolderIndex
	if s.Identity != "" {
		idx.Identity = s.Identity + "/" + folder
	}
	for li, list := range [][]Stored{s.folders[folder], s.pending[folder]} {
		for i, st := range list {
			idx.Messages = append(idx.Messages, transfer.StoredMessage{
				Ref:         fmt.Sprintf("%d/%d", li, i),
				Key:         formats.IdentityKey(st.Body),
				VirtualSize: formats.VirtualSize(st.Body),
				Flags:       formats.NormalizeFlags(st.Flags),
			})
		}
	}
	return idx, nil
}

// Digests implements transfer.Indexer.
func (s *MemSink) Digests(ctx context.Context, folder string, refs []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lists := [][]Stored{s.folders[folder], s.pending[folder]}
	out := make(map[string]string, len(refs))
	for _, ref := range refs {
		var li, i int
		if _, err := fmt.Sscanf(ref, "%d/%d", &li, &i); err != nil || li > 1 || i >= len(lists[li]) {
			continue
		}
		s.digestReads++
		out[ref] = formats.ContentDigest(lists[li][i].Body)
	}
	return out, nil
}

// SetFlags implements transfer.FlagSetter.
func (s *MemSink) SetFlags(ctx context.Context, folder string, changes []transfer.FlagChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lists := [][]Stored{s.folders[folder], s.pending[folder]}
	for _, c := range changes {
		var li, i int
		if _, err := fmt.Sscanf(c.Ref, "%d/%d", &li, &i); err != nil || li > 1 || i >= len(lists[li]) {
			return fmt.Errorf("transfertest: no message %s in %q", c.Ref, folder)
		}
		lists[li][i].Flags = slices.Clone(c.Flags)
		s.flagChanges++
	}
	return nil
}

// DeleteStored implements transfer.StoredDeleter.
func (s *MemSink) DeleteStored(ctx context.Context, folder string, refs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	drop := make(map[string]bool, len(refs))
	for _, r := range refs {
		drop[r] = true
	}
	for li, m := range []map[string][]Stored{s.folders, s.pending} {
		var kept []Stored
		for i, st := range m[folder] {
			if !drop[fmt.Sprintf("%d/%d", li, i)] {
				kept = append(kept, st)
			}
		}
		m[folder] = kept
	}
	return nil
}

// MessageCount implements transfer.MessageCounter.
func (s *MemSink) MessageCount(ctx context.Context, folder string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.folders[folder]) + len(s.pending[folder]), nil
}

// Remove drops every message of folder, as a user emptying it does.
func (s *MemSink) Remove(folder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.folders, folder)
	delete(s.pending, folder)
}

// FlagChanges returns how many messages SetFlags changed.
func (s *MemSink) FlagChanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flagChanges
}

// DigestReads returns how many stored messages Digests read.
func (s *MemSink) DigestReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.digestReads
}

// FolderForRole implements transfer.RoleResolver from Roles.
func (s *MemSink) FolderForRole(ctx context.Context, role string) (string, bool, error) {
	name, ok := s.Roles[role]
	return name, ok, nil
}

// Close implements transfer.Sink.
func (s *MemSink) Close() error { return nil }

// Messages returns the durable messages of folder in the order stored.
func (s *MemSink) Messages(folder string) []Stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.folders[folder])
}

// Folders returns the names of the folders holding durable messages, sorted.
func (s *MemSink) Folders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for f, msgs := range s.folders {
		if len(msgs) > 0 {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Len returns the number of durable messages in all folders.
func (s *MemSink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, msgs := range s.folders {
		n += len(msgs)
	}
	return n
}

// PutCalls returns how many times Put was called.
func (s *MemSink) PutCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}
