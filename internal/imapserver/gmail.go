package imapserver

import (
	"bytes"
	"io"
	"regexp"
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
// folder names such as "INBOX", "Work" or GmailSent): once in All Mail and
// once in each label folder. No label is an archived message, only in All
// Mail. Options.Gmail must be set.
func (s *Server) AddGmailMessage(userName string, labels []string, flags []string, date time.Time, body []byte) error {
	if err := s.AddMessage(userName, GmailAllMail, flags, date, body); err != nil {
		return err
	}
	for _, l := range labels {
		if err := s.addOnly(userName, l, flags, date, body); err != nil {
			return err
		}
	}
	return nil
}

// addOnly is AddMessage without the All Mail copy of a Gmail-like server.
func (s *Server) addOnly(userName, folder string, flags []string, date time.Time, body []byte) error {
	u, err := s.user(userName)
	if err != nil {
		return err
	}
	if strings.EqualFold(folder, "INBOX") {
		folder = "INBOX"
	}
	if err := s.createFolder(u, folder); err != nil {
		return err
	}
	mb, err := u.mailbox(folder)
	if err != nil {
		return err
	}
	var fl []imap.Flag
	for _, f := range flags {
		fl = append(fl, imap.Flag(f))
	}
	mb.add(bytes.Clone(body), fl, date)
	return nil
}

// alsoInAllMail stores what was appended or copied to a label folder in
// All Mail too, as Gmail shows it there.
func (u *user) alsoInAllMail(s *Server, folder string, body []byte, flags []imap.Flag, date time.Time) {
	if !s.inAllMail(folder) || folder == GmailAllMail {
		return
	}
	if mb, err := u.mailbox(GmailAllMail); err == nil {
		mb.add(body, flags, date)
	}
}

// capabilityList finds the capability list of a CAPABILITY response or
// response code: the end of "* CAPABILITY …" or of "[CAPABILITY …]".
var capabilityList = regexp.MustCompile(`(?i)^(\* CAPABILITY [^\r\n\]]*|\* OK \[CAPABILITY [^\]]*|[^ ]+ OK \[CAPABILITY [^\]]*)`)

// addGmailCapability adds X-GM-EXT-1 to every capability list the server
// sends: go-imap's server advertises only the capabilities it knows.
func addGmailCapability(next func([][]byte) []byte) func(server io.Reader, client io.Writer) error {
	return func(server io.Reader, client io.Writer) error {
		return rewriteResponses(server, client, func(segs [][]byte) []byte {
			if loc := capabilityList.FindIndex(segs[0]); loc != nil {
				line := segs[0]
				nl := append(append(append([]byte(nil), line[:loc[1]]...), " "+string(capGmail)...), line[loc[1]:]...)
				segs = append([][]byte{nl}, segs[1:]...)
			}
			return next(segs)
		})
	}
}
