package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// memStore is an in-memory store used to test the suite itself. Its fault
// hooks damage what it hands out, to prove Diff and ReadAll notice.
type memStore struct {
	mu      sync.Mutex
	folders map[string][]memMsg
	next    int
	crlf    bool

	// faults
	flipByte  bool // first message of every folder comes back with its middle byte changed
	dropLast  bool // last message of every folder is missing
	dupFirst  bool // first message of every folder comes back twice (own ID)
	dropFlags bool // every message comes back without flags
	shiftDate bool // every date is one second later
	wrongSize bool // Fetch reports Size one too large
}

type memMsg struct {
	m    transfer.Message
	body []byte
}

var (
	_ transfer.Source  = (*memStore)(nil)
	_ transfer.Sink    = (*memStore)(nil)
	_ transfer.Indexer = (*memStore)(nil)
)

var (
	memMu     sync.Mutex
	memStores = map[string]*memStore{}
)

// memKind returns a Store backed by memStores, with the given fault hooks
// applied to every store it opens.
func memKind(name string, faults func(*memStore)) Store {
	open := func(path string) *memStore {
		memMu.Lock()
		defer memMu.Unlock()
		s, ok := memStores[path]
		if !ok {
			s = &memStore{folders: map[string][]memMsg{}}
			memStores[path] = s
		}
		if faults != nil {
			faults(s)
		}
		return s
	}
	return Store{
		Name:       name,
		Path:       func(dir string) string { return dir + "/" + name },
		NewSink:    func(p string) (transfer.Sink, error) { return open(p), nil },
		OpenSource: func(p string) (transfer.Source, error) { return open(p), nil },
	}
}

func (s *memStore) Put(_ context.Context, m transfer.Message, body transfer.Body) error {
	b, err := io.ReadAll(transfer.BodyReader(body))
	if err != nil {
		return err
	}
	if int64(len(b)) != m.Size {
		return fmt.Errorf("Put %s: Size %d, body %d", m.ID, m.Size, len(b))
	}
	switch {
	case s.crlf && !m.CRLF:
		b = formats.ToCRLF(b)
	case !s.crlf && m.CRLF:
		b = formats.ToLF(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	m.ID = fmt.Sprint(s.next)
	m.Flags = formats.NormalizeFlags(m.Flags)
	m.Date = m.Date.Truncate(1e9)
	m.Size = int64(len(b))
	s.folders[m.Folder] = append(s.folders[m.Folder], memMsg{m, b})
	return nil
}

func (s *memStore) Index(_ context.Context, folder string) (transfer.FolderIndex, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var idx transfer.FolderIndex
	for i, mm := range s.folders[folder] {
		idx.Messages = append(idx.Messages, transfer.StoredMessage{Ref: fmt.Sprint(i), Key: formats.IdentityKey(mm.body), VirtualSize: formats.VirtualSize(mm.body)})
	}
	return idx, nil
}

func (s *memStore) Digests(_ context.Context, folder string, refs []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, r := range refs {
		var i int
		if _, err := fmt.Sscan(r, &i); err == nil && i >= 0 && i < len(s.folders[folder]) {
			out[r] = formats.ContentDigest(s.folders[folder][i].body)
		}
	}
	return out, nil
}

func (s *memStore) Folders(context.Context) ([]transfer.Folder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []transfer.Folder
	for name, msgs := range s.folders {
		out = append(out, transfer.Folder{Name: name, Messages: len(msgs), Bytes: -1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *memStore) view(folder string) []memMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := append([]memMsg(nil), s.folders[folder]...)
	if s.dropLast && len(msgs) > 0 {
		msgs = msgs[:len(msgs)-1]
	}
	if s.dupFirst && len(msgs) > 0 {
		d := msgs[0]
		d.m.ID += "-dup"
		msgs = append(msgs, d)
	}
	for i := range msgs {
		msgs[i].m.CRLF = s.crlf
		if s.dropFlags {
			msgs[i].m.Flags = nil
		}
		if s.shiftDate {
			msgs[i].m.Date = msgs[i].m.Date.Add(1e9)
		}
		if s.flipByte && i == 0 && len(msgs[i].body) > 10 {
			b := bytes.Clone(msgs[i].body)
			b[len(b)/2] ^= 0x20
			msgs[i].body = b
		}
	}
	return msgs
}

func (s *memStore) List(_ context.Context, folder string) ([]transfer.Message, error) {
	var out []transfer.Message
	for _, mm := range s.view(folder) {
		out = append(out, mm.m)
	}
	return out, nil
}

func (s *memStore) Fetch(_ context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	want := map[string]bool{}
	for _, m := range msgs {
		want[m.ID] = true
	}
	for _, mm := range s.view(folder) {
		if !want[mm.m.ID] {
			continue
		}
		m := mm.m
		if s.wrongSize {
			m.Size++
		}
		if err := fn(m, bytes.NewReader(mm.body)); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }
