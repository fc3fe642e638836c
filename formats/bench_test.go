package formats

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// benchBody is a 64 KiB network-form message whose body has lines that an
// mbox writer must quote ("From ", ">From ") among ordinary ones.
func benchBody() []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <a@example.org>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nFrom: A <a@example.org>\r\n" +
		"To: B <b@example.org>\r\nSubject: bench\r\nMessage-ID: <bench@example.org>\r\n\r\n")
	for i := 0; b.Len() < 64<<10; i++ {
		switch i % 20 {
		case 0:
			b.WriteString("From the start of a line, as prose does\r\n")
		case 10:
			b.WriteString(">From a quoted line\r\n")
		default:
			b.WriteString("an ordinary line of text in the body of a message, about seventy long\r\n")
		}
	}
	return b.Bytes()
}

// BenchmarkMboxWrite: one message through the mbox writer (From_ line,
// mboxrd quoting, CRLF to LF).
func BenchmarkMboxWrite(b *testing.B) {
	body := benchBody()
	env := MboxEnvelope{Date: time.Unix(1700000000, 0), Flags: []string{`\Seen`}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewMboxWriter(io.Discard)
		if _, err := w.WriteMessageBytes(env, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMboxRead: the same message read back from an mbox file.
func BenchmarkMboxRead(b *testing.B) {
	var file bytes.Buffer
	w := NewMboxWriter(&file)
	body := benchBody()
	for range 16 {
		if _, err := w.WriteMessageBytes(MboxEnvelope{Date: time.Unix(1700000000, 0)}, body); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(file.Len()))
	b.ReportAllocs()
	for b.Loop() {
		r := NewMboxReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
		n := 0
		for {
			msg, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, msg.Body()); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 16 {
			b.Fatalf("read %d messages, want 16", n)
		}
	}
}

// BenchmarkIdentityKey: the key of a message header, with a Message-ID and
// without one (the fields are hashed then).
func BenchmarkIdentityKey(b *testing.B) {
	header := benchBody()[:HeaderEnd(benchBody())]
	noID := []byte(strings.Replace(string(header), "Message-ID: <bench@example.org>\r\n", "", 1))
	for name, h := range map[string][]byte{"message-id": header, "fields": noID} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = IdentityKey(h)
			}
		})
	}
}

// BenchmarkContentDigest: the digest of a whole 64 KiB message, in pieces
// as a spool writes it.
func BenchmarkContentDigest(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDigester()
		for off := 0; off < len(body); off += 4096 {
			d.Write(body[off:min(off+4096, len(body))])
		}
		_ = d.Sum()
	}
}

// BenchmarkMaildirFilename: naming a delivered message.
func BenchmarkMaildirFilename(b *testing.B) {
	u := MaildirUnique{Time: time.Unix(1700000000, 0), PID: 42, Counter: 7, Random: 0xfeedface, Host: "host"}.String()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i++
		_ = MaildirFilename(u, i, i+10, []byte("RSab"))
	}
}

// BenchmarkLFWriter: a network-form message converted to LF as the
// Maildir and mbox sinks store it, in 32 KiB writes.
func BenchmarkLFWriter(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	lw := NewLFWriter(io.Discard)
	for b.Loop() {
		for off := 0; off < len(body); off += 32 << 10 {
			lw.Write(body[off:min(off+32<<10, len(body))])
		}
	}
}

// BenchmarkWireCounter: the network-form size of an LF message, counted in
// 64 KiB writes as the Maildir sink counts what it stores.
func BenchmarkWireCounter(b *testing.B) {
	want := int64(len(benchBody()))
	body := bytes.ReplaceAll(benchBody(), []byte("\r\n"), []byte("\n"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var c WireCounter
		c.Write(body)
		if c.Size() != want {
			b.Fatalf("wire size %d, want %d", c.Size(), want)
		}
	}
}
