package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
	"github.com/mailferry/mailferry/internal/plural"
)

// The archives of other mail programs in testdata/archives (see the mbox
// source's tests for what each holds), as 'mailferry folders' shows them
// and as they arrive on an IMAP server.

func archivePath(name string) string {
	return filepath.Join("..", "..", "testdata", "archives", name)
}

// TestArchiveFolders: 'mailferry folders' shows what each archive
// becomes before anything is copied: names, roles and counts, and the
// deleted Thunderbird messages it leaves out.
func TestArchiveFolders(t *testing.T) {
	for _, tt := range []struct {
		path   string
		args   []string
		want   []string // rows: folder, role, messages
		stderr []string
	}{
		{"thunderbird/Local Folders", nil, []string{
			`Archives \Archive 0`, "Archives/2023 1", "INBOX 3", `Sent \Sent 1`, `Trash \Trash 0`, "total (5 folders) 5"},
			[]string{`folder "Archives/2023": skipped 1 message that Thunderbird deleted`, `folder "INBOX": skipped 1 message that Thunderbird deleted`}},
		{"applemail", nil, []string{"INBOX 2", "Work 1", "Work/Clients 2", "total (3 folders) 5"}, nil},
		{"takeout", nil, []string{`Archive \Archive 2`, `Drafts \Drafts 1`, "Entwürfe alt 1", "INBOX 3", `Junk \Junk 1`,
			"Kunden, alt 1", `Sent \Sent 1`, `Trash \Trash 1`, "Work 2", "Work/2024 1", "total (10 folders) 14"}, nil},
		{"takeout", []string{"--dedupe-across-folders"}, []string{`Archive \Archive 2`, `Drafts \Drafts 1`, "Entwürfe alt 1", "INBOX 3",
			`Junk \Junk 1`, `Sent \Sent 1`, `Trash \Trash 1`, "Work/2024 1", "total (8 folders) 11"}, nil},
		{"mutt", nil, []string{"Dovecot 2", "saved-messages 3", `sent-mail \Sent 2`, "total (3 folders) 7"}, nil},
	} {
		r := mailferry(t, nil, append([]string{"folders", "mbox:" + archivePath(tt.path)}, tt.args...)...)
		expectCode(t, r, 0)
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			// Drop the size columns ("2.5 KiB"): the last two fields.
			f := strings.Fields(l)
			rows = append(rows, strings.Join(f[:len(f)-2], " "))
		}
		if !reflect.DeepEqual(rows, tt.want) {
			t.Errorf("folders %s %q:\n got %q\nwant %q\n%s", tt.path, tt.args, rows, tt.want, r)
		}
		for _, w := range tt.stderr {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("folders %s: stderr lacks %q:\n%s", tt.path, w, r)
			}
		}
		if len(tt.stderr) == 0 && r.stderr != "" {
			t.Errorf("folders %s: unexpected stderr:\n%s", tt.path, r)
		}
	}
	r := mailferry(t, nil, "folders", "maildir:"+t.TempDir(), "--dedupe-across-folders")
	expectCode(t, r, exitUsage)
}

// serverView is an account as the test compares it: per server folder,
// each message's Subject and flags, sorted.
func serverView(t *testing.T, addr, user, password string) map[string][]string {
	t.Helper()
	dump, err := imapserver.Dump(addr, nil, user, password)
	if err != nil {
		t.Fatal(err)
	}
	view := map[string][]string{}
	for folder, msgs := range dump {
		if len(msgs) == 0 {
			continue
		}
		for _, m := range msgs {
			head, _, _ := strings.Cut(string(m.Body), "\r\n\r\n")
			for _, h := range []string{"X-Mozilla-", "X-Gmail-Labels", "X-GM-THRID", "Status:", "X-UID", "X-IMAP", "X-Keywords", "X-Evolution"} {
				if strings.Contains(head, h) {
					t.Errorf("%s: a message keeps %q:\n%s", folder, h, head)
				}
			}
			subject := ""
			for _, l := range strings.Split(head, "\r\n") {
				if s, ok := strings.CutPrefix(l, "Subject: "); ok {
					subject = s
				}
			}
			view[folder] = append(view[folder], fmt.Sprintf("%s %v", subject, m.Flags))
		}
		sort.Strings(view[folder])
	}
	return view
}

