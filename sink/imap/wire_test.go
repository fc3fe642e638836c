package imap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// TestAppendReadsTheRunsSpool: a large message from a local store (LF) is
// spooled once, by the run; the sink measures its CRLF size from that
// spool and converts it as it APPENDs, with no temporary file of its own.
func TestAppendReadsTheRunsSpool(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	spoolDir, sysTemp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", sysTemp)
	// Larger than any in-memory limit of the pipeline, with lines that
	// end in LF, a bare CR, and a last line without an end.
	body := "Subject: large\nMessage-ID: <large@wire.example>\n\n" +
		strings.Repeat("a line of a large message\n", 9<<20/26) + "bare\rcr\nno end"
	src := transfertest.NewMemSource()
	src.Add(transfer.Message{Folder: "INBOX", Date: date}, []byte(body))
	dst := newSink(t, srv.Addr(), nil)
	watch := &transfertest.TempFileWatch{Sink: dst, Dirs: []string{spoolDir, sysTemp}}
	sum, err := transfer.Run(context.Background(), src, watch, transfer.Options{SpoolDir: spoolDir})
	if err != nil || sum.Copied != 1 {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	seen := watch.Seen()
	if len(seen) != 1 || filepath.Dir(seen[0]) != spoolDir || !strings.HasPrefix(filepath.Base(seen[0]), "mailferry-spool-") {
		t.Errorf("temporary files while the sink read the body: %q, want the run's one spool in %s", seen, spoolDir)
	}
	for _, dir := range []string{spoolDir, sysTemp} {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s holds %d file(s) after the run", dir, len(left))
		}
	}
	got := dump(t, srv)["INBOX"]
	if want := formats.ToCRLF([]byte(body)); len(got) != 1 || !bytes.Equal(got[0].Body, want) {
		t.Fatalf("the server holds %d message(s); want one of %d bytes, the CRLF form", len(got), len(want))
	}
}

// TestWireSizeAndForm: the network form and its size, for bodies in either
// form, read twice (an APPEND that is tried again).
func TestWireSizeAndForm(t *testing.T) {
	for _, tc := range []struct {
		body string
		crlf bool
		want string
	}{
		{"a\nb\r\nc\rd\n", false, "a\r\nb\r\nc\rd\r\n"},
		{"a\r\nb\r\n", true, "a\r\nb\r\n"},
		{"", false, ""},
		{"no end", false, "no end"},
	} {
		m := transfer.Message{Folder: "INBOX", ID: "1", Size: int64(len(tc.body)), CRLF: tc.crlf}
		w, err := newWire(m, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var got bytes.Buffer
			if _, err := w.copyTo(&got); err != nil || got.String() != tc.want || w.size != int64(len(tc.want)) {
				t.Errorf("%q: sent %q (size %d), %v; want %q", tc.body, got.String(), w.size, err, tc.want)
			}
		}
	}
	m := transfer.Message{Folder: "INBOX", ID: "2", Size: 10}
	if _, err := newWire(m, strings.NewReader("short")); transfer.ClassOf(err) != transfer.PerMessage {
		t.Errorf("a body shorter than announced: %v", err)
	}
}

// TestSentHeader: the header block kept for the rewrite check is the same
// however long the header is against sentHeader's first read: shorter,
// ending exactly at it, longer, without an end, past maxCheckedHeader, and
// in LF form (converted to CRLF).
func TestSentHeader(t *testing.T) {
	field := func(n int) string { return "X-Pad: " + strings.Repeat("p", n) + "\r\n" }
	cases := map[string]string{
		"empty":           "",
		"short":           "Subject: s\r\n\r\nbody\r\n",
		"no end":          "Subject: s\r\nX: y",
		"header only":     "Subject: s\r\n\r\n",
		"ends at 4 KiB":   field(4096-len("X-Pad: \r\n")-2) + "\r\nbody",
		"ends past 4 KiB": field(4096-len("X-Pad: \r\n")-1) + "\r\nbody",
		"10 KiB":          field(10<<10) + "\r\n" + strings.Repeat("body\r\n", 5000),
		"past the bound":  field(maxCheckedHeader) + "\r\nbody",
		"LF form":         "Subject: s\n" + strings.Repeat("X-A: b\n", 1000) + "\nbody\n",
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			crlf := !strings.Contains(name, "LF form")
			w, err := newWire(transfer.Message{Size: int64(len(msg)), CRLF: crlf}, strings.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			wireForm := msg
			if !crlf {
				wireForm = strings.ReplaceAll(msg, "\n", "\r\n")
			}
			want := []byte(wireForm[:min(len(wireForm), maxCheckedHeader)])
			want = want[:formats.HeaderEnd(want)]
			if got := sentHeader(w); !bytes.Equal(got, want) {
				t.Errorf("sentHeader: %d bytes, want %d (%q…)", len(got), len(want), want[:min(len(want), 40)])
			}
		})
	}
}
