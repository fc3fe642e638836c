package imapserver

import (
	"io"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
)

// session is one client connection. It translates folder names between
// what clients see (Options.Delimiter, Options.Prefix) and the
// "/"-separated names the store keeps.
type session struct {
	srv  *Server
	user *user

	// The selected folder, if any, and its stored name.
	selected     *mailbox
	selectedName string
	view         *goimapserver.SessionTracker
	readOnly     bool
	searchRes    imap.UIDSet
}

var (
	_ goimapserver.SessionIMAP4rev2 = (*session)(nil)
	_ goimapserver.SessionMove      = (*session)(nil)
)

// limitedSession is a session whose server advertises APPENDLIMIT=limit:
// go-imap asks a session for the limit when it implements
// SessionAppendLimit, so only servers with Options.AppendLimit get one.
type limitedSession struct {
	*session
	limit uint32
}

var _ goimapserver.SessionAppendLimit = (*limitedSession)(nil)

func (s *limitedSession) AppendLimit() uint32 { return s.limit }

func (s *session) toMem(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	o := s.srv.opts
	if o.Prefix != "" && len(name) >= len(o.Prefix) && strings.EqualFold(name[:len(o.Prefix)], o.Prefix) {
		name = name[len(o.Prefix):]
	}
	if o.Delimiter != '/' {
		name = strings.ReplaceAll(name, string(o.Delimiter), "/")
	}
	return name
}

func (s *session) toClient(mem string) string {
	if mem == "INBOX" {
		return "INBOX"
	}
	o := s.srv.opts
	if o.Delimiter != '/' {
		mem = strings.ReplaceAll(mem, "/", string(o.Delimiter))
	}
	return o.Prefix + mem
}

func (s *session) Close() error {
	s.unselect()
	return nil
}

func (s *session) unselect() {
	if s.view != nil {
		s.view.Close()
	}
	s.selected, s.selectedName, s.view, s.readOnly, s.searchRes = nil, "", nil, false, nil
}

func (s *session) Login(username, password string) error {
	u, err := s.srv.user(username)
	if err != nil || !u.checkPassword(password) {
		return goimapserver.ErrAuthFailed
	}
	s.user = u
	return nil
}

func (s *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	name := s.toMem(mailbox)
	command := "SELECT"
	if options != nil && options.ReadOnly {
		command = "EXAMINE"
	}
	if e := s.refused(command, name); e != nil {
		return nil, e
	}
	mb, err := s.user.mailbox(name)
	if err != nil {
		return nil, err
	}
	if s.srv.noSelect(name) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "Unknown Mailbox: [Gmail] (Failure)"}
	}
	s.unselect()
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s.selected, s.selectedName, s.view = mb, name, mb.tracker.NewSession()
	s.readOnly = options != nil && options.ReadOnly
	return mb.selectDataLocked(), nil
}

func (s *session) Unselect() error {
	s.unselect()
	return nil
}

func (s *session) Create(mailbox string, options *imap.CreateOptions) error {
	mem := strings.TrimRight(s.toMem(mailbox), "/")
	if e := s.refused("CREATE", mem); e != nil {
		return e
	}
	return s.user.create(mem)
}

// refused is Options.Refuse's answer to command on folder, or nil.
func (s *session) refused(command, folder string) *imap.Error {
	if refuse := s.srv.opts.Refuse; refuse != nil {
		return refuse(command, folder)
	}
	return nil
}

func (s *session) Delete(mailbox string) error {
	return s.user.delete(s.toMem(mailbox))
}

func (s *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	return s.user.rename(s.toMem(mailbox), strings.TrimRight(s.toMem(newName), "/"))
}

func (s *session) setSubscribed(mailbox string, sub bool) error {
	mem := s.toMem(mailbox)
	s.user.mu.Lock()
	defer s.user.mu.Unlock()
	if s.user.boxes[mem] == nil {
		return errNoMailbox
	}
	s.user.folders[mem] = sub
	return nil
}

func (s *session) Subscribe(mailbox string) error   { return s.setSubscribed(mailbox, true) }
func (s *session) Unsubscribe(mailbox string) error { return s.setSubscribed(mailbox, false) }

