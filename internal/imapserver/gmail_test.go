package imapserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
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

// FETCH X-GM-LABELS on All Mail names each message's labels as Gmail
// does: system labels as "\\Inbox" and the like, others by folder name,
// none for an archived message; an APPEND whose message mentions
// X-GM-LABELS is stored unchanged.
func TestGmailModeAnswersXGMLabels(t *testing.T) {
	s := startTest(t, Options{Gmail: true})
	date := time.Unix(1700000000, 0)
	for _, m := range []struct {
		labels []string
		body   string
	}{
		{[]string{"INBOX", "Work", GmailImportant}, "Subject: a\r\n\r\na\r\n"},
		{nil, "Subject: b\r\n\r\nb\r\n"},
		{[]string{GmailSent, `Say "hi"`}, "Subject: c\r\n\r\nc\r\n"},
	} {
		if err := s.AddGmailMessage("alice", m.labels, nil, date, []byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	appended := "Subject: x\r\nX-GM-LABELS: kept\r\n\r\nA1 FETCH 1 (X-GM-LABELS)\r\n"
	script := "A1 LOGIN alice secret\r\n" +
		fmt.Sprintf("A2 APPEND Work {%d+}\r\n%s\r\n", len(appended), appended) +
		"A3 EXAMINE \"" + GmailAllMail + "\"\r\n" +
		"A4 UID FETCH 1:3 (UID X-GM-LABELS)\r\n"
	if _, err := conn.Write([]byte(script)); err != nil {
		t.Fatal(err)
	}
	var fetches []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answers: %v (so far %q)", err, fetches)
		}
		if strings.HasPrefix(line, "* ") && strings.Contains(line, " FETCH ") {
			fetches = append(fetches, strings.TrimRight(line, "\r\n"))
		}
		if strings.HasPrefix(line, "A4 ") {
			if !strings.HasPrefix(line, "A4 OK") {
				t.Fatalf("UID FETCH answered %q", line)
			}
			break
		}
	}
	want := []string{
		`* 1 FETCH (UID 1 X-GM-LABELS ("\\Inbox" "Work" "\\Important"))`,
		`* 2 FETCH (UID 2 X-GM-LABELS ())`,
		`* 3 FETCH (UID 3 X-GM-LABELS ("\\Sent" "Say \"hi\""))`,
	}
	if strings.Join(fetches, "\n") != strings.Join(want, "\n") {
		t.Errorf("FETCH answers\n%s\nwant\n%s", strings.Join(fetches, "\n"), strings.Join(want, "\n"))
	}
	boxes, err := Dump(s.Addr(), nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if w := boxes["Work"]; len(w) != 2 || string(w[1].Body) != appended {
		t.Errorf("Work holds %d messages %v; want the appended one as sent", len(w), w)
	}
}

// FuzzGmailLabelsRequests checks that the request rewriter never panics,
// passes what names no X-GM-LABELS unchanged, and leaves literals alone:
// an APPEND's message mentioning X-GM-LABELS reaches the server as sent.
func FuzzGmailLabelsRequests(f *testing.F) {
	f.Add([]byte("A1 UID FETCH 1:* (UID X-GM-LABELS)\r\n"))
	f.Add([]byte("A2 APPEND Work {30+}\r\nA3 FETCH 1 (X-GM-LABELS)\r\n\r\n\r\n"))
	f.Add([]byte("A4 LOGIN a b\r\nA5 fetch 1 x-gm-labels\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		gmailLabelsRequests(bytes.NewReader(in), &out)
		if !bytes.Contains(bytes.ToUpper(in), []byte("X-GM-LABELS")) && !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("changed input without X-GM-LABELS: %q → %q", in, out.Bytes())
		}
		if want := bytes.Count(bytes.ToUpper(in), []byte("X-GM-LABELS")); bytes.Count(bytes.ToUpper(out.Bytes()), []byte("X-GM-LABELS")) != want {
			t.Fatalf("%q → %q: the item is asked for another number of times", in, out.Bytes())
		}
	})
}

// The request rewriter asks for the stand-in section in a FETCH, and
// leaves an APPEND's literal that looks like one alone.
func TestGmailLabelsRequests(t *testing.T) {
	in := "A1 APPEND Work {26+}\r\nA2 FETCH 1 (X-GM-LABELS)\r\n\r\nA3 UID FETCH 1:* (UID X-GM-LABELS)\r\nA4 NOOP\r\n"
	want := "A1 APPEND Work {26+}\r\nA2 FETCH 1 (X-GM-LABELS)\r\n\r\nA3 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (X-GM-LABELS)])\r\nA4 NOOP\r\n"
	var out bytes.Buffer
	if err := gmailLabelsRequests(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}
