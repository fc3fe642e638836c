package imapserver

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// In Gmail mode the server says X-GM-EXT-1, lists "[Gmail]" as \Noselect
// and All Mail as \All, and what is appended to a label is in All Mail too,
// but not what is appended to Trash.
func TestGmailModeSharesLabelledMessagesWithAllMail(t *testing.T) {
	s := startTest(t, Options{Gmail: true})
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has("X-GM-EXT-1") {
		t.Errorf("capabilities %v lack X-GM-EXT-1", c.Caps())
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		attrs[l.Mailbox] = l.Attrs
	}
	if !hasAttr(attrs["[Gmail]"], imap.MailboxAttrNoSelect) || !hasAttr(attrs[GmailAllMail], imap.MailboxAttrAll) || !hasAttr(attrs[GmailImportant], imap.MailboxAttrImportant) {
		t.Errorf("LIST attributes %v", attrs)
	}
	if _, err := c.Select("[Gmail]", nil).Wait(); err == nil {
		t.Error("SELECT [Gmail] succeeded")
	}
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{"Work", GmailTrash} {
		body := []byte("Subject: " + folder + "\r\n\r\nx\r\n")
		cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Time: time.Unix(1700000000, 0)})
		cmd.Write(body)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	boxes, err := Dump(s.Addr(), nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(boxes[GmailAllMail]); n != 1 || string(boxes[GmailAllMail][0].Body) != "Subject: Work\r\n\r\nx\r\n" {
		t.Errorf("All Mail holds %d messages %v, want the one appended to Work", n, boxes[GmailAllMail])
	}
	if len(boxes["Work"]) != 1 || len(boxes[GmailTrash]) != 1 {
		t.Errorf("Work holds %d, Trash %d messages, want 1 each", len(boxes["Work"]), len(boxes[GmailTrash]))
	}
}
