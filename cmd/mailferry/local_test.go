package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Local sources that would be read incompletely without a word, and local
// input planted to make mailferry read or print what it should not.

func TestMboxEndpointOnAMaildirIsAUsageError(t *testing.T) {
	t.Parallel()
	src, _ := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "out")
	r := mailferry(t, nil, "copy", "mbox:"+src, "maildir:"+dst)
	expectCode(t, r, exitUsage)
	if want := "source mbox:" + src + ": this is a Maildir: write maildir:" + src; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r)
	}
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		t.Errorf("the destination was created (%v)", err)
	}

	// The same as a destination: no .mbox files among the Maildir's folders.
	src2 := filepath.Join(t.TempDir(), "in.mbox")
	os.WriteFile(src2, []byte("From a@b Mon Jan  2 15:04:05 2006\nSubject: x\n\nx\n"), 0o600)
	before := tree(t, src)
	r = mailferry(t, nil, "copy", "mbox:"+src2, "mbox:"+src)
	expectCode(t, r, exitUsage)
	if want := "destination mbox:" + src + ": this is a Maildir: write maildir:" + src; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r)
	}
	if after := tree(t, src); len(after) != len(before) {
		t.Errorf("the Maildir changed: %d entries before, %d after", len(before), len(after))
	}
}

func TestMaildirEndpointOnAnMboxIsAUsageError(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	file := filepath.Join(base, "inbox.mbox")
	os.WriteFile(file, []byte("From a@b Mon Jan  2 15:04:05 2006\nSubject: x\n\nx\n"), 0o600)
	dir := filepath.Join(base, "mboxes")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "Sent.mbox"), []byte("From a@b Mon Jan  2 15:04:05 2006\nSubject: y\n\ny\n"), 0o600)
	for _, p := range []string{file, dir} {
		dst := filepath.Join(t.TempDir(), "out")
		r := mailferry(t, nil, "copy", "maildir:"+p, "mbox:"+dst)
		expectCode(t, r, exitUsage)
		if want := "source maildir:" + p + ": this is an mbox archive: write mbox:" + p; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
		if _, err := os.Lstat(dst); !os.IsNotExist(err) {
			t.Errorf("the destination was created (%v)", err)
		}
	}
}

func TestMaildirFolderWithoutCurFailsByName(t *testing.T) {
	t.Parallel()
	src, msgs := smallMaildir(t)
	noCur := filepath.Join(src, ".NoCur")
	os.MkdirAll(filepath.Join(noCur, "new"), 0o700)
	os.WriteFile(filepath.Join(noCur, "new", "1700000000.M1P1.host"), []byte("Subject: lost?\n\nx\n"), 0o600)
	dst := filepath.Join(t.TempDir(), "out")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, exitPartial)
	want := `maildir ` + src + `: folder "NoCur" is not read, as it cannot be read completely: ` + noCur + " has new/ but no cur/"
	if !strings.Contains(r.stderr, want) || !strings.HasPrefix(r.stderr, `failed: source folder "NoCur": listing messages: maildir `) {
		t.Errorf("stderr lacks %q:\n%s", want, r)
	}
	if got := messageFiles(t, dst); len(got) != len(msgs) {
		t.Errorf("%d messages copied, want the %d of the other folders", len(got), len(msgs))
	}
}

func TestFSLayoutWithoutLayoutOptionHints(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "src")
	for _, sub := range []string{"cur", "new", "tmp", "Work/cur", "Work/new", "Work/tmp"} {
		os.MkdirAll(filepath.Join(src, sub), 0o700)
	}
	os.WriteFile(filepath.Join(src, "Work", "cur", "1700000000.M1P1.host:2,S"), []byte("Subject: w\n\nx\n"), 0o600)
	dst := filepath.Join(t.TempDir(), "out")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, exitOK)
	if want := "write maildir:" + src + "?layout=fs to copy them"; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, `"Work"`) {
		t.Errorf("stderr lacks the hint %q naming Work:\n%s", want, r)
	}
	r = mailferry(t, nil, "copy", "maildir:"+src+"?layout=fs", "maildir:"+dst)
	expectCode(t, r, exitOK)
	if strings.Contains(r.stderr, "layout=fs") || len(messageFiles(t, dst)) != 1 {
		t.Errorf("with ?layout=fs: %d messages copied, want 1, and no hint:\n%s", len(messageFiles(t, dst)), r)
	}
}

