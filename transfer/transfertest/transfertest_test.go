package transfertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var date = time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)

func TestMemSinkChecksSizeContract(t *testing.T) {
	s := NewMemSink()
	ctx := context.Background()
	body := []byte("Subject: x\n\nbody\n")
	for _, size := range []int64{int64(len(body)) - 1, int64(len(body)) + 1} {
		err := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "1", Size: size}, bytes.NewReader(body))
		if err == nil || transfer.ClassOf(err) != transfer.Fatal {
			t.Errorf("Size %d for %d bytes: err = %v", size, len(body), err)
		}
	}
	if err := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "1", Size: int64(len(body))}, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || !bytes.Equal(s.Messages("INBOX")[0].Body, body) {
		t.Fatalf("stored %+v", s.Messages("INBOX"))
	}
}

func TestMemSinkIndexMatchesFormats(t *testing.T) {
	s := NewMemSink()
	lf := []byte("Message-ID: <a@b>\nSubject: x\n\nbody\n")
	s.Add(transfer.Message{Folder: "INBOX", Date: date}, lf)
	s.Add(transfer.Message{Folder: "INBOX", Date: date}, lf)
	ctx := context.Background()
	idx, err := s.Index(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// The CRLF form of the same message has the same key, size and digest.
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	if len(idx.Messages) != 2 {
		t.Fatalf("index %+v", idx)
	}
	var refs []string
	for _, m := range idx.Messages {
		if m.Key != formats.IdentityKey(crlf) || m.VirtualSize != int64(len(crlf)) {
			t.Errorf("indexed %+v, want key %s and size %d", m, formats.IdentityKey(crlf), len(crlf))
		}
		refs = append(refs, m.Ref)
	}
	ds, err := s.Digests(ctx, "INBOX", refs)
	if err != nil || len(ds) != 2 || ds[refs[0]] != formats.ContentDigest(crlf) || ds[refs[1]] != ds[refs[0]] {
		t.Fatalf("digests %v, %v", ds, err)
	}
	if idx, _ := s.Index(ctx, "Nope"); len(idx.Messages) != 0 {
		t.Fatalf("missing folder: %+v", idx)
	}
}

func TestBufferedMemSinkCrashLosesUnflushed(t *testing.T) {
	s := NewBufferedMemSink()
	ctx := context.Background()
	put := func(id string) {
		b := []byte("Subject: " + id + "\n\n")
		if err := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: id, Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	put("1")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	put("2")
	if idx, _ := s.Index(ctx, "INBOX"); len(idx.Messages) != 2 {
		t.Fatalf("the index before the crash holds the written messages: %+v", idx)
	}
	s.Crash()
	if s.Len() != 1 || s.Messages("INBOX")[0].ID != "1" {
		t.Fatalf("after crash: %+v", s.Messages("INBOX"))
	}
}

func TestMemSourceFaults(t *testing.T) {
	ctx := context.Background()
	src := NewMemSource()
	for range 5 {
		src.Add(transfer.Message{Folder: "INBOX", Date: date}, []byte("Subject: x\n\nbody\n"))
	}
	msgs, _ := src.List(ctx, "INBOX")
	src.CutAfter = 2
	src.Drop = map[string]int{"1": 1}
	src.Vanished = map[string]bool{"5": true}
	var got []string
	collect := func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(len(b)) != m.Size {
			t.Errorf("message %s: Size %d, %d bytes", m.ID, m.Size, len(b))
		}
		got = append(got, m.ID)
		return nil
	}
	err := src.Fetch(ctx, "INBOX", msgs, collect)
	if !errors.Is(err, ErrCut) || transfer.ClassOf(err) != transfer.Temporary || strings.Join(got, ",") != "2,3" {
		t.Fatalf("first call: err %v, got %v", err, got)
	}
	got = nil
	err = src.Fetch(ctx, "INBOX", msgs, collect)
	var me *transfer.MessageError
	if !errors.As(err, &me) || me.ID != "5" || transfer.ClassOf(err) != transfer.PerMessage || strings.Join(got, ",") != "1,2,3,4" {
		t.Fatalf("second call: err %v, got %v", err, got)
	}
	if err := src.Delete(ctx, "INBOX", msgs[:2]); err != nil {
		t.Fatal(err)
	}
	if left, _ := src.List(ctx, "INBOX"); len(left) != 3 || strings.Join(src.Deleted("INBOX"), ",") != "1,2" {
		t.Fatalf("after delete: %v, deleted %v", left, src.Deleted("INBOX"))
	}
}
