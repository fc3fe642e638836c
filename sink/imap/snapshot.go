package imap

import (
	"context"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// A run asks the destination, for every folder it copies into, whether the
// folder exists (CreateFolder), how many messages it holds (MessageCount)
// and whether it is subscribed (SetSubscribed). Asked one folder at a
// time, a run with nothing to copy spends a STATUS and four LISTs on each
// folder, and its planners, which run side by side, each open a
// connection for them. So New asks once for the whole account, on
// the connection it logged in with: LIST "" "*" RETURN (SUBSCRIBED
// SPECIAL-USE STATUS (MESSAGES …)), the STATUS where the server has
// LIST-STATUS. That answer stands for every folder the run has not set up,
// created, subscribed or unsubscribed since; a folder the run touched, or
// one the answer does not name, is asked about on its own as before.

// accountListing is the destination's folders as New found them, by
// server name, less those the run has touched since.
type accountListing struct {
	mu      sync.Mutex
	folders map[string]imapconn.ListedFolder
}

// listAccount takes the listing with c and keeps it for FolderForRole too.
func (s *Sink) listAccount(ctx context.Context, c *imapconn.Conn) error {
	list, err := imapconn.ListFolders(ctx, c, true)
	if err != nil {
		return err
	}
	folders := make(map[string]imapconn.ListedFolder, len(list))
	for _, l := range list {
		folders[listingKey(l.Server)] = l
	}
	s.atStart.mu.Lock()
	s.atStart.folders = folders
	s.atStart.mu.Unlock()
	if list == nil {
		list = []imapconn.ListedFolder{}
	}
	s.listMu.Lock()
	s.listed = list
	s.listMu.Unlock()
	return nil
}

// listingKey is the key of a server name in accountListing: INBOX is the
// same folder however it is spelt.
func listingKey(server string) string {
	if strings.EqualFold(server, "INBOX") {
		return "INBOX"
	}
	return server
}

// listedAtStart returns what the listing says of the folder with server
// name server, when it names it and the run has not touched it.
func (s *Sink) listedAtStart(server string) (imapconn.ListedFolder, bool) {
	s.atStart.mu.Lock()
	defer s.atStart.mu.Unlock()
	l, ok := s.atStart.folders[listingKey(server)]
	return l, ok
}

// touched drops a folder from the listing: the run changes it, so what the
// listing says of it may no longer hold.
func (s *Sink) touched(server string) {
	s.atStart.mu.Lock()
	delete(s.atStart.folders, listingKey(server))
	s.atStart.mu.Unlock()
}

// countAtStart is MessageCount from the listing.
func (s *Sink) countAtStart(folder string) (int, bool) {
	l, ok := s.listedAtStart(s.folder(folder).serverName())
	if !ok || l.Messages < 0 {
		return 0, false
	}
	return l.Messages, true
}

// subscribedAtStart is whether the listing says the folder is subscribed.
func (s *Sink) subscribedAtStart(folder string) (subscribed, ok bool) {
	l, ok := s.listedAtStart(s.folder(folder).serverName())
	if !ok || l.Subscription == transfer.SubscriptionUnknown {
		return false, false
	}
	return l.Subscription == transfer.Subscribed, true
}
