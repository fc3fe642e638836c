// Package transfertest provides in-memory implementations of transfer.Source
// and transfer.Sink with fault injection, for testing the pipeline and
// anything built on it without servers or files.
package transfertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// MemSource is an in-memory transfer.Source that implements the Fetchers
// and Deleter add-ons. Set its fault fields before the run starts; it is
// safe for concurrent use during the run.
type MemSource struct {
	// Fetchers is what MaxFetchers reports; 0 means 1.
	Fetchers int

	// CutAfter and CutTimes, when either is > 0, make the first CutTimes
	// Fetch calls (CutTimes 0 means 1) stop with a Temporary error after
	// delivering CutAfter messages, as a dropped connection would.
	CutAfter, CutTimes int
	// CutInBody makes a cut happen in the middle of the body of the next
	// message instead of between messages: its reader fails half way.
	CutInBody bool
	// Drop maps message IDs to how many Fetch calls silently leave the
	// message out, as servers that lose messages do.
	Drop map[string]int
	// Vanished lists message IDs that Fetch reports as a PerMessage
	// *transfer.MessageError (joined with errors.Join), as a server does for
	// a message expunged meanwhile.
	Vanished map[string]bool
	// Unreadable lists message IDs whose body reader fails half way with a
	// PerMessage error (ErrUnreadable), as a source does for a message it
	// cannot parse; the stream goes on.
	Unreadable map[string]bool
	// BeforeDeliver, when set, is called before each message is handed to
	// the callback (e.g. to cancel a context at a chosen point).
	BeforeDeliver func(m transfer.Message)
	// DatedOnFetch lists message IDs whose Date List leaves zero and only
	// Fetch gives, as a POP3 source reads it from the message's headers.
	DatedOnFetch map[string]bool
	// BeforeDelete, when set, is called by Delete before anything is
	// removed; an error it returns is returned by Delete.
	BeforeDelete func(folder string, msgs []transfer.Message) error
	// Identity names the store for transfer.MailboxIdentifier: a MemSink
	// with the same Identity is the same mailbox.
	Identity string

	mu        sync.Mutex
	keyCalls  int
	folders   []*memFolder
	cuts      int
	fetches   int
	active    int
	maxActive int
	delivered map[string]int // folder + "\x00" + id → deliveries
	deleted   map[string][]string
}

type memFolder struct {
	info transfer.Folder
	msgs []memMessage
}

type memMessage struct {
	m    transfer.Message
	body []byte
}

var (
	_ transfer.Source   = (*MemSource)(nil)
	_ transfer.Fetchers = (*MemSource)(nil)
	_ transfer.Deleter  = (*MemSource)(nil)

	_ transfer.MailboxIdentifier = (*MemSource)(nil)
)

// NewMemSource returns an empty source.
func NewMemSource() *MemSource {
	return &MemSource{delivered: make(map[string]int), deleted: make(map[string][]string)}
}

// AddFolder adds an empty folder with a special-use role ("" for none). Add
// creates folders without roles by itself.
func (s *MemSource) AddFolder(name, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.folder(name); f != nil {
		f.info.Role = role
		return
	}
	s.folders = append(s.folders, &memFolder{info: transfer.Folder{Name: name, Role: role}})
}

// Add adds a message to folder m.Folder. An empty m.ID becomes the next
// number in the folder; m.Size is set from body.
func (s *MemSource) Add(m transfer.Message, body []byte) transfer.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folder(m.Folder)
	if f == nil {
		f = &memFolder{info: transfer.Folder{Name: m.Folder}}
		s.folders = append(s.folders, f)
	}
	if m.ID == "" {
		m.ID = fmt.Sprint(len(f.msgs) + 1)
	}
	m.Size = int64(len(body))
	m.Flags = slices.Clone(m.Flags)
	f.msgs = append(f.msgs, memMessage{m: m, body: bytes.Clone(body)})
	return m
}

func (s *MemSource) folder(name string) *memFolder {
	for _, f := range s.folders {
		if f.info.Name == name {
			return f
		}
	}
	return nil
}

// MaxFetchers implements transfer.Fetchers.
func (s *MemSource) MaxFetchers() int {
	if s.Fetchers <= 0 {
		return 1
	}
	return s.Fetchers
}

