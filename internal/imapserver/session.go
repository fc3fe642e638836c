package imapserver

import (
	"bytes"
	"io"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// session wraps imapmemserver's session: it translates folder names
// between what clients see (Options.Delimiter, Options.Prefix) and the
// "/"-separated names imapmemserver keeps, and answers LIST itself so
// special-use attributes and subscriptions appear.
type session struct {
	srv   *Server
	user  *user
	inner *imapmemserver.UserSession
}

var _ goimapserver.SessionIMAP4rev2 = (*session)(nil)

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
	if s.inner != nil {
		return s.inner.Close()
	}
	return nil
}

func (s *session) Login(username, password string) error {
	u, err := s.srv.user(username)
	if err != nil || u.mem.Login(username, password) != nil {
		return goimapserver.ErrAuthFailed
	}
	s.user = u
	s.inner = imapmemserver.NewUserSession(u.mem)
	return nil
}

func (s *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	return s.inner.Select(s.toMem(mailbox), options)
}

func (s *session) Create(mailbox string, options *imap.CreateOptions) error {
	mem := strings.TrimRight(s.toMem(mailbox), "/")
	if err := s.inner.Create(mem, options); err != nil {
		return err
	}
	s.user.mu.Lock()
	s.user.folders[mem] = false
	s.user.mu.Unlock()
	return nil
}

func (s *session) Delete(mailbox string) error {
	mem := s.toMem(mailbox)
	if err := s.inner.Delete(mem); err != nil {
		return err
	}
	s.user.mu.Lock()
	delete(s.user.folders, mem)
	s.user.mu.Unlock()
	return nil
}

func (s *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	from, to := s.toMem(mailbox), strings.TrimRight(s.toMem(newName), "/")
	if err := s.inner.Rename(from, to, options); err != nil {
		return err
	}
	s.user.mu.Lock()
	s.user.folders[to] = s.user.folders[from]
	delete(s.user.folders, from)
	s.user.mu.Unlock()
	return nil
}

func (s *session) setSubscribed(mailbox string, sub bool) error {
	mem := s.toMem(mailbox)
	if _, err := s.inner.Status(mem, &imap.StatusOptions{}); err != nil {
		return err
	}
	s.user.mu.Lock()
	s.user.folders[mem] = sub
	s.user.mu.Unlock()
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
			st, err := s.inner.Status(mem, options.ReturnStatus)
			if err == nil {
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
	data, err := s.inner.Status(s.toMem(mailbox), options)
	if err != nil {
		return nil, err
	}
	data.Mailbox = mailbox
	return data, nil
}

func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if !s.srv.opts.KeepPartialAppend {
		return s.inner.Append(s.toMem(mailbox), r, options)
	}
	buf, err := io.ReadAll(r)
	data, aerr := s.inner.Append(s.toMem(mailbox), &literal{Reader: bytes.NewReader(buf), size: int64(len(buf))}, options)
	if err != nil {
		return nil, err
	}
	return data, aerr
}

func (s *session) Poll(w *goimapserver.UpdateWriter, allowExpunge bool) error {
	return s.inner.Poll(w, allowExpunge)
}

func (s *session) Idle(w *goimapserver.UpdateWriter, stop <-chan struct{}) error {
	return s.inner.Idle(w, stop)
}

func (s *session) Unselect() error { return s.inner.Unselect() }

func (s *session) Expunge(w *goimapserver.ExpungeWriter, uids *imap.UIDSet) error {
	return s.inner.Expunge(w, uids)
}

func (s *session) Search(kind goimapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	return s.inner.Search(kind, criteria, options)
}

func (s *session) Fetch(w *goimapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	return s.inner.Fetch(w, numSet, options)
}

func (s *session) Store(w *goimapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	return s.inner.Store(w, numSet, flags, options)
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.inner.Copy(numSet, s.toMem(dest))
}

func (s *session) Move(w *goimapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	return s.inner.Move(w, numSet, s.toMem(dest))
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: s.srv.opts.Prefix, Delim: s.srv.opts.Delimiter}},
	}, nil
}
