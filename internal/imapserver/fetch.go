package imapserver

import (
	"bufio"
	"bytes"
	"io"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/mailferry/mailferry/formats"
)

// fetched is what FETCH writes for one message, copied under the mailbox
// lock so the response can be written without holding it.
type fetched struct {
	seqNum uint32 // as the client sees it
	msg    *message
	flags  []imap.Flag
	seen   bool // \Seen was set by this FETCH
	labels []string
}

// Fetch answers FETCH. The whole message (BODY[], BODY.PEEK[], RFC822), its
// HEADER and its TEXT, with or without <partial>, are the stored bytes
// exactly, as Dovecot gives them; other sections are cut out of the parsed
// message by go-imap.
func (s *session) Fetch(w *goimapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	markSeen := false
	for _, bs := range options.BodySection {
		markSeen = markSeen || !bs.Peek
	}
	markSeen = markSeen && !s.readOnly
	var list []fetched
	s.forEach(numSet, func(seqNum uint32, m *message) {
		f := fetched{seqNum: s.view.EncodeSeqNum(seqNum), msg: m}
		if markSeen && !m.has(imap.FlagSeen) {
			m.addFlags([]imap.Flag{imap.FlagSeen})
			s.selected.tracker.QueueMessageFlags(seqNum, m.uid, m.flagList(), s.view)
			f.seen = true
		}
		f.flags = m.flagList()
		f.labels = m.labels
		if f.seqNum != 0 {
			list = append(list, f)
		}
	})
	for _, f := range list {
		if err := s.writeFetch(w.CreateMessage(f.seqNum), f, options); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) writeFetch(w *goimapserver.FetchResponseWriter, f fetched, options *imap.FetchOptions) error {
	m := f.msg
	w.WriteUID(m.uid)
	if options.Flags || f.seen {
		w.WriteFlags(f.flags)
	}
	if options.InternalDate {
		w.WriteInternalDate(m.date)
	}
	if options.RFC822Size {
		w.WriteRFC822Size(int64(len(m.body)))
	}
	if options.Envelope {
		env := &imap.Envelope{}
		if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.body))); err == nil {
			env = goimapserver.ExtractEnvelope(h)
		}
		w.WriteEnvelope(env)
	}
	if options.BodyStructure != nil {
		w.WriteBodyStructure(goimapserver.ExtractBodyStructure(bytes.NewReader(m.body)))
	}
	for _, bs := range options.BodySection {
		b, ok := s.rawSection(m, bs)
		if s.srv.isGmailLabelsSection(bs) {
			b = s.gmailLabelList(f.labels)
		} else if ok {
			b = partial(b, bs.Partial)
		} else {
			b = goimapserver.ExtractBodySection(bytes.NewReader(m.body), bs)
		}
		if err := writeLiteral(w.WriteBodySection(bs, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		b := goimapserver.ExtractBinarySection(bytes.NewReader(m.body), bs)
		if err := writeLiteral(w.WriteBinarySection(bs, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		w.WriteBinarySectionSize(bss, goimapserver.ExtractBinarySectionSize(bytes.NewReader(m.body), bss))
	}
	return w.Close()
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// rawSection returns the stored bytes of the whole message, its header
// (up to and including the blank line that ends it, or all of a message
// without one) or its text, as Dovecot does even when the first line is no
// header field; ok is false for any other section.
func (s *session) rawSection(m *message, bs *imap.FetchItemBodySection) (b []byte, ok bool) {
	if len(bs.Part) != 0 || len(bs.HeaderFields) != 0 || len(bs.HeaderFieldsNot) != 0 {
		return nil, false
	}
	switch bs.Specifier {
	case imap.PartSpecifierNone:
		if serve := s.srv.opts.ServeBody; serve != nil {
			return serve(s.selectedName, m.uid, bytes.Clone(m.body)), true
		}
		return m.body, true
	case imap.PartSpecifierHeader:
		return m.body[:formats.HeaderEnd(m.body)], true
	case imap.PartSpecifierText:
		return m.body[formats.HeaderEnd(m.body):], true
	}
	return nil, false
}

// partial cuts BODY[]<offset.size> out of b.
func partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	if p.Offset >= int64(len(b)) {
		return nil
	}
	end := p.Offset + p.Size
	if end > int64(len(b)) {
		end = int64(len(b))
	}
	return b[p.Offset:end]
}

// Store answers STORE, keeping the spelling of the keywords it is given.
func (s *session) Store(w *goimapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.readOnly {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox is read-only"}
	}
	s.forEach(numSet, func(seqNum uint32, m *message) {
		switch flags.Op {
		case imap.StoreFlagsSet:
			m.setFlags(flags.Flags)
		case imap.StoreFlagsAdd:
			m.addFlags(flags.Flags)
		case imap.StoreFlagsDel:
			m.removeFlags(flags.Flags)
		}
		s.selected.tracker.QueueMessageFlags(seqNum, m.uid, m.flagList(), s.view)
	})
	if flags.Silent {
		return nil
	}
	return s.Fetch(w, numSet, &imap.FetchOptions{Flags: true})
}

// forEach calls f, with the mailbox locked, for every message of the
// selected folder in numSet (sequence numbers as the client sees them, or
// UIDs), passing the server's sequence number.
func (s *session) forEach(numSet imap.NumSet, f func(seqNum uint32, m *message)) {
	mb := s.selected
	mb.mu.Lock()
	defer mb.mu.Unlock()
	numSet = s.staticNumSetLocked(numSet)
	for i, m := range mb.msgs {
		seqNum := uint32(i) + 1
		var in bool
		switch set := numSet.(type) {
		case imap.SeqSet:
			enc := s.view.EncodeSeqNum(seqNum)
			in = enc != 0 && set.Contains(enc)
		case imap.UIDSet:
			in = set.Contains(m.uid)
		}
		if in {
			f(seqNum, m)
		}
	}
}

// staticNumSetLocked replaces "*" with the highest sequence number or UID
// and "$" with the saved search result.
func (s *session) staticNumSetLocked(numSet imap.NumSet) imap.NumSet {
	if imap.IsSearchRes(numSet) {
		return s.searchRes
	}
	mb := s.selected
	switch set := numSet.(type) {
	case imap.SeqSet:
		max := uint32(len(mb.msgs))
		out := make(imap.SeqSet, len(set))
		for i, r := range set {
			r.Start, r.Stop = staticRange(r.Start, r.Stop, max)
			out[i] = r
		}
		return out
	case imap.UIDSet:
		max := uint32(mb.uidNext) - 1
		out := make(imap.UIDSet, len(set))
		for i, r := range set {
			start, stop := staticRange(uint32(r.Start), uint32(r.Stop), max)
			out[i] = imap.UIDRange{Start: imap.UID(start), Stop: imap.UID(stop)}
		}
		return out
	}
	return numSet
}

func staticRange(start, stop, max uint32) (uint32, uint32) {
	dyn := start == 0 || stop == 0
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if dyn && start > stop {
		start, stop = stop, start
	}
	return start, stop
}