// takeoutOnServer is where the Takeout fixture's messages land.
var takeoutOnServer = map[string][]string{
	"INBOX":            {`Takeout inbox and work []`, `Takeout inbox read [\Seen]`, `Takeout quoted label [\Seen]`},
	"Work":             {`Takeout inbox and work []`, `Takeout trashed work [\Seen]`},
	"Work/2024":        {`Takeout starred nested [\Flagged \Seen]`},
	"Sent Messages":    {`Takeout sent [\Seen]`},
	"Archived":         {`Takeout archived [\Seen]`, `Takeout only important []`},
	"Junk E-mail":      {`Takeout spam []`},
	"Deleted Messages": {`Takeout trashed work [\Seen]`},
	"Drafts":           {`Takeout draft [\Draft \Seen]`},
	"Entwürfe alt":     {`Takeout encoded label [\Seen]`},
	"Kunden, alt":      {`Takeout quoted label [\Seen]`},
}

// takeoutDeduped is m without the copies --dedupe-across-folders leaves
// out: the two messages in a system folder and a label are only in the
// system folder.
func takeoutDeduped(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		if k != "Work" && k != "Kunden, alt" {
			out[k] = v
		}
	}
	return out
}

// archiveCases are the archives copied to IMAP and what arrives there.
var archiveCases = []struct {
	path   string
	args   []string
	copied int
	want   map[string][]string
}{
	{"thunderbird/Local Folders", nil, 5, map[string][]string{
		"INBOX":         {`Flagged with tags [$label1 \Flagged work]`, `Forwarded [$Forwarded \Seen]`, `Read and replied [\Answered \Seen]`},
		"Sent Messages": {`Sent by me [\Seen]`},
		"Archives/2023": {`Archived 2023 [\Seen]`},
	}},
	{"applemail", nil, 5, map[string][]string{
		"INBOX":        {`Apple one [\Seen]`, `Apple two []`},
		"Work":         {`Work thing []`},
		"Work/Clients": {`Client A []`, `Client B [\Flagged]`},
	}},
	{"takeout", nil, 14, takeoutOnServer},
	{"takeout", []string{"--dedupe-across-folders"}, 11, takeoutDeduped(takeoutOnServer)},
	{"mutt", nil, 7, map[string][]string{
		"Sent Messages":  {`Pine sent [\Answered \Seen work]`, `Pine sent deleted [\Deleted]`},
		"saved-messages": {`Mutt with a lying length [\Seen]`, `Mutt with a true length [\Answered \Flagged \Seen]`, `injected []`},
		"Dovecot":        {`Dovecot first [$Forwarded \Seen work]`, `Dovecot second [\Flagged]`},
	}},
}

// archiveSpecialUse are the destination's special folders, named unlike
// the archives' own, so roles decide where their messages go.
var archiveSpecialUse = map[string]string{"Sent Messages": `\Sent`, "Deleted Messages": `\Trash`, "Junk E-mail": `\Junk`, "Drafts": `\Drafts`, "Archived": `\Archive`}

// TestArchivesToIMAP copies each archive to the in-process IMAP server.
func TestArchivesToIMAP(t *testing.T) {
	archivesToIMAP(t, func(t *testing.T, i int) (addr, user string) {
		srv := servertest.Start(t, imapserver.Options{Users: []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}}, SpecialUse: archiveSpecialUse})
		return srv.Addr(), "alice@example.com"
	})
}

