package imapserver

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
)

// mailbox is one folder's messages, kept exactly as appended: the bytes
// are what BODY[] returns and flags keep the spelling they were given.
type mailbox struct {
	tracker     *goimapserver.MailboxTracker
	uidValidity uint32

	mu      sync.Mutex
	msgs    []*message
	uidNext imap.UID
}

// message is one stored message. body and date never change; flags are
// guarded by the mailbox's mutex.
type message struct {
	uid   imap.UID
	body  []byte
	date  time.Time
	flags []imap.Flag
	// labels are the Gmail labels of a message in All Mail (stored
	// folder names, see AddGmailMessage); guarded by the mailbox's mutex.
	labels []string
}

func newMailbox(uidValidity uint32) *mailbox {
	return &mailbox{tracker: goimapserver.NewMailboxTracker(0), uidValidity: uidValidity, uidNext: 1}
}

// errNoMailbox is the answer for a folder that does not exist.
var errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}

// errTryCreate is the answer for an APPEND, COPY or MOVE to a folder that
// does not exist.
var errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}

// add stores body with flags and date (now when zero) and returns its UID.
func (mb *mailbox) add(body []byte, flags []imap.Flag, date time.Time) *imap.AppendData {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.addLocked(body, flags, date)
}

// addLocked is add with mb.mu held.
func (mb *mailbox) addLocked(body []byte, flags []imap.Flag, date time.Time) *imap.AppendData {
	if date.IsZero() {
		date = time.Now()
	}
	msg := &message{body: body, date: date}
	msg.setFlags(flags)
	msg.uid = mb.uidNext
	mb.uidNext++
	mb.msgs = append(mb.msgs, msg)
	mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
	return &imap.AppendData{UIDValidity: mb.uidValidity, UID: msg.uid}
}

func (mb *mailbox) status(options *imap.StatusOptions) *imap.StatusData {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	data := &imap.StatusData{}
	n := uint32(len(mb.msgs))
	if options.NumMessages {
		data.NumMessages = &n
	}
	if options.UIDNext {
		data.UIDNext = mb.uidNext
	}
	if options.UIDValidity {
		data.UIDValidity = mb.uidValidity
	}
	if options.NumUnseen {
		unseen := n - mb.countLocked(imap.FlagSeen)
		data.NumUnseen = &unseen
	}
	if options.NumDeleted {
		deleted := mb.countLocked(imap.FlagDeleted)
		data.NumDeleted = &deleted
	}
	if options.Size {
		var size int64
		for _, m := range mb.msgs {
			size += int64(len(m.body))
		}
		data.Size = &size
	}
	if options.NumRecent {
		zero := uint32(0)
		data.NumRecent = &zero
	}
	return data
}

func (mb *mailbox) countLocked(flag imap.Flag) uint32 {
	var n uint32
	for _, m := range mb.msgs {
		if m.has(flag) {
			n++
		}
	}
	return n
}

func (mb *mailbox) selectDataLocked() *imap.SelectData {
	flags := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}
	for _, m := range mb.msgs {
		for _, f := range m.flags {
			if !containsFlag(flags, f) {
				flags = append(flags, f)
			}
		}
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i] < flags[j] })
	data := &imap.SelectData{
		Flags:          flags,
		PermanentFlags: append(append([]imap.Flag(nil), flags...), imap.FlagWildcard),
		NumMessages:    uint32(len(mb.msgs)),
		UIDNext:        mb.uidNext,
		UIDValidity:    mb.uidValidity,
	}
	for i, m := range mb.msgs {
		if !m.has(imap.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i) + 1
			break
		}
	}
	return data
}

// expungeLocked removes the messages for which gone is true and queues
// EXPUNGE for every session, highest sequence number first.
func (mb *mailbox) expungeLocked(gone func(*message) bool) {
	kept := mb.msgs[:0:0]
	var seqNums []uint32
	for i, m := range mb.msgs {
		if gone(m) {
			seqNums = append(seqNums, uint32(i)+1)
		} else {
			kept = append(kept, m)
		}
	}
	for i := len(seqNums) - 1; i >= 0; i-- {
		mb.tracker.QueueExpunge(seqNums[i])
	}
	mb.msgs = kept
}

// systemFlags spells the system flags the way RFC 3501 does.
var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

func canonicalSystemFlag(f imap.Flag) imap.Flag {
	for _, s := range systemFlags {
		if strings.EqualFold(string(f), string(s)) {
			return s
		}
	}
	return f
}

// containsFlag compares flags case-insensitively, as IMAP does.
func containsFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func (m *message) has(f imap.Flag) bool { return containsFlag(m.flags, f) }

// setFlags replaces the flags; \Recent is the server's to set, never the
// client's, so it is dropped.
func (m *message) setFlags(flags []imap.Flag) {
	m.flags = nil
	m.addFlags(flags)
}

// addFlags adds the flags not already there; a keyword already there keeps
// its first spelling.
func (m *message) addFlags(flags []imap.Flag) {
	for _, f := range flags {
		f = canonicalSystemFlag(f)
		if strings.EqualFold(string(f), `\Recent`) || m.has(f) {
			continue
		}
		m.flags = append(m.flags, f)
	}
}

func (m *message) removeFlags(flags []imap.Flag) {
	kept := m.flags[:0:0]
	for _, f := range m.flags {
		if !containsFlag(flags, f) {
			kept = append(kept, f)
		}
	}
	m.flags = kept
}

func (m *message) flagList() []imap.Flag {
	return append([]imap.Flag{}, m.flags...)
}
