package mbox_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// The fixtures in testdata/archives are what other mail programs leave on
// disk: a Thunderbird profile's Local Folders, an Apple Mail export, a
// Google Takeout, and files of mutt, Pine and Dovecot.
func archive(name string) string { return filepath.Join("..", "..", "testdata", "archives", name) }

// got is a folder as a test compares it: role, and per message (in file
// order) its Subject and flags.
type got struct {
	role string
	msgs []string
}

// readArchive opens path and reads every folder and message: the folders'
// roles, each message's Subject and flags, and every body, checked for
// the bookkeeping headers that must be gone.
func readArchive(t *testing.T, path string, opts srcmbox.Options) (map[string]got, map[string][]string) {
	t.Helper()
	src, err := srcmbox.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]got{}
	bodies := map[string][]string{}
	for _, f := range folders {
		list, err := src.List(ctx, f.Name)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if f.Messages >= 0 && f.Messages != len(list) {
			t.Errorf("%s: Folders says %d messages, List %d", f.Name, f.Messages, len(list))
		}
		fe := fetchAll(t, src, f.Name, list)
		if fe.err != nil {
			t.Fatalf("%s: %v", f.Name, fe.err)
		}
		g := got{role: f.Role}
		for i, b := range fe.bodies {
			for _, h := range []string{"X-Mozilla-", "X-Gmail-Labels", "X-GM-THRID", "Status:", "X-UID", "X-IMAP", "X-Keywords"} {
				head, _, _ := strings.Cut(strings.ReplaceAll(b, "\r\n", "\n"), "\n\n")
				if strings.Contains(head, h) {
					t.Errorf("%s: message %d keeps %q in its header:\n%s", f.Name, i, h, head)
				}
			}
			subject := ""
			for _, l := range strings.Split(strings.ReplaceAll(b, "\r\n", "\n"), "\n") {
				if s, ok := strings.CutPrefix(l, "Subject: "); ok {
					subject = s
					break
				}
			}
			g.msgs = append(g.msgs, fmt.Sprintf("%s %v", subject, fe.msgs[i].Flags))
			if !reflect.DeepEqual(fe.msgs[i].Flags, list[i].Flags) && !(len(fe.msgs[i].Flags) == 0 && len(list[i].Flags) == 0) {
				t.Errorf("%s: message %d flags %v when fetched, %v when listed", f.Name, i, fe.msgs[i].Flags, list[i].Flags)
			}
		}
		out[f.Name] = g
		bodies[f.Name] = fe.bodies
	}
	return out, bodies
}

func checkArchive(t *testing.T, name string, gotFolders map[string]got, want map[string]got) {
	t.Helper()
	var names []string
	for n := range gotFolders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: unexpected folder %q: %v", name, n, gotFolders[n])
		}
	}
	for n, w := range want {
		g, ok := gotFolders[n]
		if !ok {
			t.Errorf("%s: no folder %q (have %q)", name, n, names)
			continue
		}
		if g.role != w.role || !reflect.DeepEqual(g.msgs, w.msgs) && !(len(g.msgs) == 0 && len(w.msgs) == 0) {
			t.Errorf("%s: folder %q:\n got role %q %q\nwant role %q %q", name, n, g.role, g.msgs, w.role, w.msgs)
		}
	}
}

// TestThunderbirdProfile: extension-less folders, a .sbd subfolder, .msf
// indexes and other profile files ignored, X-Mozilla-* flags and tags,
// and deleted-but-not-compacted messages skipped and reported.
func TestThunderbirdProfile(t *testing.T) {
	var warnings []string
	folders, _ := readArchive(t, archive("thunderbird/Local Folders"), srcmbox.Options{Warn: func(s string) { warnings = append(warnings, s) }})
	checkArchive(t, "thunderbird", folders, map[string]got{
		"INBOX": {"", []string{
			`Read and replied [\Answered \Seen]`,
			`Flagged with tags [$label1 \Flagged work]`,
			`Forwarded [$Forwarded \Seen]`,
		}},
		"Sent":          {`\Sent`, []string{`Sent by me [\Seen]`}},
		"Trash":         {`\Trash`, nil},
		"Archives":      {`\Archive`, nil},
		"Archives/2023": {"", []string{`Archived 2023 [\Seen]`}},
	})
	sort.Strings(warnings)
	if len(warnings) != 2 || !strings.Contains(warnings[0], `folder "Archives/2023": skipped 1 message that Thunderbird deleted`) ||
		!strings.Contains(warnings[1], `folder "INBOX": skipped 1 message that Thunderbird deleted`) {
		t.Errorf("warnings %q", warnings)
	}
}

