package transfer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSpool: a body read into the run's spool and its key and digest
// taken, as a put worker takes them, in memory (64 KiB) and spilled to a
// file (4 MiB, over the 1 MiB memory limit).
func BenchmarkSpool(b *testing.B) {
	for _, size := range []int{64 << 10, 4 << 20} {
		body := append([]byte("Subject: spool\r\nMessage-ID: <s@example.org>\r\n\r\n"),
			bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef012345678901234\r\n"), size/66)...)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				sp, err := newSpool(bytes.NewReader(body), int64(len(body)), bodyLimit(1<<20), dir)
				if err != nil {
					b.Fatal(err)
				}
				if sp.size != int64(len(body)) {
					b.Fatalf("spooled %d bytes of %d", sp.size, len(body))
				}
				if sp.key() == "" || sp.contentDigest() == "" {
					b.Fatal("no key or digest")
				}
				sp.close()
			}
		})
	}
}

// BenchmarkJournalLookup: one lookup in the journal of a 100,000-message
// mailbox (what the plan does for every listed message), and loading that
// journal from its file (what every run does first).
func BenchmarkJournalLookup(b *testing.B) {
	path := filepath.Join(b.TempDir(), "mailferry.state")
	j, err := OpenJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	recs := make([]Record, 0, 1000)
	for i := range n {
		recs = append(recs, Record{Source: "imaps://u@h", Folder: "INBOX", ID: fmt.Sprintf("1700000000.%d", i),
			Key: fmt.Sprintf("k%024x", i), Digest: fmt.Sprintf("d%032x", i), Dest: "INBOX",
			Time: time.Unix(1700000000, 0), Flags: []string{`\Seen`}, Copied: true})
		if len(recs) == cap(recs) {
			if err := j.Append(recs...); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.Run("lookup", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % n
			if _, ok := j.Lookup("imaps://u@h", "INBOX", fmt.Sprintf("1700000000.%d", i)); !ok {
				b.Fatalf("record %d not found", i)
			}
		}
	})
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("load-100k", func(b *testing.B) {
		b.ReportAllocs()
		var held uint64
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			j, err := OpenJournal(path)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if j.Len() != n {
				b.Fatalf("loaded %d records, want %d", j.Len(), n)
			}
			held = after.HeapAlloc - before.HeapAlloc
			j.Close()
		}
		// What the index keeps per message: the memory a run needs
		// beyond its fixed buffers grows by this much per message.
		b.ReportMetric(float64(held)/n, "heap-B/record")
	})
}
