// Package sample provides mail for demonstrations and benchmarks: Mailbox, a
// small friendly mailbox embedded in the binary (used by `mailferry demo`),
// and Generate, which builds large deterministic corpora with realistic
// headers, threads and attachments.
//
// Bodies are in network form (CRLF), ready for an IMAP APPEND or a POP3
// maildrop.
package sample

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// Message is one sample message.
type Message struct {
	// Folder is UTF-8 and "/"-separated; "INBOX" is the inbox.
	Folder string
	// Flags are IMAP flags and keywords.
	Flags []string
	// Date is the arrival time (INTERNALDATE).
	Date time.Time
	// Body is the whole message with CRLF line endings.
	Body []byte
}

//go:embed mailbox.txt
var mailboxText string

var (
	mailboxOnce sync.Once
	mailbox     []Message
)

// Mailbox returns the demo mailbox: about forty messages in INBOX, Sent,
// Drafts, Archive/2024, Reisen/Übersicht and Newsletters, with flags,
// keywords, non-ASCII text and a few small attachments. The result is the
// same on every call; callers may modify it.
func Mailbox() []Message {
	mailboxOnce.Do(func() {
		var err error
		mailbox, err = parseMailbox(mailboxText)
		if err != nil {
			// The text is embedded and covered by tests.
			panic("sample: embedded mailbox: " + err.Error())
		}
	})
	out := make([]Message, len(mailbox))
	for i, m := range mailbox {
		m.Flags = append([]string(nil), m.Flags...)
		m.Body = append([]byte(nil), m.Body...)
		out[i] = m
	}
	return out
}

// parseMailbox reads the mailbox.txt format (see its header comment).
func parseMailbox(text string) ([]Message, error) {
	var (
		msgs []Message
		cur  *Message
		hdr  []string
		body []string
		inHd bool
	)
	finish := func() {
		if cur == nil {
			return
		}
		cur.Body = buildDemo(*cur, hdr, body)
		msgs = append(msgs, *cur)
		cur = nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.HasPrefix(l, "=== ") {
			finish()
			parts := strings.Split(l[4:], "|")
			if len(parts) != 3 {
				return nil, fmt.Errorf("line %d: want FOLDER | FLAGS | DATE", line)
			}
			date, err := time.Parse(time.RFC3339, strings.TrimSpace(parts[2]))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			m := Message{Folder: strings.TrimSpace(parts[0]), Date: date}
			if f := strings.TrimSpace(parts[1]); f != "-" {
				m.Flags = strings.Fields(f)
			}
			cur, hdr, body, inHd = &m, nil, nil, true
			continue
		}
		switch {
		case cur == nil:
			if l != "" && !strings.HasPrefix(l, "#") {
				return nil, fmt.Errorf("line %d: text outside a message", line)
			}
		case inHd && l == "":
			inHd = false
		case inHd:
			hdr = append(hdr, l)
		default:
			body = append(body, l)
		}
	}
	finish()
	return msgs, sc.Err()
}

// buildDemo assembles one demo message with CRLF line endings.
func buildDemo(m Message, hdr, body []string) []byte {
	for len(body) > 0 && body[len(body)-1] == "" {
		body = body[:len(body)-1]
	}
	var attach string
	var b bytes.Buffer
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s", m.Folder, m.Date.Format(time.RFC3339), strings.Join(hdr, "\n"))
	hasID := false
	for _, l := range hdr {
		if name, ok := strings.CutPrefix(l, "attach: "); ok {
			attach = name
			continue
		}
		hasID = hasID || strings.HasPrefix(l, "Message-ID:")
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Date: " + m.Date.Format(time.RFC1123Z) + "\r\n")
	if !hasID {
		fmt.Fprintf(&b, "Message-ID: <%016x.demo@mailferry.example>\r\n", h.Sum64())
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	text := strings.Join(body, "\r\n") + "\r\n"
	if attach == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(text)
		return b.Bytes()
	}
	boundary := fmt.Sprintf("demo-%016x", h.Sum64())
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", boundary, text)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8; name=\"%s\"\r\n", boundary, attach)
	fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", attach)
	var content strings.Builder
	fmt.Fprintf(&content, "%s\n\n", attach)
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&content, "%3d  item %-20s %8d.%02d\n", i, strings.Repeat("·", i%7+1), i*137%1000, i*7%100)
	}
	writeBase64(&b, []byte(content.String()))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

// writeBase64 writes data base64-encoded in 76-character CRLF lines.
func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}