// TestAppleMailExport: <name>.mbox bundles, nested, with their Info.plist
// and table_of_contents ignored; a bundle given as the path is INBOX.
func TestAppleMailExport(t *testing.T) {
	folders, _ := readArchive(t, archive("applemail"), srcmbox.Options{})
	checkArchive(t, "applemail", folders, map[string]got{
		"INBOX":        {"", []string{`Apple one [\Seen]`, `Apple two []`}},
		"Work":         {"", []string{`Work thing []`}},
		"Work/Clients": {"", []string{`Client A []`, `Client B [\Flagged]`}},
	})
	folders, _ = readArchive(t, archive("applemail/Work.mbox"), srcmbox.Options{})
	checkArchive(t, "one bundle", folders, map[string]got{
		"INBOX":   {"", []string{`Work thing []`}},
		"Clients": {"", []string{`Client A []`, `Client B [\Flagged]`}},
	})
}

// takeoutFile is the Takeout fixture's mbox file.
var takeoutFile = archive("takeout/Takeout/Mail/All mail Including Spam and Trash.mbox")

// TestTakeout: labels become folders, a message with several is in each,
// system labels become roles and flags, unlabelled mail goes to Archive,
// and Takeout's own headers are gone. The folders are the same whether the
// file or a directory above it is given.
func TestTakeout(t *testing.T) {
	want := takeoutFolders(false)
	for _, path := range []string{takeoutFile, archive("takeout")} {
		folders, bodies := readArchive(t, path, srcmbox.Options{})
		checkArchive(t, path, folders, want)
		// The message whose body holds a quoted From_ line: CRLF kept,
		// one quote removed, Takeout's headers gone.
		b := bodies["Kunden, alt"][0]
		if !strings.HasPrefix(b, "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: Takeout quoted label\r\n") ||
			!strings.HasSuffix(b, "\r\n\r\nFrom bob@example.net Wed Jan 03 10:00:00 +0000 2024\r\nend\r\n") {
			t.Errorf("%s: body %q", path, b)
		}
	}
}

// TestTakeoutDedupe: with DedupeAcrossFolders every message is listed
// once, in its first folder.
func TestTakeoutDedupe(t *testing.T) {
	folders, _ := readArchive(t, takeoutFile, srcmbox.Options{DedupeAcrossFolders: true})
	checkArchive(t, "dedupe", folders, takeoutFolders(true))
}

// takeoutFolders is what the Takeout fixture holds, per folder. With
// dedupe, the two messages that are in a system folder and a label are
// only in the system folder, so Work and "Kunden, alt" are gone.
func takeoutFolders(dedupe bool) map[string]got {
	want := map[string]got{

		"INBOX":        {"", []string{`Takeout inbox read [\Seen]`, `Takeout inbox and work []`, `Takeout quoted label [\Seen]`}},
		"Work":         {"", []string{`Takeout inbox and work []`, `Takeout trashed work [\Seen]`}},
		"Sent":         {`\Sent`, []string{`Takeout sent [\Seen]`}},
		"Archive":      {`\Archive`, []string{`Takeout archived [\Seen]`, `Takeout only important []`}},
		"Work/2024":    {"", []string{`Takeout starred nested [\Flagged \Seen]`}},
		"Junk":         {`\Junk`, []string{`Takeout spam []`}},
		"Trash":        {`\Trash`, []string{`Takeout trashed work [\Seen]`}},
		"Drafts":       {`\Drafts`, []string{`Takeout draft [\Draft \Seen]`}},
		"Entwürfe alt": {"", []string{`Takeout encoded label [\Seen]`}},
		"Kunden, alt":  {"", []string{`Takeout quoted label [\Seen]`}},
	}
	if dedupe {
		delete(want, "Work")
		delete(want, "Kunden, alt")
	}
	return want
}

