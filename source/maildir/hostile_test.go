package maildir_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// hostileMaildir is a Maildir whose owner planted symbolic links: to a
// secret outside the store, in a loop, and in place of folder directories.
func hostileMaildir(t *testing.T) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "Maildir")
	outside := filepath.Join(base, "outside")
	for _, sub := range []string{"cur", "new", "tmp", ".Real/cur", ".Real/new", ".Real/tmp",
		"../outside/cur", "../outside/new", "../outside/tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d := time.Unix(1700000000, 0)
	secret = filepath.Join(outside, "shadow")
	writeFile(t, secret, "root:secret-hash:19000:0:99999:7:::\n", d)
	writeFile(t, filepath.Join(outside, "cur", "1700000009.M9P9.host:2,S"), "Subject: outside\n\nnot yours\n", d)
	writeFile(t, filepath.Join(root, "cur", "1700000001.M1P1.host:2,S"), "Subject: real\n\nhello\n", d)
	writeFile(t, filepath.Join(root, ".Real", "cur", "1700000002.M1P1.host:2,"), "Subject: in Real\n\n", d)
	links := map[string]string{
		"cur/1700000003.M1P1.host:2,S":   secret,                                       // out of the store
		"new/1700000004.M1P1.host":       "../new/1700000004.M1P1.host",                // itself: a loop
		"cur/1700000005.M1P1.host:2,S":   "1700000001.M1P1.host:2,S",                   // stays inside
		"cur/1700000006.M1P1.host:2,S":   "../../outside/cur/1700000009.M9P9.host:2,S", // out, relative
		".Evil":                          outside,                                      // a folder directory out of the store
		".Alias":                         ".Real",                                      // a folder directory inside
		".Real/new/1700000007.M1P1.host": "no-such-file",                               // dangling
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, secret
}

func TestSymlinksAreNotFollowedOutOfTheMaildir(t *testing.T) {
	root, _ := hostileMaildir(t)
	var warnings []string
	src, err := maildir.Open(root, maildir.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readAll(t, src)
	var bodies []string
	for _, folder := range keys(got) {
		for _, m := range got[folder] {
			bodies = append(bodies, folder+": "+m.body)
		}
	}
	all := strings.Join(bodies, "\n")
	if strings.Contains(all, "secret-hash") || strings.Contains(all, "not yours") {
		t.Fatalf("a file outside the Maildir was read as a message:\n%s", all)
	}
	// The link that stays inside is followed, as is the folder link to .Real.
	if want := []string{"Alias", "INBOX", "Real"}; !equal(keys(got), want) {
		t.Errorf("folders %q, want %q", keys(got), want)
	}
	if n := len(got["INBOX"]); n != 2 {
		t.Errorf("INBOX has %d messages, want 2 (the real one and the link inside the store): %q", n, bodies)
	}
	w := strings.Join(warnings, "\n")
	for _, want := range []string{
		filepath.Join(root, "cur", "1700000003.M1P1.host:2,S") + " is a symbolic link that leads out of the store; not followed",
		filepath.Join(root, "cur", "1700000006.M1P1.host:2,S") + " is a symbolic link that leads out of the store; not followed",
		filepath.Join(root, "new", "1700000004.M1P1.host") + " is a symbolic link that is part of a loop; not followed",
		filepath.Join(root, ".Evil") + " is a symbolic link that leads out of the store; not followed",
		filepath.Join(root, ".Real", "new", "1700000007.M1P1.host") + " is a symbolic link that points at nothing; not followed",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in:\n%s", want, w)
		}
	}
	// Warnings come once per file, though Folders and List both meet it.
	if n := strings.Count(w, "1700000003.M1P1.host"); n != 1 {
		t.Errorf("the link to the secret was warned about %d times:\n%s", n, w)
	}
}

// A file swapped for a link between List and Fetch is not read either.
func TestFetchRefusesAFileSwappedForALink(t *testing.T) {
	root, secret := hostileMaildir(t)
	src, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := src.List(ctx, "Real")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List(Real) = %v, %v", msgs, err)
	}
	p := filepath.Join(root, ".Real", "cur", "1700000002.M1P1.host:2,")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, p); err != nil {
		t.Fatal(err)
	}
	var read []string
	err = src.Fetch(ctx, "Real", msgs, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		read = append(read, string(b))
		return err
	})
	var me *transfer.MessageError
	if len(read) != 0 || !errors.As(err, &me) || transfer.ClassOf(err) != transfer.PerMessage || !strings.Contains(err.Error(), "leads out of the store") {
		t.Fatalf("Fetch read %q and returned %v; want nothing read and a per-message error about the link", read, err)
	}
}

