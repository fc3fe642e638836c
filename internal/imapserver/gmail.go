package imapserver

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Gmail's IMAP folders (Options.Gmail): labels are folders, and every
// message but spam and deleted mail is also in All Mail, under which Gmail
// keeps it once whatever its labels. "[Gmail]" itself cannot be selected.
const (
	GmailAllMail   = "[Gmail]/All Mail"
	GmailImportant = "[Gmail]/Important"
	GmailStarred   = "[Gmail]/Starred"
	GmailSent      = "[Gmail]/Sent Mail"
	GmailDrafts    = "[Gmail]/Drafts"
	GmailSpam      = "[Gmail]/Spam"
	GmailTrash     = "[Gmail]/Trash"

	gmailRoot = "[Gmail]"
	// capGmail is Gmail's capability for its extensions.
	capGmail imap.Cap = "X-GM-EXT-1"
)

// gmailSpecialUse are the special-use attributes of Gmail's system folders.
var gmailSpecialUse = map[string]string{
	GmailAllMail: `\All`, GmailImportant: `\Important`, GmailStarred: `\Flagged`,
	GmailSent: `\Sent`, GmailDrafts: `\Drafts`, GmailSpam: `\Junk`, GmailTrash: `\Trash`,
}

// gmailOutsideAllMail are the folders whose messages All Mail does not show.
var gmailOutsideAllMail = []string{GmailAllMail, GmailSpam, GmailTrash}

// inAllMail reports whether a message stored in folder (stored name) is
// also in All Mail on a Gmail-like server.
func (s *Server) inAllMail(folder string) bool {
	if !s.opts.Gmail {
		return false
	}
	for _, f := range gmailOutsideAllMail {
		if folder == f {
			return false
		}
	}
	return true
}

// noSelect reports whether the folder (stored name) is listed \Noselect.
func (s *Server) noSelect(folder string) bool {
	return s.opts.Gmail && folder == gmailRoot
}

// AddGmailMessage stores a message as Gmail holds one with labels (stored
// folder names such as "INBOX", "Work" or GmailSent): once in All Mail,
// where X-GM-LABELS names its labels, and once in each label folder. No
// label is an archived message, only in All Mail. Options.Gmail must be
// set.
func (s *Server) AddGmailMessage(userName string, labels []string, flags []string, date time.Time, body []byte) error {
	mb, data, err := s.addOnly(userName, GmailAllMail, flags, date, body)
	if err != nil {
		return err
	}
	mb.setLabels(data.UID, labels)
	for _, l := range labels {
		if _, _, err := s.addOnly(userName, l, flags, date, body); err != nil {
			return err
		}
	}
	return nil
}

// addOnly is AddMessage without the All Mail copy of a Gmail-like server.
func (s *Server) addOnly(userName, folder string, flags []string, date time.Time, body []byte) (*mailbox, *imap.AppendData, error) {
	u, err := s.user(userName)
	if err != nil {
		return nil, nil, err
	}
	if strings.EqualFold(folder, "INBOX") {
		folder = "INBOX"
	}
	if err := s.createFolder(u, folder); err != nil {
		return nil, nil, err
	}
	mb, err := u.mailbox(folder)
	if err != nil {
		return nil, nil, err
	}
	var fl []imap.Flag
	for _, f := range flags {
		fl = append(fl, imap.Flag(f))
	}
	return mb, mb.add(bytes.Clone(body), fl, date), nil
}

// setLabels gives the message uid of an All Mail mailbox its labels
// (stored folder names).
func (mb *mailbox) setLabels(uid imap.UID, labels []string) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, m := range mb.msgs {
		if m.uid == uid {
			m.labels = append([]string(nil), labels...)
		}
	}
}

// alsoInAllMail stores what was appended or copied to a label folder in
// All Mail too, as Gmail shows it there.
func (u *user) alsoInAllMail(s *Server, folder string, body []byte, flags []imap.Flag, date time.Time) {
	if !s.inAllMail(folder) || folder == GmailAllMail {
		return
	}
	if mb, err := u.mailbox(GmailAllMail); err == nil {
		mb.setLabels(mb.add(body, flags, date).UID, []string{folder})
	}
}

// capabilityList finds the capability list of a CAPABILITY response or
// response code: the end of "* CAPABILITY …" or of "[CAPABILITY …]".
var capabilityList = regexp.MustCompile(`(?i)^(\* CAPABILITY [^\r\n\]]*|\* OK \[CAPABILITY [^\]]*|[^ ]+ OK \[CAPABILITY [^\]]*)`)

