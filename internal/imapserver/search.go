package imapserver

import (
	"bufio"
	"bytes"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/mailferry/mailferry/formats"
)

// Search answers SEARCH. BODY and TEXT match the raw bytes (after the
// header, or all of them) without decoding, which is enough for tests.
func (s *session) Search(kind goimapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	mb := s.selected
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s.staticCriteriaLocked(criteria)
	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for i, m := range mb.msgs {
		seqNum := s.view.EncodeSeqNum(uint32(i) + 1)
		if !matches(m, seqNum, criteria) {
			continue
		}
		uidSet.AddNum(m.uid)
		num := uint32(m.uid)
		if kind == goimapserver.NumKindSeq {
			if seqNum == 0 {
				continue
			}
			seqSet.AddNum(seqNum)
			num = seqNum
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == goimapserver.NumKindSeq {
		data.All = seqSet
	} else {
		data.All = uidSet
	}
	if options != nil && options.ReturnSave {
		s.searchRes = uidSet
	}
	return &data, nil
}

func (s *session) staticCriteriaLocked(c *imap.SearchCriteria) {
	var seqSets []imap.SeqSet
	for _, set := range c.SeqNum {
		switch st := s.staticNumSetLocked(set).(type) {
		case imap.SeqSet:
			seqSets = append(seqSets, st)
		case imap.UIDSet:
			c.UID = append(c.UID, st)
		}
	}
	c.SeqNum = seqSets
	for i, set := range c.UID {
		c.UID[i] = s.staticNumSetLocked(set).(imap.UIDSet)
	}
	for i := range c.Not {
		s.staticCriteriaLocked(&c.Not[i])
	}
	for i := range c.Or {
		s.staticCriteriaLocked(&c.Or[i][0])
		s.staticCriteriaLocked(&c.Or[i][1])
	}
}

func matches(m *message, seqNum uint32, c *imap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if seqNum == 0 || !set.Contains(seqNum) {
			return false
		}
	}
	for _, set := range c.UID {
		if !set.Contains(m.uid) {
			return false
		}
	}
	if !inDates(m.date, c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !m.has(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if m.has(f) {
			return false
		}
	}
	size := int64(len(m.body))
	if c.Larger != 0 && size <= c.Larger || c.Smaller != 0 && size >= c.Smaller {
		return false
	}
	if len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.body)))
		mh := mail.Header{Header: gomessage.Header{Header: h}}
		for _, hf := range c.Header {
			if !headerMatches(mh, hf) {
				return false
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			sent, err := mh.Date()
			if err != nil || !inDates(sent, c.SentSince, c.SentBefore) {
				return false
			}
		}
	}
	for _, t := range c.Text {
		if !containsFold(m.body, t) {
			return false
		}
	}
	for _, t := range c.Body {
		body := m.body
		body = body[formats.HeaderEnd(body):]
		if !containsFold(body, t) {
			return false
		}
	}
	for i := range c.Not {
		if matches(m, seqNum, &c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !matches(m, seqNum, &c.Or[i][0]) && !matches(m, seqNum, &c.Or[i][1]) {
			return false
		}
	}
	return true
}

// inDates compares dates only, ignoring time and zone, as RFC 3501 says.
func inDates(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return (since.IsZero() || !t.Before(since)) && (before.IsZero() || t.Before(before))
}

func headerMatches(h mail.Header, hf imap.SearchCriteriaHeaderField) bool {
	fields := h.FieldsByKey(hf.Key)
	if hf.Value == "" {
		return fields.Len() > 0
	}
	for fields.Next() {
		v, _ := fields.Text()
		if strings.Contains(strings.ToLower(v), strings.ToLower(hf.Value)) {
			return true
		}
	}
	return false
}

func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s)))
}
