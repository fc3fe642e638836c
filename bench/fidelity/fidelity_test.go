package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/sample"
)

// writeMaildir stores corpus messages as a Maildir++ tree the way Dovecot
// does (LF, flags in the name, mtime the date), letting edit change each.
func writeMaildir(t *testing.T, o sample.BenchOptions, edit func(i int, name string, body []byte) (string, []byte)) string {
	t.Helper()
	root := t.TempDir()
	for i := range o.Messages {
		m := sample.BenchMessage(o, i)
		dir := root
		if m.Folder != "INBOX" {
			enc, err := formats.EncodeMUTF7(m.Folder)
			if err != nil {
				t.Fatal(err)
			}
			dir = filepath.Join(root, "."+strings.ReplaceAll(enc, "/", "."))
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(dir, sub), 0o755)
		}
		letters := ""
		for _, f := range m.Flags {
			switch f {
			case `\Seen`:
				letters += "S"
			case `\Answered`:
				letters += "R"
			case `\Flagged`:
				letters += "F"
			case `\Draft`:
				letters += "D"
			case "$Forwarded":
				letters += "P"
			default:
				kw := map[string]string{"$Label1": "a", "Work": "b"}[f]
				letters += kw
				os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte("0 $Label1\n1 Work\n"), 0o644)
			}
		}
		name, body := fmt.Sprintf("%d.M1P1.host:2,%s", i, letters), formats.ToLF(m.Body)
		if edit != nil {
			name, body = edit(i, name, body)
		}
		if name == "" {
			continue
		}
		path := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, m.Date, m.Date)
	}
	return root
}

func check(t *testing.T, o sample.BenchOptions, root string) (string, bool) {
	t.Helper()
	msgs, err := readMaildir(root)
	if err != nil {
		t.Fatal(err)
	}
	return compare(expected(o, false), msgs, map[string]bool{"folders": true, "bytes": true, "flags": true, "keywords": true, "dates": true})
}

func TestFidelityExactCopy(t *testing.T) {
	o := sample.BenchOptions{Messages: 60, Seed: 2}
	line, ok := check(t, o, writeMaildir(t, o, nil))
	if !ok || line != "60 of 60 messages; folders ok; bytes ok; flags ok; keywords ok; dates ok" {
		t.Fatalf("an exact copy: %q, %v", line, ok)
	}
}

func TestFidelityCountsEachLoss(t *testing.T) {
	o := sample.BenchOptions{Messages: 60, Seed: 2}
	root := writeMaildir(t, o, func(i int, name string, body []byte) (string, []byte) {
		switch i {
		case 3:
			return "", nil // lost
		case 4:
			return name + "F", body // a flag added
		case 5:
			return name, append(body, 'x') // a byte added
		case 6:
			return strings.TrimSuffix(name, "b") + "X-not-a-letter", body
		}
		return name, body
	})
	// One more copy of message 7, exact, and a message the corpus does
	// not have.
	m := sample.BenchMessage(o, 7)
	orig, _ := filepath.Glob(filepath.Join(root, "*", "cur", "7.M1P1.host:2,*"))
	if more, _ := filepath.Glob(filepath.Join(root, "cur", "7.M1P1.host:2,*")); len(more) > 0 {
		orig = more
	}
	if len(orig) != 1 {
		t.Fatalf("message 7 is at %q", orig)
	}
	dup := strings.Replace(orig[0], "7.M1P1", "7.M2P1", 1)
	os.WriteFile(dup, formats.ToLF(m.Body), 0o644)
	os.Chtimes(dup, m.Date, m.Date)
	os.WriteFile(filepath.Join(root, "cur", "stranger:2,"), []byte("Message-ID: <x@y>\n\nhi\n"), 0o644)
	line, ok := check(t, o, root)
	for _, want := range []string{"59 of 60 messages", "1 doubled", "1 not of the corpus", "flags 1 differ", "bytes 1 differ"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if ok {
		t.Errorf("%q counts as a faithful copy", line)
	}
}