// withCapability adds c to the capability list of a response, if it has
// one.
func withCapability(segs [][]byte, c imap.Cap) [][]byte {
	if loc := capabilityList.FindIndex(segs[0]); loc != nil {
		line := segs[0]
		nl := append(append(append([]byte(nil), line[:loc[1]]...), " "+string(c)...), line[loc[1]:]...)
		segs = append([][]byte{nl}, segs[1:]...)
	}
	return segs
}

// addGmailCapability adds X-GM-EXT-1 to every capability list the server
// sends: go-imap's server advertises only the capabilities it knows.
func addGmailCapability(next func([][]byte) []byte) func(server io.Reader, client io.Writer) error {
	return func(server io.Reader, client io.Writer) error {
		return rewriteResponses(server, client, func(segs [][]byte) []byte {
			return next(gmailLabelsResponse(withCapability(segs, capGmail)))
		})
	}
}

// Gmail's X-GM-LABELS fetch item is no FETCH item go-imap's server knows:
// it answers a command naming one with BAD. So in Gmail mode the client's
// commands pass through gmailLabelsRequests, which asks for the header
// field section gmailLabelsSection instead; Fetch answers that section
// with the message's labels (gmailLabelList), and gmailLabelsResponse puts
// them back as the X-GM-LABELS item Gmail sends.

// gmailLabelsSection is the section X-GM-LABELS is asked for as.
const gmailLabelsSection = "BODY.PEEK[HEADER.FIELDS (X-GM-LABELS)]"

var (
	fetchCommand      = regexp.MustCompile(`(?i)^[^ ]+ (UID )?FETCH `)
	gmailLabelsItem   = regexp.MustCompile(`(?i)X-GM-LABELS`)
	gmailLabelsAnswer = regexp.MustCompile(`(?i)BODY\[HEADER\.FIELDS \("?X-GM-LABELS"?\)\] \{[0-9]+\}\r\n$`)
)

// isGmailLabelsSection reports whether bs is what X-GM-LABELS was asked
// for as.
func (s *Server) isGmailLabelsSection(bs *imap.FetchItemBodySection) bool {
	return s.opts.Gmail && len(bs.HeaderFields) == 1 && strings.EqualFold(bs.HeaderFields[0], "X-GM-LABELS") && len(bs.Part) == 0
}

// gmailLabelList is the X-GM-LABELS value of a message with labels
// (stored folder names): Gmail's system labels for its system folders,
// the folder name as clients see it for the others, quoted, or a literal
// when it is not 7-bit text.
func (s *session) gmailLabelList(labels []string) []byte {
	system := map[string]string{
		"INBOX": `\Inbox`, GmailSent: `\Sent`, GmailDrafts: `\Draft`,
		GmailImportant: `\Important`, GmailStarred: `\Starred`,
	}
	out := []byte{'('}
	for i, l := range labels {
		if i > 0 {
			out = append(out, ' ')
		}
		name, ok := system[l]
		if !ok {
			name = s.toClient(l)
		}
		if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r > '~' }) {
			// A quoted string holds 7-bit text only (RFC 3501).
			out = append(out, "{"+strconv.Itoa(len(name))+"}\r\n"+name...)
			continue
		}
		out = append(out, '"')
		for _, c := range []byte(name) {
			if c == '"' || c == '\\' {
				out = append(out, '\\')
			}
			out = append(out, c)
		}
		out = append(out, '"')
	}
	return append(out, ')')
}

// gmailLabelsRequests copies the client's commands to the server, asking
// for gmailLabelsSection where a FETCH asks for X-GM-LABELS. Literals
// (APPEND's messages) pass unchanged.
func gmailLabelsRequests(client io.Reader, server io.Writer) error {
	br := bufio.NewReaderSize(client, 64*1024)
	for {
		line, err := br.ReadBytes('\n')
		if fetchCommand.Match(line) {
			line = gmailLabelsItem.ReplaceAll(line, []byte(gmailLabelsSection))
		}
		if done, err := forwardLine(br, server, line, err); done {
			return err
		}
	}
}

// gmailLabelsResponse turns the answer to gmailLabelsSection in one
// response (segments: line, literal, line, …) back into X-GM-LABELS with
// the list the literal holds.
func gmailLabelsResponse(segs [][]byte) [][]byte {
	for i := 0; i+2 < len(segs); i += 2 {
		loc := gmailLabelsAnswer.FindIndex(segs[i])
		if loc == nil {
			continue
		}
		line := append(append(append([]byte(nil), segs[i][:loc[0]]...), "X-GM-LABELS "...), segs[i+1]...)
		line = append(line, segs[i+2]...)
		segs = append(append(append([][]byte(nil), segs[:i]...), line), segs[i+3:]...)
		i -= 2
	}
	return segs
}
