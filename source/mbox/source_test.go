package mbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

var ctx = context.Background()

func writeFile(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func framed(t *testing.T, bodies ...string) string {
	t.Helper()
	var buf bytes.Buffer
	w := formats.NewMboxWriter(&buf)
	for i, b := range bodies {
		if _, err := w.WriteMessageBytes(formats.MboxEnvelope{Date: time.Unix(int64(1700000000+i), 0)}, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

type fetched struct {
	msgs   []transfer.Message
	bodies []string
	err    error
}

func fetchAll(t *testing.T, src *srcmbox.Source, folder string, list []transfer.Message) fetched {
	t.Helper()
	var f fetched
	f.err = src.Fetch(ctx, folder, list, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		f.msgs = append(f.msgs, m)
		f.bodies = append(f.bodies, string(b))
		return nil
	})
	return f
}

func TestIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	writeFile(t, path, framed(t, "Subject: same\n\nx\n", "Subject: other\n\ny\n", "Subject: same\n\nx\n", "Subject: same\n\nx\n"))
	src, err := srcmbox.Open(path, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	folders, err := src.Folders(ctx)
	if err != nil || len(folders) != 1 || folders[0].Name != "INBOX" {
		t.Fatalf("folders %v, %v", folders, err)
	}
	list, err := src.List(ctx, "INBOX")
	if err != nil || len(list) != 4 {
		t.Fatalf("list %v, %v", list, err)
	}
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if !hexID.MatchString(list[0].ID) || !hexID.MatchString(list[1].ID) || list[0].ID == list[1].ID ||
		list[2].ID != list[0].ID+"#2" || list[3].ID != list[0].ID+"#3" {
		t.Errorf("IDs %q %q %q %q", list[0].ID, list[1].ID, list[2].ID, list[3].ID)
	}
	again, _ := src.List(ctx, "INBOX")
	if !reflect.DeepEqual(list, again) {
		t.Errorf("a second List differs")
	}
	// Fetching a subset, in any order, gives exactly those messages.
	f := fetchAll(t, src, "INBOX", []transfer.Message{list[3], list[1]})
	if f.err != nil || len(f.msgs) != 2 || f.msgs[0].ID != list[1].ID || f.bodies[0] != "Subject: other\n\ny\n" || f.msgs[1].ID != list[3].ID {
		t.Errorf("fetched %v %q, %v", f.msgs, f.bodies, f.err)
	}
	if !f.msgs[1].Date.Equal(time.Unix(1700000003, 0)) || f.msgs[1].Size != int64(len("Subject: same\n\nx\n")) {
		t.Errorf("message %+v", f.msgs[1])
	}
}

// TestChangedSinceListed: a message whose bytes changed after List fails
// alone with a per-message error; the others are delivered.
func TestChangedSinceListed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	orig := framed(t, "Subject: a\n\nkeep\n", "Subject: b\n\nchange me\n", "Subject: c\n\nkeep too\n")
	writeFile(t, path, orig)
	src, _ := srcmbox.Open(path, srcmbox.Options{})
	list, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(orig, "change me", "CHANGED!!", 1))
	f := fetchAll(t, src, "INBOX", list)
	var me *transfer.MessageError
	if !errors.As(f.err, &me) || me.ID != list[1].ID || transfer.ClassOf(f.err) != transfer.PerMessage ||
		!strings.Contains(f.err.Error(), "changed since it was listed") || !strings.Contains(f.err.Error(), path) {
		t.Fatalf("error %v", f.err)
	}
	if len(f.msgs) != 2 || f.msgs[0].ID != list[0].ID || f.msgs[1].ID != list[2].ID {
		t.Errorf("delivered %v", f.msgs)
	}
	// A file cut short: the messages past the cut fail the same way.
	writeFile(t, path, orig[:len(orig)/2])
	f = fetchAll(t, src, "INBOX", list)
	if transfer.ClassOf(f.err) != transfer.PerMessage || len(f.msgs) != 1 {
		t.Errorf("after truncation: %d delivered, %v", len(f.msgs), f.err)
	}
}

// TestIncomplete: a torn append at the end of a file (here in the framing of
// old archives, whose frame shows it) is listed and fails alone when
// fetched.
func TestIncomplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	whole := framed(t, "Subject: a\n\nx\n") +
		"From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nStatus: RO\nX-Mailferry-Frame: 1 36\nSubject: torn\n\nthis message was cut\n\n"
	writeFile(t, path, whole[:len(whole)-10])
	src, _ := srcmbox.Open(path, srcmbox.Options{})
	list, err := src.List(ctx, "INBOX")
	if err != nil || len(list) != 2 || !strings.HasPrefix(list[1].ID, "incomplete@") {
		t.Fatalf("list %v, %v", list, err)
	}
	f := fetchAll(t, src, "INBOX", list)
	if len(f.msgs) != 1 || transfer.ClassOf(f.err) != transfer.PerMessage || !strings.Contains(f.err.Error(), "incomplete") {
		t.Errorf("fetched %d, %v", len(f.msgs), f.err)
	}
}

