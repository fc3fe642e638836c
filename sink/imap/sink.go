// Package imap stores mail on an IMAP server: folders are created with
// their parents and subscribed, messages APPENDed with their flags,
// keywords and INTERNALDATE. Put reads the run's spool (transfer.Body),
// which it may read more than once: the literal's size must be known up
// front (a body from a local archive is measured in CRLF form, then
// converted as it is sent), and an APPEND that breaks off must be checked
// for a partial copy left on the server, which is then deleted; a partial
// message never remains. Where the server offers MULTIAPPEND, concurrent
// Puts into one folder share an APPEND command (batch.go).
package imap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// Sink is an IMAP account written as a transfer.Sink.
type Sink struct {
	pool    *imapconn.Pool
	pipes   *pipes
	batches *batcher // nil unless the server offers MULTIAPPEND

	mu      sync.Mutex
	folders map[string]*destFolder // by transfer name

	listMu sync.Mutex
	listed []imapconn.ListedFolder // cached LIST for FolderForRole

	atStart accountListing // see snapshot.go

	renamedMu sync.Mutex
	renamed   map[string]string // refused folders → the names they are stored under

	userLimit SizeLimit // see SetSizeLimit

	storedMu sync.Mutex
	stored   []storedCopy // APPENDed this run, for StoredRewrites
}

var (
	_ transfer.Sink         = (*Sink)(nil)
	_ transfer.Indexer      = (*Sink)(nil)
	_ transfer.RoleResolver = (*Sink)(nil)

	_ transfer.FolderRenamer = (*Sink)(nil)
	_ transfer.PutWorkers    = (*Sink)(nil)
)

// destFolder is what the sink knows about one destination folder.
type destFolder struct {
	name   string // transfer name
	server string

	mu    sync.Mutex // held while the folder is set up
	ready bool
	// refused is the server's refusal to create the folder, returned for
	// every message of it without asking the server again.
	refused error
	// permanent is PERMANENTFLAGS from SELECT; nil when the server did not
	// say, which means every flag is kept.
	permanent  []imap.Flag
	anyKeyword bool
	// uidNext is a UID no greater than that of any message APPENDed from
	// now on: the start of the range to search for a partial message
	// after a broken APPEND.
	uidNext imap.UID
	// suspects are broken APPENDs to look at again in Close.
	suspects []suspect
	// appendLimit is the folder's APPENDLIMIT from STATUS, 0 for none,
	// once appendLimitKnown.
	appendLimit      int64
	appendLimitKnown bool
}

// serverName is the folder's name on the server, which setting the folder
// up may change (a refused name is stored under another).
func (f *destFolder) serverName() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.server
}

