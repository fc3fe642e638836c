package maildir

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// BenchmarkPut measures one durable delivery of a 4 KiB network-form
// message with flags and a keyword (write, fsync, rename), with the
// directory fsync'd by a Flush after every 64 as transfer.Run does
// (/flush-64), and after each message (/flush-1, what every delivery cost
// before Flush was batched).
func BenchmarkPut(b *testing.B) {
	body := append([]byte("Subject: bench\r\nMessage-ID: <b@x>\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef012345678901234\r\n"), 64)...)
	for _, every := range []int{64, 1} {
		b.Run(fmt.Sprintf("flush-%d", every), func(b *testing.B) {
			s, err := New(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			i := 0
			for b.Loop() {
				m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Flags: []string{`\Seen`, "Work"}, Date: time.Unix(1700000000, 0), Size: int64(len(body)), CRLF: true}
				if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
				if i++; i%every == 0 {
					if err := s.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