// brokenMaildir has INBOX and a good folder next to folders that cannot be
// read completely.
func brokenMaildir(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp", ".Good/cur", ".NoCur/new", ".NoCur/tmp", ".CurFile/new", ".CurLink/new"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(root, "cur", "1700000001.M1P1.host:2,S"), "Subject: inbox\n\n", d)
	writeFile(t, filepath.Join(root, ".Good", "cur", "1700000002.M1P1.host:2,S"), "Subject: good\n\n", d)
	writeFile(t, filepath.Join(root, ".NoCur", "new", "1700000003.M1P1.host"), "Subject: would be lost\n\n", d)
	writeFile(t, filepath.Join(root, ".CurFile", "cur"), "not a directory", d)
	if err := os.Symlink(t.TempDir(), filepath.Join(root, ".CurLink", "cur")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFolderWithoutCurIsAnErrorNamingIt(t *testing.T) {
	root := brokenMaildir(t)
	src, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, f := range folders {
		counts[f.Name] = f.Messages
	}
	want := map[string]int{"INBOX": 1, "Good": 1, "NoCur": -1, "CurFile": -1, "CurLink": -1}
	for name, n := range want {
		if c, ok := counts[name]; !ok || c != n {
			t.Errorf("folder %s: listed %v with %d messages, want %d (all: %v)", name, ok, c, n, counts)
		}
	}
	for name, says := range map[string]string{
		"NoCur":   filepath.Join(root, ".NoCur") + " has new/ and tmp/ but no cur/",
		"CurFile": filepath.Join(root, ".CurFile", "cur") + " is not a directory",
		"CurLink": filepath.Join(root, ".CurLink", "cur") + " is a symbolic link that leads out of the store",
	} {
		_, err := src.List(ctx, name)
		if err == nil || transfer.ClassOf(err) != transfer.PerMessage ||
			!strings.Contains(err.Error(), `folder "`+name+`" is not read, as it cannot be read completely`) || !strings.Contains(err.Error(), says) {
			t.Errorf("List(%s) = %v; want a per-message error naming the folder and saying %q", name, err, says)
		}
	}
	for _, name := range []string{"INBOX", "Good"} {
		if msgs, err := src.List(ctx, name); err != nil || len(msgs) != 1 {
			t.Errorf("List(%s) = %d messages, %v; want 1", name, len(msgs), err)
		}
	}
}

func TestFSLayoutReadAsMaildirPlusPlusHints(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp", "Archive/cur", "Archive/new", "Archive/tmp", "Lists/dev/cur", "Lists/dev/new", "Lists/dev/tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var warnings []string
	src, err := maildir.Open(root, maildir.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	want := `the directories ["Archive" "Lists"] hold Maildirs of the fs layout (nested folder directories), which maildir:` + root +
		" does not read; write maildir:" + root + "?layout=fs to copy them"
	if w := strings.Join(warnings, "\n"); !strings.Contains(w, want) {
		t.Errorf("warnings:\n%s\nwant %q", w, want)
	}

	// Read with the fs layout, the same store has no hint and every folder.
	warnings = nil
	fsSrc, err := maildir.Open(root, maildir.Options{Layout: "fs", Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer fsSrc.Close()
	folders, err := fsSrc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Name)
	}
	if want := []string{"Archive", "INBOX", "Lists/dev"}; !equal(names, want) || len(warnings) != 0 {
		t.Errorf("fs layout: folders %q, warnings %q; want %q and none", names, warnings, want)
	}
}

func TestFSLayoutSymlinkedFolders(t *testing.T) {
	root, _ := hostileMaildir(t)
	outside := filepath.Join(filepath.Dir(root), "outside")
	if err := os.Symlink(outside, filepath.Join(root, "Evil")); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(root, "Loop")
	if err := os.Symlink("Loop", loop); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	src, err := maildir.Open(root, maildir.Options{Layout: "fs", Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if f.Name == "Evil" || f.Name == "Loop" {
			t.Errorf("folder %q read through a link that leaves the store or loops", f.Name)
		}
	}
	w := strings.Join(warnings, "\n")
	for _, want := range []string{
		filepath.Join(root, "Evil") + " is a symbolic link that leads out of the store",
		loop + " is a symbolic link that is part of a loop",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in:\n%s", want, w)
		}
	}
}
