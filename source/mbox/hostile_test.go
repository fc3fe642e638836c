package mbox_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// TestSymlinksAreNotFollowedOutOfTheDirectory: links to a file outside the
// mbox directory, in a loop, dangling and to a directory are skipped with a
// warning naming them; a link to a file inside is read.
func TestSymlinksAreNotFollowedOutOfTheDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "mail")
	msg := "From alice@example.com Sat Mar  9 17:04:05 2024\nSubject: mine\n\nx\n"
	writeFile(t, filepath.Join(dir, "INBOX.mbox"), msg)
	secret := filepath.Join(base, "secret.mbox")
	writeFile(t, secret, "From root Sat Mar  9 17:04:05 2024\nSubject: not yours\n\nsecret\n")
	writeFile(t, filepath.Join(dir, "Real", "x.mbox"), msg)
	links := map[string]string{
		"Secret.mbox":   secret,                           // out of the store
		"Relative.mbox": "../secret.mbox",                 // out, relative
		"Loop.mbox":     "Loop.mbox",                      // itself
		"Dangling.mbox": "nothing.mbox",                   // to nothing
		"Other":         "Real",                           // a directory
		"Copy.mbox":     "INBOX.mbox",                     // inside: read
		"Abs.mbox":      filepath.Join(dir, "INBOX.mbox"), // inside, absolute: read
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	var warnings []string
	src, err := srcmbox.Open(dir, srcmbox.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatalf("Folders: %v (one bad link must not stop the listing)", err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Name)
		list, err := src.List(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		got := fetchAll(t, src, f.Name, list)
		if got.err != nil || strings.Contains(strings.Join(got.bodies, ""), "secret") {
			t.Fatalf("folder %s: read %q, %v", f.Name, got.bodies, got.err)
		}
	}
	if want := []string{"Abs", "Copy", "INBOX", "Real/x"}; !reflect.DeepEqual(names, want) {
		t.Errorf("folders %q, want %q", names, want)
	}
	w := strings.Join(warnings, "\n")
	for _, want := range []string{
		filepath.Join(dir, "Secret.mbox") + " is a symbolic link that leads out of the store; not followed",
		filepath.Join(dir, "Relative.mbox") + " is a symbolic link that leads out of the store; not followed",
		filepath.Join(dir, "Loop.mbox") + " is a symbolic link that is part of a loop; not followed",
		filepath.Join(dir, "Dangling.mbox") + " is a symbolic link that points at nothing; not followed",
		filepath.Join(dir, "Other") + ": a symbolic link to a directory; not followed",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in:\n%s", want, w)
		}
	}
}

// A folder file swapped for a link out of the store after the scan is not
// read.
func TestListRefusesAFileSwappedForALink(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "mail")
	writeFile(t, filepath.Join(dir, "Work.mbox"), "From a Sat Mar  9 17:04:05 2024\nSubject: work\n\nx\n")
	secret := filepath.Join(base, "secret")
	writeFile(t, secret, "From root Sat Mar  9 17:04:05 2024\nSubject: secret\n\nsecret\n")
	src, err := srcmbox.Open(dir, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "Work.mbox")
	os.Remove(p)
	if err := os.Symlink(secret, p); err != nil {
		t.Fatal(err)
	}
	list, err := src.List(ctx, "Work")
	if err == nil || transfer.ClassOf(err) == transfer.Temporary || !strings.Contains(err.Error(), "leads out of the store") {
		t.Fatalf("List = %v, %v; want an error about the link", list, err)
	}
}
