package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// msg is one message of the test corpus; Folder is a transfer name.
type msg struct {
	Folder string
	Flags  []string
	Date   time.Time
	Body   []byte
}

// corpus is a multi-folder mailbox: nested and non-ASCII folder names, a
// multi-MB attachment, keywords, every system flag, dates over 20 years.
func corpus() []msg {
	r := rand.New(rand.NewSource(1))
	folders := []string{"INBOX", "Archive/2019", "Entwürfe & Co", "Sent Items", "Archive/2019/Q1"}
	flagSets := [][]string{
		nil,
		{`\Seen`},
		{`\Seen`, `\Answered`, `\Flagged`},
		{`\Draft`},
		{`\Deleted`, `\Seen`},
		{`\Seen`, "$Forwarded", "Work"},
		{"$Label1", `\Flagged`},
	}
	var out []msg
	for i := 0; i < 30; i++ {
		f := folders[i%len(folders)]
		date := time.Date(2004+i%20, time.Month(1+i%12), 1+i%28, i%24, i%60, i%60, 0, time.FixedZone("", (i%5-2)*3600))
		body := fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: r@example.net\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= %d\r\nMessage-ID: <m%d@example.org>\r\nDate: %s\r\n\r\nHello %d\r\n",
			i, i, i, i, date.Format(time.RFC1123Z), i)
		for j := 0; j < r.Intn(50); j++ {
			body += fmt.Sprintf("line %d of message %d, some text to make it longer.\r\n", j, i)
		}
		out = append(out, msg{Folder: f, Flags: flagSets[i%len(flagSets)], Date: date, Body: []byte(body)})
	}
	// No Message-ID, and a twin with the same header and size.
	twin := []byte("From: x@example.org\r\nSubject: no id\r\n\r\nsame\r\n")
	d := time.Date(2010, 5, 5, 5, 5, 5, 0, time.UTC)
	out = append(out, msg{Folder: "INBOX", Date: d, Body: twin}, msg{Folder: "INBOX", Date: d, Body: twin})
	// A 3 MB attachment.
	att := make([]byte, 3<<20)
	r.Read(att)
	enc := base64.StdEncoding.EncodeToString(att)
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nMessage-ID: <big@example.org>\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--XX\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--XX--\r\n")
	out = append(out, msg{Folder: "Archive/2019", Flags: []string{`\Seen`, "Work"}, Date: time.Date(2019, 2, 3, 4, 5, 6, 0, time.UTC), Body: b.Bytes()})
	return out
}

const user, password = "alice", "secret"

func startMem(t *testing.T, opts imapserver.Options, msgs []msg) *imapserver.Server {
	t.Helper()
	opts.Users = []imapserver.User{{Name: user, Password: password}}
	srv, err := imapserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, m := range msgs {
		if err := srv.AddMessage(user, m.Folder, m.Flags, m.Date, m.Body); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

func connOpts(addr string) imapconn.Options {
	return imapconn.Options{
		Addr:        addr,
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: user, Password: account.StaticPassword(password)},
		Timeout:     5 * time.Second,
	}
}

// key identifies a message by content, flags (case-folded: imapmemserver
// lower-cases keywords) and date, for comparing stores.
func key(folder string, flags []string, date time.Time, body []byte) string {
	var fl []string
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		fl = append(fl, strings.ToLower(f))
	}
	sort.Strings(fl)
	return fmt.Sprintf("%s|%s|%d|%x", folder, strings.Join(fl, " "), date.Unix(), body)
}

func corpusKeys(msgs []msg, rename func(string) string) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, key(rename(m.Folder), m.Flags, m.Date, m.Body))
	}
	sort.Strings(out)
	return out
}

// dumpKeys reads every message of an IMAP account; folder names are given
// as the server spells them.
func dumpKeys(t *testing.T, addr string, tlsCfg any) []string {
	t.Helper()
	d, err := imapserver.Dump(addr, nil, user, password)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for f, msgs := range d {
		for _, m := range msgs {
			out = append(out, key(f, m.Flags, m.Date, m.Body))
		}
	}
	sort.Strings(out)
	return out
}

func diffKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
	}
	gm := map[string]int{}
	for _, k := range got {
		gm[k]++
	}
	for _, k := range want {
		if gm[k] == 0 {
			t.Errorf("%s: missing %.120s", what, k)
			continue
		}
		gm[k]--
	}
	for k, n := range gm {
		if n > 0 {
			t.Errorf("%s: unexpected (x%d) %.120s", what, n, k)
		}
	}
}

func run(t *testing.T, src transfer.Source, dst transfer.Sink, state string, opts transfer.Options) transfer.Summary {
	t.Helper()
	if state != "" {
		j, err := transfer.OpenJournal(state)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		opts.Journal = j
	}
	if opts.SourceKey == "" {
		opts.SourceKey = "imap://alice@source"
	}
	opts.RetryDelay = 10 * time.Millisecond
	sum, err := transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatalf("Run: %v (summary %+v)", err, sum)
	}
	return sum
}

func statePath(t *testing.T) string { return filepath.Join(t.TempDir(), "state") }