func (s *session) List(w *goimapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	delim := s.srv.opts.Delimiter
	if len(patterns) == 0 || len(patterns) == 1 && patterns[0] == "" {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	s.user.mu.Lock()
	mems := make([]string, 0, len(s.user.folders))
	subscribed := make(map[string]bool, len(s.user.folders))
	for m, sub := range s.user.folders {
		mems = append(mems, m)
		subscribed[m] = sub
	}
	s.user.mu.Unlock()
	sort.Strings(mems)
	for _, mem := range mems {
		name := s.toClient(mem)
		match := false
		for _, p := range patterns {
			if goimapserver.MatchList(name, delim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		role := s.srv.opts.SpecialUse[mem]
		if options.SelectSubscribed && !subscribed[mem] || options.SelectSpecialUse && role == "" {
			continue
		}
		data := imap.ListData{Mailbox: name, Delim: delim}
		if s.srv.noSelect(mem) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		if subscribed[mem] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if role != "" {
			data.Attrs = append(data.Attrs, imap.MailboxAttr(role))
		}
		children := false
		for _, other := range mems {
			if strings.HasPrefix(other, mem+"/") {
				children = true
				break
			}
		}
		if children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if options.ReturnStatus != nil {
			if mb, err := s.user.mailbox(mem); err == nil {
				st := mb.status(options.ReturnStatus)
				st.Mailbox = name
				data.Status = st
			}
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	mb, err := s.user.mailbox(s.toMem(mailbox))
	if err != nil {
		return nil, err
	}
	data := mb.status(options)
	data.Mailbox = mailbox
	return data, nil
}

// Append stores the literal exactly as sent. With
// Options.KeepPartialAppend, what arrived of a literal cut short is stored
// too.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	mb, err := s.user.mailbox(s.toMem(mailbox))
	if err != nil {
		return nil, errTryCreate
	}
	body, err := io.ReadAll(r)
	if err == nil && int64(len(body)) < r.Size() {
		// The client went away mid-literal: go-imap's reader ends
		// early without an error.
		err = io.ErrUnexpectedEOF
	}
	if err != nil && !s.srv.opts.KeepPartialAppend {
		return nil, err
	}
	if s.srv.opts.MultiAppend && err == nil {
		if msgs, ok, err := unpack(body); ok {
			if err != nil {
				return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: err.Error()}
			}
			return s.appendPacked(mb, s.toMem(mailbox), msgs)
		}
	}
	if refuse := s.srv.opts.RefuseAppend; refuse != nil && err == nil {
		if ie := refuse(s.toMem(mailbox), body); ie != nil {
			return nil, ie
		}
	}
	if rewrite := s.srv.opts.StoreBody; rewrite != nil && err == nil {
		body = rewrite(s.toMem(mailbox), body)
	}
	data := mb.add(body, options.Flags, options.Time)
	if err != nil {
		return nil, err
	}
	s.user.alsoInAllMail(s.srv, s.toMem(mailbox), body, options.Flags, options.Time)
	return data, nil
}

func (s *session) Poll(w *goimapserver.UpdateWriter, allowExpunge bool) error {
	if s.view == nil {
		return nil
	}
	return s.view.Poll(w, allowExpunge)
}

func (s *session) Idle(w *goimapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.view == nil {
		<-stop
		return nil
	}
	return s.view.Idle(w, stop)
}

func (s *session) Expunge(w *goimapserver.ExpungeWriter, uids *imap.UIDSet) error {
	mb := s.selected
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.expungeLocked(func(m *message) bool {
		return m.has(imap.FlagDeleted) && (uids == nil || uids.Contains(m.uid))
	})
	return nil
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	to, err := s.user.mailbox(s.toMem(dest))
	if err != nil {
		return nil, errTryCreate
	}
	if to == s.selected {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Source and destination mailboxes are identical"}
	}
	var copied []*message
	s.forEach(numSet, func(_ uint32, m *message) {
		copied = append(copied, &message{uid: m.uid, body: m.body, date: m.date, flags: m.flagList()})
	})
	data := &imap.CopyData{UIDValidity: to.uidValidity}
	for _, m := range copied {
		ad := to.add(m.body, m.flags, m.date)
		if !s.srv.inAllMail(s.selectedName) {
			s.user.alsoInAllMail(s.srv, s.toMem(dest), m.body, m.flags, m.date)
		}
		data.SourceUIDs.AddNum(m.uid)
		data.DestUIDs.AddNum(ad.UID)
	}
	return data, nil
}

// Move copies, then expunges the originals; the EXPUNGE responses go out
// with the update poll that follows every command.
func (s *session) Move(w *goimapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	data, err := s.Copy(numSet, dest)
	if err != nil {
		return err
	}
	moved := data.SourceUIDs
	mb := s.selected
	mb.mu.Lock()
	mb.expungeLocked(func(m *message) bool { return moved.Contains(m.uid) })
	mb.mu.Unlock()
	return w.WriteCopyData(data)
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: s.srv.opts.Prefix, Delim: s.srv.opts.Delimiter}},
	}, nil
}