// New logs in once, so a wrong password fails at once with a Fatal error
// naming server and user, and lists the account's folders (snapshot.go).
func New(ctx context.Context, opts imapconn.Options) (*Sink, error) {
	pool, err := imapconn.NewPool(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Sink{pool: pool, pipes: newPipes(pool), folders: make(map[string]*destFolder)}
	c, err := pool.Get(ctx)
	if err == nil {
		err = s.listAccount(ctx, c)
		pool.Put(c)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	if pool.Info().Caps.Has(imap.CapMultiAppend) {
		s.batches = newBatcher(s)
	}
	return s, nil
}

// Close looks once more for partial copies left by APPENDs that broke off
// (a server may store one after it notices the broken connection) and
// deletes them, then logs out. An error means a partial copy may remain;
// it names the folder and message.
func (s *Sink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	err := s.sweep(ctx)
	s.pool.Close()
	return err
}

// ServerInfo describes the server (capabilities, delimiter, namespace).
func (s *Sink) ServerInfo() *imapconn.ServerInfo { return s.pool.Info() }

func (s *Sink) warn(msg string) { s.pool.Options().Warning(msg) }

func (s *Sink) folder(name string) *destFolder {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[name]
	if f == nil {
		server, replaced := s.pool.Info().ToServer(name)
		if replaced {
			s.warn(fmt.Sprintf("imap %s: folder %q is stored as %q: the server's hierarchy delimiter cannot appear inside a folder name",
				s.pool.Options().Server(), name, server))
		}
		f = &destFolder{name: name, server: server}
		s.folders[name] = f
	}
	return f
}

// prepare creates the folder (with its parents) when it does not exist,
// subscribes it, and learns PERMANENTFLAGS and UIDNEXT with a SELECT.
func (s *Sink) prepare(ctx context.Context, f *destFolder) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refused != nil {
		return f.refused
	}
	if f.ready {
		return nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	exists, err := s.locate(ctx, c, f)
	if err != nil {
		return err
	}
	if !exists {
		err := s.create(ctx, c, f)
		var refused *transfer.FolderRefusedError
		if errors.As(err, &refused) {
			// One rule for every server: the folder is stored under
			// RefusedFolderName instead, if the server takes that.
			alt := transfer.RefusedFolderName(f.name)
			if alt == f.name {
				return err
			}
			orig := f.server
			f.server, _ = c.Info.ToServer(alt)
			f.refused = nil
			if cerr := s.create(ctx, c, f); cerr != nil {
				f.server, f.refused = orig, err
				s.warn(fmt.Sprintf("%v (and %q too); its messages are not copied, the other folders are", err, alt))
				return err
			}
			s.adoptRename(f, alt, refused.Reason)
		} else if err != nil {
			return err
		}
	}
	// From here on the run writes to the folder.
	s.touched(f.server)
	sel, err := c.Select(ctx, f.server, false)
	if err != nil {
		return fmt.Errorf("folder %q: %w", f.name, err)
	}
	f.permanent = sel.PermanentFlags
	f.anyKeyword = sel.PermanentFlags == nil
	for _, p := range sel.PermanentFlags {
		if p == imap.FlagWildcard {
			f.anyKeyword = true
		}
	}
	f.uidNext = sel.UIDNext
	if f.uidNext == 0 {
		f.uidNext = 1
	}
	f.ready = true
	return nil
}

// createRefused handles the server's refusal (err, a tagged NO or BAD) to
// create name, the folder f or one of its parents. A refusal that may pass
// ([UNAVAILABLE], [INUSE]) is returned as it is, and [OVERQUOTA] stays
// Fatal. Any other refusal fails only this folder: it is remembered, so
// each message of the folder is reported without another CREATE.
func (s *Sink) createRefused(f *destFolder, name string, err error) error {
	if c := transfer.ClassOf(err); c == transfer.Temporary || errors.Is(err, transfer.ErrOverQuota) {
		return err
	}
	var ie *imap.Error
	errors.As(err, &ie)
	reason := imapconn.Refusal{E: ie}.Error()
	if name != f.server {
		reason = fmt.Sprintf("creating its parent %q: %s", name, reason)
	}
	f.refused = transfer.PerMessageError(&transfer.FolderRefusedError{
		Folder: f.name,
		Server: "imap " + s.pool.Options().Server(),
		Reason: reason,
		Err:    err,
	})
	return f.refused
}

// create creates f.server with its missing parents and subscribes them.
// Called with f.mu held.
func (s *Sink) create(ctx context.Context, c *imapconn.Conn, f *destFolder) error {
	for _, name := range append(c.Info.Parents(f.server), f.server) {
		ok, err := folderExists(ctx, c, name)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		err = c.Do(ctx, fmt.Sprintf("CREATE %q", name), func() error { return c.C.Create(name, nil).Wait() })
		if err != nil && !imapconn.IsResponse(err) {
			return err
		}
		if err != nil {
			// Another run (or our own other connection) may have
			// created it meanwhile; only a folder still missing is an
			// error.
			ok, lerr := folderExists(ctx, c, name)
			if lerr != nil {
				return lerr
			}
			if !ok {
				return s.createRefused(f, name, err)
			}
		}
		if err := c.Do(ctx, fmt.Sprintf("SUBSCRIBE %q", name), func() error { return c.C.Subscribe(name).Wait() }); err != nil && !imapconn.IsResponse(err) {
			return err
		}
	}
	s.listMu.Lock()
	s.listed = nil
	s.listMu.Unlock()
	return nil
}

// locate reports whether f exists on the server. When it does not but the
// name RefusedFolderName gives it does, an earlier run stored it there
// after a refusal, and f is stored there again. Called with f.mu held.
func (s *Sink) locate(ctx context.Context, c *imapconn.Conn, f *destFolder) (bool, error) {
	if _, ok := s.listedAtStart(f.server); ok {
		return true, nil
	}
	exists, err := folderExists(ctx, c, f.server)
	if err != nil || exists {
		return exists, err
	}
	alt := transfer.RefusedFolderName(f.name)
	if alt == f.name {
		return false, nil
	}
	altServer, _ := c.Info.ToServer(alt)
	exists, err = folderExists(ctx, c, altServer)
	if err != nil || !exists {
		return false, err
	}
	f.server = altServer
	s.adoptRename(f, alt, "")
	return true, nil
}

// adoptRename records and reports that f is stored as alt.
func (s *Sink) adoptRename(f *destFolder, alt, reason string) {
	s.renamedMu.Lock()
	if s.renamed == nil {
		s.renamed = make(map[string]string)
	}
	_, known := s.renamed[f.name]
	s.renamed[f.name] = alt
	s.renamedMu.Unlock()
	if known {
		return
	}
	if reason != "" {
		s.warn(fmt.Sprintf("imap %s refused to create folder %q (%s); its messages are stored in %q instead",
			s.pool.Options().Server(), f.name, reason, alt))
	} else {
		s.warn(fmt.Sprintf("imap %s: folder %q is stored in %q, as in an earlier run the server refused its name",
			s.pool.Options().Server(), f.name, alt))
	}
}

// RenamedFolders implements transfer.FolderRenamer.
func (s *Sink) RenamedFolders() map[string]string {
	s.renamedMu.Lock()
	defer s.renamedMu.Unlock()
	return maps.Clone(s.renamed)
}

// folderExists asks LIST for exactly name.
func folderExists(ctx context.Context, c *imapconn.Conn, name string) (bool, error) {
	var list []*imap.ListData
	err := c.Do(ctx, fmt.Sprintf("LIST %q", name), func() error {
		var err error
		list, err = c.C.List("", name, nil).Collect()
		return err
	})
	if err != nil {
		return false, err
	}
	for _, l := range list {
		if imapconn.HasAttr(l.Attrs, imap.MailboxAttrNoSelect) || imapconn.HasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		if l.Mailbox == name || strings.EqualFold(name, "INBOX") && strings.EqualFold(l.Mailbox, "INBOX") {
			return true, nil
		}
	}
	return false, nil
}

func (f *destFolder) uidMark() imap.UID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uidNext
}

// appended notes the UID the server gave an APPENDed message: an APPEND
// that starts after this one finished gets a greater UID.
func (f *destFolder) appended(uid imap.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if uid != 0 && uid+1 > f.uidNext {
		f.uidNext = uid + 1
	}
}

var systemFlags = map[string]bool{
	formats.FlagSeen: true, formats.FlagAnswered: true, formats.FlagFlagged: true,
	formats.FlagDraft: true, formats.FlagDeleted: true,
}

// flags returns the flags to APPEND with: system flags IMAP defines, and
// keywords that are valid atoms the folder can keep. Each dropped keyword
// is a warning naming folder, message and keyword.
func (s *Sink) flags(f *destFolder, m transfer.Message) []imap.Flag {
	var out []imap.Flag
	drop := func(fl, why string) {
		s.warn(fmt.Sprintf("imap %s: folder %q, message %s: flag %q not stored: %s",
			s.pool.Options().Server(), m.Folder, m.ID, fl, why))
	}
	for _, fl := range formats.NormalizeFlags(m.Flags) {
		switch {
		case formats.IsSystemFlag(fl):
			if !systemFlags[fl] {
				drop(fl, "not a system flag IMAP defines")
				continue
			}
		case !formats.ValidKeyword(fl):
			drop(fl, "not a valid IMAP keyword")
			continue
		case !f.keywordAllowed(fl):
			drop(fl, "the server accepts no new keywords in this folder (PERMANENTFLAGS)")
			continue
		}
		out = append(out, imap.Flag(fl))
	}
	return out
}

func (f *destFolder) keywordAllowed(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.anyKeyword {
		return true
	}
	for _, p := range f.permanent {
		if strings.EqualFold(string(p), k) {
			return true
		}
	}
	return false
}

// Put APPENDs one message. It returns when the server has acknowledged
// the message. Where the server offers MULTIAPPEND, the messages of
// concurrent Puts into one folder go in one APPEND command (see
// batcher). A connection that breaks during the APPEND is replaced, the
// folder is checked for what the APPEND left behind (a complete copy
// counts as stored; a partial one is deleted), and the error is Temporary
// so the message is tried again.
func (s *Sink) Put(ctx context.Context, m transfer.Message, b transfer.Body) error {
	f := s.folder(m.Folder)
	if err := s.prepare(ctx, f); err != nil {
		return err
	}
	body, err := newWire(m, b)
	if err != nil {
		return err
	}
	if err := s.checkSize(ctx, f, m, body.size); err != nil {
		return err
	}
	o := &outgoing{m: m, flags: s.flags(f, m), body: body}
	if s.batches != nil {
		alone, err := s.batches.put(ctx, f, o)
		var retry *tryCreate
		switch {
		case errors.As(err, &retry):
			// The folder went away: set up again, then sent alone.
			if err := s.prepareAgain(ctx, f); err != nil {
				return err
			}
		case !alone:
			return err
		}
		// Otherwise the server refused the batch the message was in:
		// it is sent alone, so its own answer says whether it is the
		// one refused.
	}
	return s.putAlone(ctx, f, o)
}

// prepareAgain sets the folder up anew after the server answered an
// APPEND with [TRYCREATE].
func (s *Sink) prepareAgain(ctx context.Context, f *destFolder) error {
	f.mu.Lock()
	f.ready = false
	f.mu.Unlock()
	return s.prepare(ctx, f)
}

// outgoing is one message on its way to the server.
type outgoing struct {
	m     transfer.Message
	flags []imap.Flag
	body  *wire
}

// putAlone APPENDs one message in a command of its own.
func (s *Sink) putAlone(ctx context.Context, f *destFolder, o *outgoing) error {
	for attempt := 0; ; attempt++ {
		err := s.append(ctx, f, o)
		var retry *tryCreate
		if errors.As(err, &retry) && attempt == 0 {
			if err := s.prepareAgain(ctx, f); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

type tryCreate struct{ err error }

func (t *tryCreate) Error() string { return t.err.Error() }
func (t *tryCreate) Unwrap() error { return t.err }

func (s *Sink) append(ctx context.Context, f *destFolder, o *outgoing) error {
	slot, err := s.pipes.acquire(ctx, pipeWindow)
	if err != nil {
		return err
	}
	m, body := o.m, o.body
	mark := f.uidMark()
	pend, werr := slot.p.Send(imapconn.AppendRequest{Mailbox: f.serverName(), Flags: o.flags, Date: m.Date, Size: body.size, Body: body.copyTo})
	var res *imapconn.AppendResult
	err = werr
	if werr == nil {
		res, err = pend.Wait(ctx, slot.p)
	}
	s.pipes.release(slot)
	if err == nil {
		f.appended(res.UID())
		s.noteStored(f, m, res.UIDValidity, res.UID(), body)
		return nil
	}
	if errors.Is(err, imapconn.ErrNotSent) {
		// The pipeline's connection broke before this APPEND began:
		// the server has nothing of it.
		return transfer.TemporaryError(fmt.Errorf("folder %q, message %s: %w", m.Folder, m.ID, err))
	}
	if imapconn.IsResponse(err) {
		// The server refused the message; nothing was stored.
		return s.refused(m, err)
	}
	// The connection broke (or our own copy failed mid-literal, which
	// breaks it too: the server waits for bytes that will not come).
	stored, cerr := s.cleanup(ctx, f, []*outgoing{o}, mark)
	if cerr != nil {
		return cerr
	}
	if stored[0] {
		return nil
	}
	return transfer.TemporaryError(fmt.Errorf("folder %q, message %s: %w", m.Folder, m.ID, err))
}

// refused is the error for a message the server refused (err, a tagged NO
// or BAD): nothing was stored.
func (s *Sink) refused(m transfer.Message, err error) error {
	var ie *imap.Error
	errors.As(err, &ie)
	full := fmt.Errorf("imap %s: APPEND: %w", s.pool.Options().Server(), imapconn.Refusal{E: ie})
	if ie.Code == imap.ResponseCodeTryCreate {
		return &tryCreate{transfer.TemporaryError(full)}
	}
	return imapconn.AppendRefusal(ie, &transfer.MessageError{Folder: m.Folder, ID: m.ID, Err: full})
}
