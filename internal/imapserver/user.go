package imapserver

import (
	"crypto/subtle"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// checkPassword reports whether password is the user's.
func (u *user) checkPassword(password string) bool {
	return subtle.ConstantTimeCompare([]byte(password), []byte(u.password)) == 1
}

// mailbox returns the folder with the stored name name.
func (u *user) mailbox(name string) (*mailbox, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	mb := u.boxes[name]
	if mb == nil {
		return nil, errNoMailbox
	}
	return mb, nil
}

// create makes an empty folder, unsubscribed. A folder created again after
// a delete gets a new UIDVALIDITY.
func (u *user) create(name string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.boxes[name] != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	u.lastUIDValidity++
	u.boxes[name] = newMailbox(u.lastUIDValidity)
	if _, ok := u.folders[name]; !ok {
		u.folders[name] = false
	}
	return nil
}

func (u *user) delete(name string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.boxes[name] == nil || strings.EqualFold(name, "INBOX") {
		return errNoMailbox
	}
	delete(u.boxes, name)
	delete(u.folders, name)
	return nil
}

func (u *user) rename(from, to string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	mb := u.boxes[from]
	if mb == nil {
		return errNoMailbox
	}
	if u.boxes[to] != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	u.boxes[to] = mb
	u.folders[to] = u.folders[from]
	delete(u.boxes, from)
	delete(u.folders, from)
	return nil
}