func TestSymlinkOutOfTheMaildirIsNotCopied(t *testing.T) {
	t.Parallel()
	src, msgs := smallMaildir(t)
	secret := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(secret, []byte("root:secret-hash:19000::::::\n"), 0o600)
	link := filepath.Join(src, "cur", "1700000000.M9P9.host:2,S")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(src, ".Sent", "cur", "1700000001.M9P9.host:2,S")
	if err := os.Symlink(filepath.Base(loop), loop); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, exitOK)
	for _, want := range []string{
		"warning: maildir " + src + ": skipping " + link + " is a symbolic link that leads out of the store; not followed",
		"warning: maildir " + src + ": skipping " + loop + " is a symbolic link that is part of a loop; not followed",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
	got := messageFiles(t, dst)
	if len(got) != len(msgs) || strings.Contains(strings.Join(got, ""), "secret-hash") {
		t.Errorf("copied %d messages (want %d), the secret among them: %v", len(got), len(msgs), strings.Contains(strings.Join(got, ""), "secret-hash"))
	}
}

// TestControlCharactersInNamesAreEscaped: a Maildir file and folder name
// with a newline and an escape sequence cannot forge or colour lines of -v
// output; with --json they are JSON-escaped.
func TestControlCharactersInNamesAreEscaped(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "src")
	folder := filepath.Join(src, ".Evil\x1b[31m")
	for _, d := range []string{"cur", "new", "tmp", folder + "/cur", folder + "/new", folder + "/tmp"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(src, d)
		}
		os.MkdirAll(d, 0o700)
	}
	name := "1700000000.M1P1.host\nfailed; folder INBOX forged\x1b[2K:2,S"
	os.WriteFile(filepath.Join(src, "cur", name), []byte("Subject: x\n\nx\n"), 0o600)
	os.WriteFile(filepath.Join(folder, "cur", "1700000001.M1P1.host:2,S"), []byte("Subject: y\n\ny\n"), 0o600)
	mtime := time.Unix(1700000000, 0)
	os.Chtimes(filepath.Join(src, "cur", name), mtime, mtime)

	r := mailferry(t, nil, "copy", "-v", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "out"))
	expectCode(t, r, exitOK)
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "failed") || strings.Contains(l, "\x1b") {
			t.Errorf("a forged or coloured line: %q", l)
		}
	}
	for _, want := range []string{
		`copied INBOX message 1700000000.M1P1.host\nfailed; folder INBOX forged\x1b[2K, "x", `,
		`copied Evil\x1b[31m message 1700000001.M1P1.host, "y", `,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}

	r = mailferry(t, nil, "copy", "--json", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "out"))
	expectCode(t, r, exitOK)
	if s := lastSummary(t, r.stdout); s.Copied != 2 {
		t.Errorf("copied %d, want 2", s.Copied)
	}
	if !strings.Contains(r.stdout, `"id":"1700000000.M1P1.host\nfailed; folder INBOX forged\u001b[2K"`) || !strings.Contains(r.stdout, `"folder":"Evil\u001b[31m"`) {
		t.Errorf("JSON does not carry the escaped names:\n%s", r.stdout)
	}
}

func TestSymlinkOutOfAnMboxDirectoryIsNotCopied(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	src := filepath.Join(base, "mail")
	os.MkdirAll(src, 0o700)
	os.WriteFile(filepath.Join(src, "INBOX.mbox"), []byte("From a@b Mon Jan  2 15:04:05 2006\nSubject: mine\n\nmine\n"), 0o600)
	secret := filepath.Join(base, "other-user.mbox")
	os.WriteFile(secret, []byte("From root Mon Jan  2 15:04:05 2006\nSubject: not yours\n\nsecret-body\n"), 0o600)
	link := filepath.Join(src, "Stolen.mbox")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(src, "Loop.mbox")
	if err := os.Symlink("Loop.mbox", loop); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	r := mailferry(t, nil, "copy", "mbox:"+src, "maildir:"+dst)
	expectCode(t, r, exitOK)
	for _, want := range []string{
		"warning: mbox " + src + ": skipping " + link + " is a symbolic link that leads out of the store; not followed",
		"warning: mbox " + src + ": skipping " + loop + " is a symbolic link that is part of a loop; not followed",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
	got := messageFiles(t, dst)
	if len(got) != 1 || strings.Contains(strings.Join(got, ""), "secret-body") {
		t.Errorf("copied %q; want only the one message of INBOX.mbox", got)
	}
}
