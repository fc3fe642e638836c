// Package imap reads mail from an IMAP server without changing it: folders
// are opened with EXAMINE, bodies fetched with BODY.PEEK[], nothing is
// stored or expunged (except by Delete, for --delete-source).
//
// Message IDs are "UIDVALIDITY.UID". go-imap matches a FETCH response to
// its UID FETCH command by the UID, assuming the UID comes before the body
// literal; servers that send it after see their messages dropped silently.
// So every UID FETCH is checked against the requested UIDs, and the missing
// ones are fetched again by sequence number, where the routing does not
// depend on the UID, with the body held until the UID tells whose it is.
package imap

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// Source is an IMAP account read as a transfer.Source.
type Source struct {
	pool *imapconn.Pool

	mu      sync.Mutex
	folders map[string]*folderInfo // by transfer name

	// seqMode is set once the server has been seen sending UID after the
	// body literal: bodies are then fetched by sequence number at once.
	seqMode atomic.Bool

	tempDir string // see SetTempDir
	dedupe  bool   // see SetDedupeAcrossFolders

	// gmail is set by Folders on a Gmail account (gmail.go).
	gmail *gmail
}

type folderInfo struct {
	server      string
	uidValidity uint32 // as seen by List; 0 before
}

var (
	_ transfer.Source   = (*Source)(nil)
	_ transfer.Fetchers = (*Source)(nil)
	_ transfer.Deleter  = (*Source)(nil)

	_ transfer.FlagChanges = (*Source)(nil)
)

// New logs in once, so a wrong password fails at once with a Fatal error
// naming server and user.
func New(ctx context.Context, opts imapconn.Options) (*Source, error) {
	pool, err := imapconn.NewPool(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Source{pool: pool, folders: make(map[string]*folderInfo)}, nil
}

// SetTempDir sets where a large body that arrives before its UID is held
// (--temp-dir); "" is the system's temporary directory. Call it before the
// first Fetch.
func (s *Source) SetTempDir(dir string) { s.tempDir = dir }

// SetDedupeAcrossFolders lists a Gmail message with several labels in the
// first of its folders only (--dedupe-across-folders; see gmail.go). Call
// it before Folders.
func (s *Source) SetDedupeAcrossFolders(on bool) { s.dedupe = on }

// MaxFetchers is the connection budget: one Fetch per connection.
func (s *Source) MaxFetchers() int { return s.pool.Size() }

// Close logs out.
func (s *Source) Close() error { return s.pool.Close() }

// ServerInfo describes the server (capabilities, delimiter, namespace).
func (s *Source) ServerInfo() *imapconn.ServerInfo { return s.pool.Info() }

func (s *Source) folder(name string) *folderInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[name]
	if f == nil {
		server, _ := s.pool.Info().ToServer(name)
		f = &folderInfo{server: server}
		s.folders[name] = f
	}
	return f
}

// Folders lists the selectable folders with their special-use roles, and
// message counts and sizes when the server has LIST-STATUS.
func (s *Source) Folders(ctx context.Context) ([]transfer.Folder, error) {
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	list, err := imapconn.ListFolders(ctx, c, true)
	if err != nil {
		return nil, err
	}
	if g := s.gmailFolders(list); g != nil {
		list = g
	}
	var out []transfer.Folder
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range list {
		out = append(out, l.Folder)
		if s.folders[l.Name] == nil {
			s.folders[l.Name] = &folderInfo{server: l.Server}
		} else {
			s.folders[l.Name].server = l.Server
		}
	}
	return out, nil
}

// List returns the metadata of every message in folder:
// UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE) on the folder opened
// read-only. On a Gmail account, the archive folder and, with
// SetDedupeAcrossFolders, every folder leave out what other folders hold
// (gmail.go).
func (s *Source) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	listed, err := s.listAll(ctx, folder)
	if err != nil {
		return nil, err
	}
	if g := s.gmailView(); g != nil {
		return s.gmailList(ctx, g, folder, listed)
	}
	return listed, nil
}

// listAll lists every message of folder.
func (s *Source) listAll(ctx context.Context, folder string) ([]transfer.Message, error) {
	f := s.folder(folder)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	// A fresh EXAMINE: a cached one may predate new messages.
	c.Unselected()
	sel, err := c.Select(ctx, f.server, true)
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", folder, openRefused(err))
	}
	s.mu.Lock()
	f.uidValidity = sel.UIDValidity
	s.mu.Unlock()
	if sel.NumMessages == 0 {
		return nil, nil
	}
	// Each answer becomes its Message as it arrives: collected first, the
	// answers of a large folder would take more memory than the listing.
	out := make([]transfer.Message, 0, sel.NumMessages)
	flags := sharedFlags{sets: make(map[string][]string)}
	err = c.StreamFetch(ctx, imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}},
		&imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true},
		fmt.Sprintf("listing folder %q (UID FETCH)", folder), imapconn.FetchHandler{
			Done: func(m *imapconn.FetchedMessage) error {
				if m.UID == 0 {
					return nil
				}
				out = append(out, transfer.Message{
					Folder: folder,
					ID:     FormatID(sel.UIDValidity, m.UID),
					Flags:  flags.of(m.Flags),
					Date:   m.InternalDate,
					Size:   m.Size,
					// RFC822.SIZE is the size in CRLF form.
					VirtualSize: m.Size,
					CRLF:        true,
				})
				return nil
			},
		})
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", folder, err)
	}
	sort.Slice(out, func(i, j int) bool {
		_, a, _ := ParseID(out[i].ID)
		_, b, _ := ParseID(out[j].ID)
		return a < b
	})
	return out, nil
}