// Folders implements transfer.Source.
func (s *MemSource) Folders(ctx context.Context) ([]transfer.Folder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []transfer.Folder
	for _, f := range s.folders {
		info := f.info
		info.Messages = len(f.msgs)
		info.Bytes = 0
		for _, m := range f.msgs {
			info.Bytes += m.m.Size
		}
		out = append(out, info)
	}
	return out, nil
}

// List implements transfer.Source.
func (s *MemSource) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folder(folder)
	if f == nil {
		return nil, transfer.PerMessageError(fmt.Errorf("folder %q does not exist", folder))
	}
	out := make([]transfer.Message, len(f.msgs))
	for i, m := range f.msgs {
		out[i] = m.m
		out[i].Flags = slices.Clone(m.m.Flags)
		if s.DatedOnFetch[m.m.ID] {
			out[i].Date = time.Time{}
		}
	}
	return out, nil
}

// ErrCut is the Temporary error a cut Fetch stream returns.
var ErrCut = errors.New("transfertest: connection cut")

// ErrUnreadable is the PerMessage error of an Unreadable message's reader.
var ErrUnreadable = errors.New("transfertest: message cannot be read")

// Fetch implements transfer.Source with the faults configured on s.
func (s *MemSource) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	s.mu.Lock()
	s.fetches++
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	cut := -1
	if (s.CutAfter > 0 || s.CutTimes > 0) && s.cuts < max(s.CutTimes, 1) {
		s.cuts++
		cut = s.CutAfter
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()

	var perMsg []error
	sent := 0
	for _, want := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		var (
			mm    memMessage
			found bool
		)
		if f := s.folder(folder); f != nil {
			for _, c := range f.msgs {
				if c.m.ID == want.ID {
					mm, found = c, true
					break
				}
			}
		}
		drop := false
		if s.Drop[want.ID] > 0 {
			s.Drop[want.ID]--
			drop = true
		}
		vanished := s.Vanished[want.ID]
		unreadable := s.Unreadable[want.ID]
		s.mu.Unlock()
		if !found || vanished {
			perMsg = append(perMsg, transfer.PerMessageError(&transfer.MessageError{
				Folder: folder, ID: want.ID, Err: errors.New("message no longer exists"),
			}))
			continue
		}
		if drop {
			continue
		}
		var body io.Reader = bytes.NewReader(mm.body)
		if unreadable {
			body = io.MultiReader(bytes.NewReader(mm.body[:len(mm.body)/2]), errReader{transfer.PerMessageError(ErrUnreadable)})
		}
		if sent == cut {
			if !s.CutInBody {
				return transfer.TemporaryError(ErrCut)
			}
			body = io.MultiReader(bytes.NewReader(mm.body[:len(mm.body)/2]), errReader{transfer.TemporaryError(ErrCut)})
		}
		if s.BeforeDeliver != nil {
			s.BeforeDeliver(mm.m)
		}
		m := mm.m
		m.Flags = slices.Clone(m.Flags)
		if err := fn(m, body); err != nil {
			return err
		}
		s.mu.Lock()
		s.delivered[folder+"\x00"+m.ID]++
		s.mu.Unlock()
		sent++
	}
	return errors.Join(perMsg...)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Delete implements transfer.Deleter: it removes msgs from folder.
func (s *MemSource) Delete(ctx context.Context, folder string, msgs []transfer.Message) error {
	if s.BeforeDelete != nil {
		if err := s.BeforeDelete(folder, msgs); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folder(folder)
	if f == nil {
		return transfer.PerMessageError(fmt.Errorf("folder %q does not exist", folder))
	}
	gone := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		gone[m.ID] = true
		s.deleted[folder] = append(s.deleted[folder], m.ID)
	}
	f.msgs = slices.DeleteFunc(f.msgs, func(m memMessage) bool { return gone[m.m.ID] })
	return nil
}

// Deleted returns the IDs deleted from folder, in order.
func (s *MemSource) Deleted(folder string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted[folder])
}

// Delivered returns how often Fetch handed message id of folder to its
// callback.
func (s *MemSource) Delivered(folder, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered[folder+"\x00"+id]
}

// FetchCalls returns how many times Fetch was called.
func (s *MemSource) FetchCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// MaxConcurrentFetches returns the largest number of Fetch calls that ran
// at the same time.
func (s *MemSource) MaxConcurrentFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive
}

// Close implements transfer.Source.
func (s *MemSource) Close() error { return nil }