// TestArchivesToDovecot copies each archive to Dovecot, one account each.
func TestArchivesToDovecot(t *testing.T) {
	var users []dovecot.User
	for i := range archiveCases {
		users = append(users, dovecot.User{Name: fmt.Sprintf("archive%d", i), Password: "s3cret"})
	}
	srv := dovecot.Start(t, dovecot.Options{Users: users, SpecialUse: archiveSpecialUse})
	archivesToIMAP(t, func(t *testing.T, i int) (addr, user string) { return srv.IMAPAddr, users[i].Name })
}

// archivesToIMAP copies each archive to a fresh IMAP account (start gives
// the i-th; its password is "s3cret") whose special folders have other
// names, and checks there what arrived: folders (by role where the archive
// gave one), messages, flags; verify agrees; re-runs copy nothing.
func archivesToIMAP(t *testing.T, start func(t *testing.T, i int) (addr, user string)) {
	for i, tt := range archiveCases {
		t.Run(strings.ReplaceAll(tt.path+strings.Join(tt.args, ""), "/", "_"), func(t *testing.T) {
			addr, user := start(t, i)
			dest := "imap://" + strings.ReplaceAll(user, "@", "%40") + "@" + addr + "?tls=none"
			env := []string{"MAILFERRY_DEST_PASSWORD=s3cret"}
			args := append([]string{"copy", "mbox:" + archivePath(tt.path), dest, "--json"}, tt.args...)
			r := mailferry(t, env, args...)
			expectCode(t, r, 0)
			if sum := lastSummary(t, r.stdout); sum.Copied != tt.copied || sum.Failed != 0 {
				t.Errorf("copied %d, failed %d; want %d, 0\n%s", sum.Copied, sum.Failed, tt.copied, r)
			}
			if strings.HasPrefix(tt.path, "thunderbird") && strings.Count(r.stdout, `"type":"warning"`) != 2 ||
				strings.Count(r.stdout, "Thunderbird deleted") != strings.Count(tt.path, "thunderbird")*2 {
				t.Errorf("the run does not report the 2 deleted Thunderbird messages it skipped:\n%s", r)
			}
			if got := serverView(t, addr, user, "s3cret"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("on the server:\n got %q\nwant %q", got, tt.want)
			}
			// verify takes the same options and finds everything.
			r = mailferry(t, env, append([]string{"verify", "mbox:" + archivePath(tt.path), dest}, tt.args...)...)
			expectCode(t, r, 0)
			if !strings.Contains(r.stdout, "verified "+plural.Count(tt.copied, "message")+": all at the destination") {
				t.Errorf("verify:\n%s", r)
			}
			r = mailferry(t, env, args...)
			expectCode(t, r, 0)
			if sum := lastSummary(t, r.stdout); sum.Copied != 0 || sum.Failed != 0 {
				t.Errorf("re-run copied %d, failed %d\n%s", sum.Copied, sum.Failed, r)
			}
		})
	}
}

// TestMuttArchiveAsDovecotReadsIt: Dovecot's own mbox driver, serving the
// mutt/Pine/Dovecot files as they are, shows the same messages with the
// same flags as mailferry reads from them: the pseudo-message hidden, the
// true Content-Length honoured, the lying one ignored.
func TestMuttArchiveAsDovecotReadsIt(t *testing.T) {
	user := dovecot.User{Name: "pine", Password: "s3cret"}
	srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}, Mbox: true})
	dir := srv.MboxDir(user.Name)
	for _, name := range []string{"sent-mail", "saved-messages", "Dovecot.mbox"} {
		data, err := os.ReadFile(filepath.Join(archivePath("mutt"), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.ChownMail(user.Name); err != nil {
		t.Fatal(err)
	}
	var mutt map[string][]string
	for _, c := range archiveCases {
		if c.path == "mutt" {
			mutt = c.want
		}
	}
	want := map[string][]string{"sent-mail": mutt["Sent Messages"], "saved-messages": mutt["saved-messages"], "Dovecot.mbox": mutt["Dovecot"]}
	if got := serverView(t, srv.IMAPAddr, user.Name, user.Password); !reflect.DeepEqual(got, want) {
		t.Errorf("Dovecot shows\n %q\nmailferry reads\n %q", got, want)
	}
}