// sharedFlags gives the messages of one listing that have the same flags
// one normalised slice: a folder's messages share a handful of flag sets,
// and a slice of its own for each would be a good part of what a large
// folder's listing holds. Nothing modifies a listed message's flags.
type sharedFlags struct {
	sets map[string][]string // by the flags as fetched, each followed by a NUL
	key  []byte
}

func (s *sharedFlags) of(fetched []imap.Flag) []string {
	s.key = s.key[:0]
	for _, f := range fetched {
		s.key = append(append(s.key, f...), 0)
	}
	if set, ok := s.sets[string(s.key)]; ok {
		return set
	}
	set := imapconn.Flags(fetched)
	s.sets[string(s.key)] = set
	return set
}

// FormatID is the Message.ID of an IMAP message.
func FormatID(uidValidity uint32, uid imap.UID) string {
	return strconv.FormatUint(uint64(uidValidity), 10) + "." + strconv.FormatUint(uint64(uid), 10)
}

// ParseID splits a Message.ID made by FormatID.
func ParseID(id string) (uidValidity uint32, uid imap.UID, err error) {
	v, u, ok := strings.Cut(id, ".")
	if !ok {
		return 0, 0, fmt.Errorf("not an IMAP message ID (UIDVALIDITY.UID): %q", id)
	}
	vv, err1 := strconv.ParseUint(v, 10, 32)
	uu, err2 := strconv.ParseUint(u, 10, 32)
	if err1 != nil || err2 != nil || uu == 0 {
		return 0, 0, fmt.Errorf("not an IMAP message ID (UIDVALIDITY.UID): %q", id)
	}
	return uint32(vv), imap.UID(uu), nil
}

// errVanished is the cause for a message the server no longer returns.
var errVanished = errors.New("the server did not return this message (deleted or moved since it was listed?)")

func warn(c *imapconn.Conn, msg string) { c.Options().Warning(msg) }

// openRefused makes the server's refusal to open one folder, such as
// Dovecot's "NO [NOPERM] Permission denied" for a shared folder the user
// may not read, fail only that folder (PerMessage): the other folders are
// copied. A refusal that may pass stays Temporary.
func openRefused(err error) error {
	if imapconn.IsResponse(err) && transfer.ClassOf(err) == transfer.Fatal {
		return transfer.PerMessageError(err)
	}
	return err
}

// ChangedFlags implements transfer.FlagChanges: when two states of folder
// (from Folders) have the same UIDVALIDITY, UIDNEXT and MESSAGES, the same
// messages are there, and UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE m), m
// the older HIGHESTMODSEQ, returns just the ones whose flags changed.
func (s *Source) ChangedFlags(ctx context.Context, folder, oldState, newState string) ([]transfer.Message, bool, error) {
	oldBase, oldMod, ok1 := imapconn.SplitFolderState(oldState)
	newBase, newMod, ok2 := imapconn.SplitFolderState(newState)
	if !ok1 || !ok2 || oldBase != newBase || newMod < oldMod {
		return nil, false, nil
	}
	f := s.folder(folder)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, false, err
	}
	defer s.pool.Put(c)
	c.Unselected()
	sel, err := c.Select(ctx, f.server, true)
	if err != nil {
		return nil, false, fmt.Errorf("folder %q: %w", folder, openRefused(err))
	}
	if imapconn.FolderState(sel) != newBase {
		// Changed again since LIST: list it in full.
		return nil, false, nil
	}
	if sel.NumMessages == 0 {
		return nil, true, nil
	}
	var bufs []*imapclientBuffer
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH (FLAGS) (CHANGEDSINCE %d)", folder, oldMod), func() error {
		var err error
		bufs, err = c.C.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: oldMod}).Collect()
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("folder %q: %w", folder, err)
	}
	out := make([]transfer.Message, 0, len(bufs))
	for _, b := range bufs {
		if b.UID == 0 {
			continue
		}
		out = append(out, transfer.Message{Folder: folder, ID: FormatID(sel.UIDValidity, b.UID), Flags: imapconn.Flags(b.Flags)})
	}
	return out, true, nil
}
