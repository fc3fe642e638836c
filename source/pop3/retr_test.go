package pop3

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gopop3 "github.com/knadh/go-pop3"

	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/transfer"
)

// scriptConn is a net.Conn that reads a fixed server script and discards
// what is written.
type scriptConn struct {
	net.Conn
	r io.Reader
}

func (c *scriptConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *scriptConn) Close() error                { return nil }

// retrRaw is what go-pop3's RetrRaw makes of a RETR answer.
func retrRaw(t testing.TB, answer []byte) ([]byte, error) {
	conn := &scriptConn{r: io.MultiReader(strings.NewReader("+OK ready\r\n+OK\r\n"), bytes.NewReader(answer))}
	c, err := gopop3.New(gopop3.Opt{Host: "x", Port: 1, Dialer: staticDialer{conn: conn}}).NewConn()
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RetrRaw(1)
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// unstuff is what a dotReader over a buffer of size bufSize makes of a
// RETR answer.
func unstuff(answer []byte, bufSize int) ([]byte, error) {
	d := &dotReader{br: bufio.NewReaderSize(bytes.NewReader(answer), bufSize), lineStart: true, fail: func(err error) error { return err }}
	// Small reads, so pieces, CRLFs and reads fall at every offset.
	var out []byte
	p := make([]byte, 7)
	for {
		n, err := d.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// TestDotReaderEdges: dot-unstuffing and the "." line where lines begin
// and end, pieces of long lines split by a 16-byte buffer, bare LF and
// CR, the same bytes as go-pop3's RetrRaw.
func TestDotReaderEdges(t *testing.T) {
	long := strings.Repeat("x", 40)
	cases := []struct{ wire, want string }{
		{".\r\n", ""},
		{"..\r\n.\r\n", ".\r\n"},
		{"...\r\n.\r\n", "..\r\n"},
		{"..x\r\n.\r\n", ".x\r\n"},
		{"a\r\n..\r\n.\r\n", "a\r\n.\r\n"},
		{"a\n.\n", "a\r\n"},
		{"a\r\r\n.\r\n", "a\r\r\n"},
		{".\rx\r\n.\r\n", "\rx\r\n"},
		{"." + long + "\r\n.\r\n", long + "\r\n"},
		{long + ".\r\n..\r\n.\r\n", long + ".\r\n.\r\n"},
		{strings.Repeat("y", 15) + "\r\n.\r\n", strings.Repeat("y", 15) + "\r\n"}, // "\r" ends the first piece
		{strings.Repeat("y", 15) + "\n.\r\n", strings.Repeat("y", 15) + "\r\n"},   // a bare LF after a full piece
		{strings.Repeat("y", 16) + "\r\n.\r\n", strings.Repeat("y", 16) + "\r\n"}, // "\n" alone in the second piece
		{long + "\r\n.\r\nnext answer\r\n", long + "\r\n"},                        // stops at the "." line
		{"\r\n\r\n.\r\n", "\r\n\r\n"},
	}
	for _, c := range cases {
		got, err := unstuff([]byte(c.wire), 16)
		if err != nil || string(got) != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.wire, got, err, c.want)
		}
		lib, err := retrRaw(t, []byte(c.wire))
		if err != nil || string(lib) != c.want {
			t.Errorf("%q: go-pop3 gives %q, %v", c.wire, lib, err)
		}
	}
	if _, err := unstuff([]byte("cut off\r\n.."), 16); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("an answer cut off before its \".\" line gives %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzDotReader: for any answer, the streamed unstuffing gives go-pop3's
// bytes.
func FuzzDotReader(f *testing.F) {
	f.Add([]byte("..\r\n.x\n\r\r\n"))
	f.Add([]byte(strings.Repeat("z", 17) + "\r\n."))
	f.Fuzz(func(t *testing.T, data []byte) {
		answer := append(append([]byte(nil), data...), "\r\n.\r\n"...)
		want, err := retrRaw(t, answer)
		if err != nil {
			t.Skip() // not a POP3 answer go-pop3 reads
		}
		for _, size := range []int{16, 64 << 10} {
			got, err := unstuff(answer, size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("buffer %d: got %q, %v; go-pop3 %q", size, got, err, want)
			}
		}
	})
}

// bigMessage is a 20 MB message with stuffed lines.
func bigMessage() string {
	var b bytes.Buffer
	b.WriteString("Subject: big\r\nDate: Fri, 05 Jan 2024 12:00:00 +0000\r\n\r\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for i := 0; b.Len() < 20<<20; i++ {
		if i%1000 == 0 {
			b.WriteString(".dot line that is stuffed on the wire\r\n")
		}
		b.WriteString(line)
	}
	return b.String()
}

// TestFetchStreamsInBoundedMemory: a 20 MB message passes through Fetch
// with a few hundred KB of allocations, however large it is (go-pop3's
// RetrRaw allocates about 150 MB for it; BenchmarkRetrRaw).
func TestFetchStreamsInBoundedMemory(t *testing.T) {
	body := bigMessage()
	srv := startServer(t, pop3server.Options{Messages: messages(body)})
	src := newSource(t, options(srv))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	var n int64
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = src.Fetch(context.Background(), Inbox, list, func(m transfer.Message, r io.Reader) error {
		n, err = io.Copy(io.Discard, r)
		return err
	})
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(body)) {
		t.Fatalf("Fetch: %v, %d bytes of %d", err, n, len(body))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("fetching a 20 MB message allocated %d bytes, want under 2 MiB", alloc)
	}
}

func BenchmarkFetch20MB(b *testing.B) {
	body := bigMessage()
	srv, err := pop3server.Start(pop3server.Options{Messages: messages(body)})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	src, err := New(context.Background(), options(srv))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Fetch(context.Background(), Inbox, list, func(m transfer.Message, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// stuffedAnswer is bigMessage as a RETR answer on the wire.
func stuffedAnswer() []byte {
	var wire bytes.Buffer
	w := bufio.NewWriter(&wire)
	for line := range strings.Lines(bigMessage()) {
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.WriteString(line)
	}
	w.WriteString(".\r\n")
	w.Flush()
	return wire.Bytes()
}

// BenchmarkRetrRaw and BenchmarkDotReader read the same 20 MB answer from
// memory: go-pop3's RetrRaw (the figure the streamed RETR is compared
// with) and the dotReader Fetch uses.
func BenchmarkRetrRaw(b *testing.B) {
	wire := stuffedAnswer()
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := retrRaw(b, wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDotReader(b *testing.B) {
	wire := stuffedAnswer()
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		d := &dotReader{br: bufio.NewReaderSize(bytes.NewReader(wire), retrBuffer), lineStart: true, fail: func(err error) error { return err }}
		if _, err := io.Copy(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFetchPipelines: with PIPELINING the next RETRs reach the server
// while the first message is still being handed on; the bytes and their
// order are those of the maildrop.
func TestFetchPipelines(t *testing.T) {
	var retrs atomic.Int32
	bodies := make([]string, 40)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("Subject: %d\r\n\r\n.line %d\r\n..\r\n", i, i)
	}
	srv := startServer(t, pop3server.Options{Messages: messages(bodies...), OnCommand: func(cmd, arg string) {
		if cmd == "RETR" {
			retrs.Add(1)
		}
	}})
	src := newSource(t, options(srv))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = src.Fetch(context.Background(), Inbox, list, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if len(got) == 0 {
			// The commands after the first were sent with it.
			deadline := time.Now().Add(5 * time.Second)
			for retrs.Load() < retrWindow && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := retrs.Load(); n < retrWindow {
				t.Errorf("the server had %d RETRs while the first answer was handled, want %d", n, retrWindow)
			}
		}
		got = append(got, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(bodies) {
		t.Fatalf("fetched %d messages, want %d", len(got), len(bodies))
	}
	for i := range got {
		if got[i] != want(bodies[i]) {
			t.Errorf("message %d: %q, want %q", i, got[i], want(bodies[i]))
		}
	}
}

// TestFetchDroppedMidPipeline: the connection drops inside the sixth
// answer while more RETRs are on the wire. The first five messages are
// delivered whole, the sixth fails with a temporary error and is not
// delivered, and fetching what was not delivered again gets each of the
// rest exactly once.
func TestFetchDroppedMidPipeline(t *testing.T) {
	var bodies []string
	for i := range 12 {
		body := fmt.Sprintf("Subject: %d\r\n\r\nsmall\r\n", i)
		if i == 5 {
			body += strings.Repeat(".stuffed line\r\n", 1000)
		}
		bodies = append(bodies, body)
	}
	srv := startServer(t, pop3server.Options{Messages: messages(bodies...),
		Faults: pop3server.Faults{DropRETRAfter: 4000, Times: 1}})
	src := newSource(t, options(srv))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[string]string{}
	var cut int
	handle := func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			cut++
			return err // as the spool returns it
		}
		if _, dup := delivered[m.ID]; dup {
			t.Errorf("message %s delivered twice", m.ID)
		}
		delivered[m.ID] = string(b)
		return nil
	}
	err = src.Fetch(context.Background(), Inbox, list, handle)
	if transfer.ClassOf(err) != transfer.Temporary || cut != 1 || len(delivered) != 5 {
		t.Fatalf("first Fetch: %v (%v), %d cut, %d delivered; want a temporary error, 1 cut, 5 delivered", err, transfer.ClassOf(err), cut, len(delivered))
	}
	var rest []transfer.Message
	for _, m := range list {
		if _, ok := delivered[m.ID]; !ok {
			rest = append(rest, m)
		}
	}
	if err := src.Fetch(context.Background(), Inbox, rest, handle); err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if len(delivered) != len(bodies) {
		t.Fatalf("%d of %d messages delivered", len(delivered), len(bodies))
	}
	for i, m := range list {
		if delivered[m.ID] != want(bodies[i]) {
			t.Errorf("message %d: %q", i, delivered[m.ID])
		}
	}
}
