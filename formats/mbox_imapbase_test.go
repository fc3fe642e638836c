package formats

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The first message of a file carries X-IMAPbase with the keywords and
// room after them; a keyword a later message brings is written into that
// room without moving a byte, and mailferry's reader gives back both
// messages exactly, without the field.
func TestMboxIMAPBaseGrowsInPlace(t *testing.T) {
	first := []byte("Subject: one\nX-IMAPbase: 1 0000000005 theirs\n\nbody\n")
	second := []byte("Subject: two\n\nFrom here\n")
	var buf bytes.Buffer
	w := NewMboxWriter(&buf)
	date := time.Date(2024, 3, 9, 17, 4, 5, 0, time.UTC)
	n, base, err := w.WriteFirstMessage(MboxEnvelope{Date: date, Flags: []string{FlagSeen, "Work"}},
		NewMboxIMAPBase(1700000000, []string{FlagSeen, "Work", "Work", "bad word"}), bytes.NewReader(first), int64(len(first)))
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteFirstMessage = %d, %v; wrote %d", n, err, buf.Len())
	}
	if _, err := w.WriteMessageBytes(MboxEnvelope{Date: date, Flags: []string{"$Forwarded", "Work"}}, second); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	wantLine := "X-IMAPbase: 1700000000 0000000000 Work" + strings.Repeat(" ", mboxIMAPBaseRoom-len("1700000000 0000000000 Work")) + "\nStatus: RO\n"
	if !bytes.Contains(file, []byte("\nX-Original-X-IMAPbase: 1 0000000005 theirs\n"+wantLine)) {
		t.Fatalf("the first message's header:\n%q", file[:300])
	}
	got, ok, err := ReadMboxIMAPBase(bytes.NewReader(file), int64(len(file)))
	if err != nil || !ok || got.Offset != base.Offset || got.Room != base.Room || got.Room != mboxIMAPBaseRoom ||
		got.UIDValidity != 1700000000 || !slices.Equal(got.Keywords, []string{"Work"}) {
		t.Fatalf("ReadMboxIMAPBase = %+v, %v, %v; the writer said %+v", got, ok, err, base)
	}
	grown, value, ok := got.With([]string{"$Forwarded", "Work"})
	if !ok || len(value) != got.Room || !slices.Equal(grown.Keywords, []string{"Work", "$Forwarded"}) {
		t.Fatalf("With = %+v, %q, %v", grown, value, ok)
	}
	size := len(file)
	copy(file[got.Offset:], value)
	if len(file) != size {
		t.Fatal("the file changed size")
	}
	again, ok, _ := ReadMboxIMAPBase(bytes.NewReader(file), int64(len(file)))
	if !ok || !slices.Equal(again.Keywords, grown.Keywords) || again.Room != got.Room {
		t.Fatalf("after the update: %+v, %v", again, ok)
	}
	r := NewMboxReader(bytes.NewReader(file), int64(len(file)))
	for i, want := range [][]byte{first, second} {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		b, _ := io.ReadAll(m.Body())
		if !bytes.Equal(b, want) {
			t.Errorf("message %d: %q, want %q", i, b, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after two messages: %v", err)
	}
}

// When the list no longer fits, With says so and changes nothing.
func TestMboxIMAPBaseFull(t *testing.T) {
	b := NewMboxIMAPBase(7, nil)
	b.Room = 40
	var kws []string
	for i := 0; i < 10; i++ {
		kws = append(kws, fmt.Sprintf("keyword%d", i))
	}
	if nb, v, ok := b.With(kws); ok || v != nil || len(nb.Keywords) != 0 {
		t.Errorf("With(10 keywords) in 40 bytes = %+v, %q, %v", nb, v, ok)
	}
	if nb, v, ok := b.With(kws[:1]); !ok || string(v) != "7 0000000000 keyword0"+strings.Repeat(" ", 40-21) {
		t.Errorf("With(1 keyword) = %+v, %q, %v", nb, v, ok)
	}
	if NewMboxIMAPBase(0, nil).UIDValidity != 1 {
		t.Error("a UIDVALIDITY of 0, which Dovecot rejects, was kept")
	}
}

// Files whose first message has no usable field.
func TestReadMboxIMAPBaseNone(t *testing.T) {
	for _, file := range []string{
		"",
		"From a Sat Mar  9 17:04:05 2024\nSubject: x\n\nX-IMAPbase: 1 0000000000 body\n",
		"From a Sat Mar  9 17:04:05 2024\nX-IMAPbase: 0 0000000000 zero\n\n",
		"From a Sat Mar  9 17:04:05 2024\nX-IMAPbase: 1 0000000000 folded\n more\n\n",
		"From a Sat Mar  9 17:04:05 2024\nX-IMAPbase: 1\n\n",
		"Subject: not mbox\nX-IMAPbase: 1 0000000000 a\n\n",
		"From a Sat Mar  9 17:04:05 2024\nX-IMAPbase: 1 0000000000 torn",
	} {
		if b, ok, err := ReadMboxIMAPBase(strings.NewReader(file), int64(len(file))); ok || err != nil {
			t.Errorf("%q: %+v, %v, %v", file, b, ok, err)
		}
	}
	file := "From a Sat Mar  9 17:04:05 2024\r\nx-imapbase:  9 0000000001 a b  \r\n\r\n"
	b, ok, _ := ReadMboxIMAPBase(strings.NewReader(file), int64(len(file)))
	if !ok || file[b.Offset:b.Offset+int64(b.Room)] != "9 0000000001 a b  " || !slices.Equal(b.Keywords, []string{"a", "b"}) {
		t.Errorf("CRLF, lower case: %+v, %v", b, ok)
	}
}

func FuzzReadMboxIMAPBase(f *testing.F) {
	f.Add([]byte("From a Sat Mar  9 17:04:05 2024\nX-IMAPbase: 1 0000000000 a b      \n\n"))
	f.Add([]byte("From a Sat Mar  9 17:04:05 2024\nX-IMAPbase:\t5 12 $x\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, ok, err := ReadMboxIMAPBase(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		end := b.Offset + int64(b.Room)
		if b.Offset < 0 || end > int64(len(data)) || bytes.ContainsAny(data[b.Offset:end], "\r\n") {
			t.Fatalf("field %+v outside its line in %q", b, data)
		}
		// Writing the same list back in place reads back the same field.
		nb, v, ok := b.With(nil)
		if !ok {
			return // the value had tabs or double spaces, now counted as room
		}
		out := append([]byte(nil), data...)
		copy(out[b.Offset:], v)
		again, ok2, _ := ReadMboxIMAPBase(bytes.NewReader(out), int64(len(out)))
		if !ok2 || again.Offset != b.Offset || again.Room != b.Room || !slices.Equal(again.Keywords, nb.Keywords) {
			t.Fatalf("rewritten %+v, read %+v (%v)", nb, again, ok2)
		}
	})
}