// TestDirectoryLayout: .mbox files, Thunderbird folders and subfolders,
// and files that are not folders.
func TestDirectoryLayout(t *testing.T) {
	dir := t.TempDir()
	msg := "From - Sat Mar  9 17:04:05 2024\nX-Mozilla-Status: 0001\nSubject: tb\n\nx\n"
	writeFile(t, filepath.Join(dir, "Inbox"), msg)
	writeFile(t, filepath.Join(dir, "Inbox.msf"), "// <!-- <mdb:mork:z v=\"1.4\"/> -->")
	writeFile(t, filepath.Join(dir, "Sent"), msg)
	writeFile(t, filepath.Join(dir, "Trash"), "")
	writeFile(t, filepath.Join(dir, "Trash.msf"), "x")
	writeFile(t, filepath.Join(dir, "Archives.sbd", "2019"), msg)
	writeFile(t, filepath.Join(dir, "Work", "Projects.mbox"), msg)
	writeFile(t, filepath.Join(dir, "a%3Ab.mbox"), msg)
	writeFile(t, filepath.Join(dir, "empty-not-folder"), "")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not mail\n")
	writeFile(t, filepath.Join(dir, "mailferry.state"), "{}\n")
	writeFile(t, filepath.Join(dir, ".INBOX.mbox.torn-0"), msg)
	writeFile(t, filepath.Join(dir, ".imap", "x.mbox"), msg)
	if err := os.Symlink(filepath.Join(dir, "Work", "Projects.mbox"), filepath.Join(dir, "Linked.mbox")); err != nil {
		t.Fatal(err)
	}
	src, err := srcmbox.Open(dir, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names, roles []string
	for _, f := range folders {
		names = append(names, f.Name)
		roles = append(roles, f.Role)
	}
	wantNames := []string{"Archives/2019", "INBOX", "Linked", "Sent", "Trash", "Work/Projects", "a:b"}
	wantRoles := []string{"", "", "", `\Sent`, `\Trash`, "", ""}
	if !reflect.DeepEqual(names, wantNames) || !reflect.DeepEqual(roles, wantRoles) {
		t.Fatalf("folders %q roles %q", names, roles)
	}
	list, err := src.List(ctx, "INBOX")
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0].Flags, []string{`\Seen`}) {
		t.Fatalf("INBOX: %v, %v", list, err)
	}
	f := fetchAll(t, src, "INBOX", list)
	if f.err != nil || f.bodies[0] != "Subject: tb\n\nx\n" {
		t.Errorf("INBOX body %q, %v", f.bodies, f.err)
	}
	if list, err := src.List(ctx, "Trash"); err != nil || len(list) != 0 {
		t.Errorf("Trash: %v, %v", list, err)
	}
	if _, err := src.List(ctx, "Nope"); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("unknown folder: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notMbox := filepath.Join(dir, "notes.txt")
	writeFile(t, notMbox, "\n\nDear diary,\n")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want string
	}{
		{filepath.Join(dir, "missing.mbox"), "no such file"},
		{notMbox, "not an mbox file: expected a From_ line at byte 2"},
		{fifo, "neither a directory nor a regular file"},
	} {
		_, err := srcmbox.Open(tt.path, srcmbox.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) || transfer.ClassOf(err) != transfer.Fatal {
			t.Errorf("Open(%s): %v; want fatal error naming it with %q", tt.path, err, tt.want)
		}
	}
	// A folder file replaced by a directory after Folders.
	d := filepath.Join(dir, "d")
	writeFile(t, filepath.Join(d, "INBOX.mbox"), framed(t, "x\n"))
	src, err := srcmbox.Open(d, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(d, "INBOX.mbox"))
	os.Mkdir(filepath.Join(d, "INBOX.mbox"), 0o700)
	_, err = src.List(ctx, "INBOX")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(d, "INBOX.mbox")) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory in place of the file: %v", err)
	}
	// Two files claiming the inbox.
	two := filepath.Join(dir, "two")
	writeFile(t, filepath.Join(two, "INBOX.mbox"), framed(t, "x\n"))
	writeFile(t, filepath.Join(two, "Inbox"), framed(t, "y\n"))
	src, _ = srcmbox.Open(two, srcmbox.Options{})
	if _, err := src.Folders(ctx); err == nil || !strings.Contains(err.Error(), "both hold folder") {
		t.Errorf("two inboxes: %v", err)
	}
}

// TestConcurrentFetch runs MaxFetchers fetches of one folder at once.
func TestConcurrentFetch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	var bodies []string
	for i := 0; i < 40; i++ {
		bodies = append(bodies, "Subject: "+strings.Repeat("x", i)+"\n\nFrom body\n")
	}
	writeFile(t, path, framed(t, bodies...))
	src, _ := srcmbox.Open(path, srcmbox.Options{})
	list, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < src.MaxFetchers(); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var part []transfer.Message
			for i := w; i < len(list); i += src.MaxFetchers() {
				part = append(part, list[i])
			}
			f := fetchAll(t, src, "INBOX", part)
			if f.err != nil || len(f.bodies) != len(part) {
				t.Errorf("worker %d: %d bodies, %v", w, len(f.bodies), f.err)
				return
			}
			for i, b := range f.bodies {
				if b != bodies[w+i*src.MaxFetchers()] {
					t.Errorf("worker %d: body %d wrong", w, i)
				}
			}
		}(w)
	}
	wg.Wait()
}
