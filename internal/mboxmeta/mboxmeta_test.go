package mboxmeta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTableMissingOrDamaged(t *testing.T) {
	dir := t.TempDir()
	if tab, err := ReadTable(dir); err != nil || len(tab.Files) != 0 {
		t.Errorf("missing: %+v, %v", tab, err)
	}
	os.WriteFile(filepath.Join(dir, CommittedFile), []byte("{not json"), 0o600)
	if tab, err := ReadTable(dir); err != nil || tab.Files == nil || len(tab.Files) != 0 {
		t.Errorf("damaged: %+v, %v", tab, err)
	}
	os.WriteFile(filepath.Join(dir, CommittedFile), []byte(`{"version":1,"files":{"INBOX":{"size":3,"tail":"x","open":true,"from":1}}}`), 0o600)
	tab, err := ReadTable(dir)
	// A record of version 1 had no count: it reads as unknown.
	if r := tab.Files["INBOX"]; err != nil || r == nil || *r != (Record{Size: 3, Tail: "x", Open: true, From: 1, Messages: UnknownMessages}) {
		t.Errorf("read %+v, %v", tab, err)
	}
	os.WriteFile(filepath.Join(dir, CommittedFile), []byte(`{"version":2,"files":{"INBOX":{"size":3,"tail":"x","open":false,"messages":0}}}`), 0o600)
	tab, err = ReadTable(dir)
	if r := tab.Files["INBOX"]; err != nil || r == nil || *r != (Record{Size: 3, Tail: "x"}) {
		t.Errorf("read %+v, %v", tab, err)
	}
	if Dir("/a/b", false) != "/a/b/.mailferry.lock" || Dir("/a/b.mbox", true) != "/a/b.mbox.mailferry.lock" {
		t.Error("meta directory names")
	}
}

// Only an open record of a file that grew past it, with the same bytes
// before its size (from From on), marks the end as uncommitted.
func TestUncommitted(t *testing.T) {
	file := strings.NewReader("HEADERvaluebody-committed|torn part")
	size := int64(file.Len())
	cut := int64(strings.Index("HEADERvaluebody-committed|torn part", "|"))
	hash, err := TailHash(file, 11, cut)
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Size: cut, Tail: hash, Open: true, From: 11}
	for _, c := range []struct {
		rec  Record
		size int64
		want bool
	}{
		{rec, size, true},
		{rec, cut, false}, // not longer
		{Record{Size: cut, Tail: hash, From: 11}, size, false},   // closed: the run finished
		{Record{Size: cut, Tail: hash, Open: true}, size, false}, // hashed from 0: other bytes
	} {
		if got, err := c.rec.Uncommitted(file, c.size); err != nil || got != c.want {
			t.Errorf("%+v on %d bytes: %v, %v; want %v", c.rec, c.size, got, err, c.want)
		}
	}
	// The bytes before From may change (the X-IMAPbase list grows).
	changed := strings.NewReader("HEADERVALUEbody-committed|torn part")
	if got, _ := rec.Uncommitted(changed, size); !got {
		t.Error("a change before From hid the torn end")
	}
}
