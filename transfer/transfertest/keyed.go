package transfertest

import (
	"context"
	"slices"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// KeyedMemSource is a MemSource that reads identity keys without bodies
// (transfer.Keyer) and lists sizes with CRLF line ends, as an IMAP source
// does; Delivered then counts exactly the bodies a run fetched.
type KeyedMemSource struct {
	*MemSource
}

var _ transfer.Keyer = KeyedMemSource{}

// NewKeyedMemSource returns an empty keyed source.
func NewKeyedMemSource() KeyedMemSource { return KeyedMemSource{NewMemSource()} }

// List implements transfer.Source, with VirtualSize set.
func (k KeyedMemSource) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	msgs, err := k.MemSource.List(ctx, folder)
	if err != nil {
		return nil, err
	}
	bodies := k.bodies(folder)
	for i := range msgs {
		if b, ok := bodies[msgs[i].ID]; ok {
			msgs[i].VirtualSize = formats.VirtualSize(b)
		}
	}
	return msgs, nil
}

// Keys implements transfer.Keyer.
func (k KeyedMemSource) Keys(ctx context.Context, folder string, msgs []transfer.Message) (map[string]string, error) {
	bodies := k.bodies(folder)
	out := make(map[string]string, len(msgs))
	k.mu.Lock()
	k.keyCalls++
	k.mu.Unlock()
	for _, m := range msgs {
		if b, ok := bodies[m.ID]; ok {
			out[m.ID] = formats.IdentityKey(b)
		}
	}
	return out, nil
}

// KeyCalls returns how many times Keys was called.
func (k KeyedMemSource) KeyCalls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keyCalls
}

// bodies returns the bodies of folder by message ID.
func (s *MemSource) bodies(folder string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte)
	if f := s.folder(folder); f != nil {
		for _, m := range f.msgs {
			out[m.m.ID] = m.body
		}
	}
	return out
}

// MailboxIdentity implements transfer.MailboxIdentifier: Identity plus the
// folder name, or "" when Identity is empty.
func (s *MemSource) MailboxIdentity(ctx context.Context, folder string, listed []transfer.Message) (string, error) {
	if s.Identity == "" {
		return "", nil
	}
	return s.Identity + "/" + folder, nil
}

// SetFlags changes the flags of a message in folder, as a user reading mail
// does between two runs.
func (s *MemSource) SetFlags(folder, id string, flags []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.folder(folder); f != nil {
		for i := range f.msgs {
			if f.msgs[i].m.ID == id {
				f.msgs[i].m.Flags = slices.Clone(flags)
			}
		}
	}
}
