package maildir

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// BenchmarkPut measures one durable delivery of a 4 KiB network-form
// message with flags and a keyword (write into tmp/, then the Flush's data
// sync, rename into cur/ and directory fsync), with a Flush after every 64
// as transfer.Run does (flush-64) and after each message (flush-1: one
// sync of each kind per message, what a delivery cost before Flush was
// batched), for each way a batch is made durable (platform: syncfs on
// Linux; fsync-each: an fsync of each file, in parallel).
func BenchmarkPut(b *testing.B) {
	body := append([]byte("Subject: bench\r\nMessage-ID: <b@x>\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef012345678901234\r\n"), 64)...)
	for _, sy := range syncers {
		for _, every := range []int{64, 1} {
			b.Run(fmt.Sprintf("%s/flush-%d", sy.name, every), func(b *testing.B) {
				s, err := New(b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				s.syncer = sy.new()
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
}