// TestTakeoutIDs: a message in two label folders has the same ID in both,
// and Fetch gives it with the flags of its labels.
func TestTakeoutIDs(t *testing.T) {
	src, err := srcmbox.Open(takeoutFile, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := src.List(ctx, "INBOX")
	work, _ := src.List(ctx, "Work")
	if len(inbox) != 3 || len(work) != 2 || inbox[1].ID != work[0].ID || inbox[0].ID == inbox[1].ID {
		t.Fatalf("INBOX %v, Work %v", inbox, work)
	}
	f := fetchAll(t, src, "Work", work[:1])
	if f.err != nil || len(f.msgs) != 1 || f.msgs[0].Folder != "Work" || f.msgs[0].ID != work[0].ID || len(f.msgs[0].Flags) != 0 {
		t.Errorf("fetched %+v, %v", f.msgs, f.err)
	}
	var _ transfer.Source = src
}

// TestMuttPineDovecot: flags from Status, X-Status and X-Keywords; the
// pseudo-message skipped; a true Content-Length frames its message (an
// unquoted From_ line inside stays in it), a lying one is ignored.
func TestMuttPineDovecot(t *testing.T) {
	folders, bodies := readArchive(t, archive("mutt"), srcmbox.Options{})
	checkArchive(t, "mutt", folders, map[string]got{
		"sent-mail": {`\Sent`, []string{`Pine sent [\Answered \Seen work]`, `Pine sent deleted [\Deleted]`}},
		"saved-messages": {"", []string{
			`Mutt with a true length [\Answered \Flagged \Seen]`,
			`Mutt with a lying length [\Seen]`,
			`injected []`,
		}},
		"Dovecot": {"", []string{`Dovecot first [$Forwarded \Seen work]`, `Dovecot second [\Flagged]`}},
	})
	if b := bodies["saved-messages"][0]; !strings.HasSuffix(b, "Lines: 4\n\nNot quoted in mboxcl2:\n\nFrom liar@example.com Sun Sep 13 12:26:40 2020\nSubject: not a message\n") {
		t.Errorf("mboxcl2 message %q", b)
	}
	if b := bodies["saved-messages"][1]; !strings.Contains(b, "Content-Length: 4\n") {
		t.Errorf("a lying Content-Length is part of the message, as it does not frame it: %q", b)
	}
}

// TestKMailAndEvolution: KMail's .<name>.directory subfolders and hidden
// indexes, Evolution's .sbd subfolders, summaries and X-Evolution flags.
func TestKMailAndEvolution(t *testing.T) {
	dir := t.TempDir()
	msg := func(subject, extra string) string {
		return "From a@example.org Wed Jan  3 10:00:00 2024\n" + extra + "Subject: " + subject + "\n\nx\n\n"
	}
	writeFile(t, filepath.Join(dir, "kmail", "inbox"), msg("k1", "Status: RO\nX-Status: F\n"))
	writeFile(t, filepath.Join(dir, "kmail", ".inbox.index"), "\x00binary")
	writeFile(t, filepath.Join(dir, "kmail", ".inbox.index.ids"), "\x00")
	writeFile(t, filepath.Join(dir, "kmail", "Work"), msg("k2", ""))
	writeFile(t, filepath.Join(dir, "kmail", ".Work.directory", "Projects"), msg("k3", "Status: RO\n"))
	writeFile(t, filepath.Join(dir, "kmail", ".Work.directory", ".Projects.index"), "\x00")
	writeFile(t, filepath.Join(dir, "evolution", "Inbox"), msg("e1", "X-Evolution: 0000002a-0018\n")+msg("e2", "X-Evolution: 0000002b-0002\n"))
	writeFile(t, filepath.Join(dir, "evolution", "Inbox.ev-summary"), "\x00summary")
	writeFile(t, filepath.Join(dir, "evolution", "Inbox.ibex.index"), "\x00")
	writeFile(t, filepath.Join(dir, "evolution", "Inbox.cmeta"), "\x00")
	writeFile(t, filepath.Join(dir, "evolution", "Lists.sbd", "go-nuts"), msg("e3", "X-Evolution: 00000001-0010\n"))
	folders, _ := readArchive(t, filepath.Join(dir, "kmail"), srcmbox.Options{})
	checkArchive(t, "kmail", folders, map[string]got{
		"INBOX":         {"", []string{`k1 [\Flagged \Seen]`}},
		"Work":          {"", []string{`k2 []`}},
		"Work/Projects": {"", []string{`k3 [\Seen]`}},
	})
	folders, _ = readArchive(t, filepath.Join(dir, "evolution"), srcmbox.Options{})
	checkArchive(t, "evolution", folders, map[string]got{
		"INBOX":         {"", []string{`e1 [\Flagged \Seen]`, `e2 [\Deleted]`}},
		"Lists/go-nuts": {"", []string{`e3 [\Seen]`}},
	})
}
