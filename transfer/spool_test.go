package transfer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mailferry/mailferry/formats"
)

func spoolBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Message-ID: <spool@example.org>\nSubject: big\n\n")
	for b.Len() < n {
		b.WriteString("line of text\n")
	}
	return b.Bytes()[:n]
}

func TestSpool(t *testing.T) {
	date := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		size    int
		hint    int64
		limit   int64
		spilled bool
	}{
		{"small in memory", 100, 100, 1024, false},
		{"exactly the limit", 1024, 1024, 1024, false},
		{"one above the limit", 1025, 1025, 1024, true},
		{"large, no hint", 50000, 0, 1024, true},
		{"wrong hint", 3000, 10, 4096, false},
		{"empty", 0, 0, 1024, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := spoolBody(tc.size)
			// One byte at a time shakes out buffer handling.
			sp, err := newSpool(iotest.OneByteReader(bytes.NewReader(body)), tc.hint, tc.limit, dir)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := os.ReadDir(dir)
			if got := len(files) == 1; got != tc.spilled {
				t.Fatalf("spilled = %v, want %v", got, tc.spilled)
			}
			if !tc.spilled && len(files) != 0 {
				t.Fatalf("files: %v", files)
			}
			if sp.size != int64(len(body)) || sp.wire != formats.WireSize(body) {
				t.Fatalf("size %d wire %d, want %d %d", sp.size, sp.wire, len(body), formats.WireSize(body))
			}
			for range 2 { // re-readable from the start
				got, err := io.ReadAll(sp.reader())
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("read back %d bytes, err %v", len(got), err)
				}
			}
			m := Message{Date: date}
			if fp := sp.fingerprint(m); fp != formats.Fingerprint(body, formats.WireSize(body), date) {
				t.Fatal("fingerprint differs from formats.Fingerprint of the whole body")
			}
			if err := sp.close(); err != nil {
				t.Fatal(err)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Fatalf("spool file left behind: %v", files)
			}
		})
	}
}

func TestSpoolSourceErrorRemovesFile(t *testing.T) {
	dir := t.TempDir()
	cut := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(spoolBody(5000)), iotest.ErrReader(TemporaryError(cut)))
	_, err := newSpool(r, 0, 1024, dir)
	if !errors.Is(err, cut) || ClassOf(err) != Temporary {
		t.Fatalf("err = %v (class %v), want the source's temporary error", err, ClassOf(err))
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("spool file left behind: %v", files)
	}
}

func TestSpoolUnwritableDirIsFatal(t *testing.T) {
	_, err := newSpool(bytes.NewReader(spoolBody(5000)), 0, 1024, "/nonexistent/spool/dir")
	var se *errSpool
	if !errors.As(err, &se) || ClassOf(err) != Fatal {
		t.Fatalf("err = %v", err)
	}
}

func TestSpoolCRLFWireSize(t *testing.T) {
	body := []byte(strings.ReplaceAll(string(spoolBody(3000)), "\n", "\r\n"))
	sp, err := newSpool(bytes.NewReader(body), int64(len(body)), 1000, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if sp.wire != int64(len(body)) {
		t.Fatalf("wire = %d, want %d", sp.wire, len(body))
	}
}
