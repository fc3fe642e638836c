package sample

import (
	"bytes"
	"testing"

	"github.com/mailferry/mailferry/formats"
)

func TestBenchMessageDeterministic(t *testing.T) {
	o := BenchOptions{Messages: 50, Seed: 3}
	for _, i := range []int{0, 7, 49} {
		a, b := BenchMessage(o, i), BenchMessage(o, i)
		if !bytes.Equal(a.Body, b.Body) || a.Folder != b.Folder || !a.Date.Equal(b.Date) || len(a.Flags) != len(b.Flags) {
			t.Fatalf("message %d differs between two calls", i)
		}
	}
	if bytes.Equal(BenchMessage(o, 1).Body, BenchMessage(BenchOptions{Messages: 50, Seed: 4}, 1).Body) {
		t.Error("another seed gives the same message")
	}
}

func TestBenchCorpusShape(t *testing.T) {
	o := BenchOptions{Messages: 2000, Seed: 1, Huge: true}
	var total, small, attach int
	folders, keywords, years := map[string]int{}, map[string]int{}, map[int]bool{}
	for i := range o.Messages {
		m := BenchMessage(o, i)
		n := len(m.Body)
		total += n
		switch {
		case n == 0:
			t.Fatalf("message %d is empty", i)
		case i == o.Messages/2:
			if n < HugeSize-4096 || n > HugeSize+4096 || m.Folder != "INBOX" {
				t.Errorf("the huge message is %d bytes in %s, want about %d in INBOX", n, m.Folder, HugeSize)
			}
		case n >= 2000 && n <= 21000:
			small++
		case n >= 49e3 && n <= 2.01e6:
			attach++
		default:
			t.Errorf("message %d: %d bytes is neither small nor an attachment", i, n)
		}
		if got := formats.MessageID(m.Body); got != BenchMessageID(o, i) {
			t.Errorf("message %d: Message-ID %q, want %q", i, got, BenchMessageID(o, i))
		}
		if formats.WireSize(m.Body) != int64(n) {
			t.Errorf("message %d has a bare LF", i)
		}
		folders[m.Folder]++
		for _, f := range m.Flags {
			if f[0] != '\\' {
				keywords[f]++
			}
		}
		years[m.Date.Year()] = true
	}
	if small < 1700 || attach < 150 || attach > 260 {
		t.Errorf("%d small and %d with attachments of 2000, want about 1800 and 200", small, attach)
	}
	if len(folders) != len(benchFolders) || len(keywords) != 3 || len(years) < 15 {
		t.Errorf("%d folders, keywords %v, %d years", len(folders), keywords, len(years))
	}
	// About 80 KB a message besides the huge one: 10,000 messages are
	// about 800 MB.
	if avg := (total - HugeSize) / (o.Messages - 1); avg < 50e3 || avg > 80e3 {
		t.Errorf("average size %d bytes", avg)
	}
	t.Logf("2000 messages: %d bytes", total)
}

func TestBenchSingleFolder(t *testing.T) {
	o := BenchOptions{Messages: 20, Seed: 1, Folder: "Big"}
	for i := range o.Messages {
		if f := BenchMessage(o, i).Folder; f != "Big" {
			t.Fatalf("message %d in %q", i, f)
		}
	}
	if got := BenchFolders(o); len(got) != 1 || got[0] != "Big" {
		t.Errorf("BenchFolders = %q", got)
	}
}
