package mbox_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sinkmbox "github.com/mailferry/mailferry/sink/mbox"
	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

func benchBody(i int) []byte {
	return []byte(fmt.Sprintf("Message-ID: <%d@bench>\nSubject: bench %d\n\nFrom the bench\n%s\n", i, i, strings.Repeat("body text line\n", 300)))
}

// BenchmarkPut measures appending (with one Flush per 100 messages).
func BenchmarkPut(b *testing.B) {
	s, err := sinkmbox.New(filepath.Join(b.TempDir(), "b.mbox"), sinkmbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := benchBody(0)
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: time.Unix(1700000000, 0), Size: int64(len(body))}
		if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPutCRLF is BenchmarkPut for messages in network form, as POP3
// and IMAP deliver them: each is converted to LF and quoted, from four
// goroutines into the one file, as a run's put workers do.
func BenchmarkPutCRLF(b *testing.B) {
	s, err := sinkmbox.New(filepath.Join(b.TempDir(), "b.mbox"), sinkmbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := bytes.ReplaceAll(benchBody(0), []byte("\n"), []byte("\r\n"))
	b.SetBytes(int64(len(body)))
	b.SetParallelism(2) // 2 × GOMAXPROCS goroutines; 4 on two cores
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: time.Unix(1700000000, 0), Size: int64(len(body)), CRLF: true}
			if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
				b.Error(err)
				return
			}
			if i%100 == 0 {
				if err := s.Flush(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}

// BenchmarkListFetch measures reading a 2000-message file: List (hashing
// every message) and Fetch of all of them.
func BenchmarkListFetch(b *testing.B) {
	path := filepath.Join(b.TempDir(), "b.mbox")
	s, _ := sinkmbox.New(path, sinkmbox.Options{})
	var total int64
	for i := 0; i < 2000; i++ {
		body := benchBody(i)
		total += int64(len(body))
		s.Put(ctx, transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: time.Unix(1700000000, 0), Size: int64(len(body))}, bytes.NewReader(body))
	}
	s.Close()
	b.SetBytes(total)
	for b.Loop() {
		src, _ := srcmbox.Open(path, srcmbox.Options{})
		list, err := src.List(ctx, "INBOX")
		if err != nil || len(list) != 2000 {
			b.Fatal(len(list), err)
		}
		err = src.Fetch(ctx, "INBOX", list, func(m transfer.Message, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutKeywords is BenchmarkPut with keywords: the first twenty
// messages each bring a new one, which goes into the file's X-IMAPbase list
// in place; the others reuse them.
func BenchmarkPutKeywords(b *testing.B) {
	s, err := sinkmbox.New(filepath.Join(b.TempDir(), "b.mbox"), sinkmbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := benchBody(0)
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		m := transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: time.Unix(1700000000, 0), Size: int64(len(body)),
			Flags: []string{`\Seen`, fmt.Sprintf("label%02d", i%20)}}
		if err := s.Put(ctx, m, bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
