package maildir

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// BenchmarkPut measures one durable delivery (write, two fsyncs, rename) of
// a 4 KiB network-form message with flags and a keyword.
func BenchmarkPut(b *testing.B) {
	s, err := New(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := append([]byte("Subject: bench\r\nMessage-ID: <b@x>\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef012345678901234\r\n"), 64)...)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Flags: []string{`\Seen`, "Work"}, Date: time.Unix(1700000000, 0), Size: int64(len(body)), CRLF: true}
		if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
