package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
)

// fillMem puts msgs into a fresh memory store with the given faults and
// returns what reads back and the fingerprint problems.
func fillMem(t *testing.T, msgs []corpus.Message, crlf bool, faults func(*memStore)) ([]Got, []string) {
	t.Helper()
	kind := memKind(t.Name(), faults)
	path := kind.Path(t.TempDir())
	sink, _ := kind.NewSink(path)
	sink.(*memStore).crlf = crlf
	if err := Fill(context.Background(), sink, msgs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBack(kind, path)
	if err != nil {
		t.Fatal(err)
	}
	e := Expect{}
	if crlf {
		e = ExpectFor(Store{CRLF: true})
	}
	fp, err := CheckIndex(context.Background(), sink.(*memStore), msgs, e)
	if err != nil {
		t.Fatal(err)
	}
	return got, fp
}

// The suite must pass a faithful store and catch every kind of damage.
func TestDiffCatchesDamage(t *testing.T) {
	msgs := Corpus(t)
	cases := []struct {
		name   string
		faults func(*memStore)
		want   string // a substring every problem list must contain; "" = no problems
	}{
		{"faithful", nil, ""},
		{"flipped byte", func(s *memStore) { s.flipByte = true }, "bytes differ"},
		{"dropped message", func(s *memStore) { s.dropLast = true }, "missing from"},
		{"duplicate", func(s *memStore) { s.dupFirst = true }, "unexpected message"},
		{"lost flags", func(s *memStore) { s.dropFlags = true }, "flags"},
		{"shifted date", func(s *memStore) { s.shiftDate = true }, "date"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fp := fillMem(t, msgs, false, c.faults)
			if len(fp) > 0 {
				t.Errorf("fingerprints: %q", fp)
			}
			problems := Diff(msgs, got, Expect{})
			if c.want == "" {
				if len(problems) > 0 {
					t.Errorf("faithful store reported: %s", strings.Join(problems, "\n"))
				}
				return
			}
			if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Errorf("problems %q, want one with %q", problems, c.want)
			}
		})
	}
}

func TestDiffIdenticalCopiesCount(t *testing.T) {
	msgs := Corpus(t)
	got, _ := fillMem(t, msgs, false, nil)
	var once []Got
	seen := map[string]bool{}
	for _, g := range got {
		k := g.Folder + string(g.Body)
		if seen[k] {
			continue
		}
		seen[k] = true
		once = append(once, g)
	}
	if len(once) != len(got)-1 {
		t.Fatalf("corpus should have exactly one identical pair, got %d of %d unique", len(once), len(got))
	}
	if p := Diff(msgs, once, Expect{}); len(p) != 1 || !strings.Contains(p[0], "duplicate.eml") {
		t.Errorf("dropping one identical copy gave %q", p)
	}
}

func TestReadAllCatchesWrongSize(t *testing.T) {
	msgs := Corpus(t)[:3]
	kind := memKind(t.Name(), func(s *memStore) { s.wrongSize = true })
	path := kind.Path(t.TempDir())
	sink, _ := kind.NewSink(path)
	if err := Fill(context.Background(), sink, msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBack(kind, path); err == nil || !strings.Contains(err.Error(), "Size") {
		t.Fatalf("ReadBack: %v, want a Size error", err)
	}
}

// A network store converts to CRLF; ExpectFor must predict its bytes and
// fingerprints, and a later local store's LF bytes.
func TestExpectForLineEndings(t *testing.T) {
	msgs := Corpus(t)
	got, fp := fillMem(t, msgs, true, nil)
	if len(fp) > 0 {
		t.Errorf("fingerprints: %q", fp)
	}
	net := Store{Name: "net", CRLF: true}
	local := Store{Name: "local"}
	if p := Diff(msgs, got, ExpectFor(local, net)); len(p) > 0 {
		t.Errorf("local→net: %s", strings.Join(p, "\n"))
	}
	if p := Diff(msgs, got, Expect{}); len(p) == 0 {
		t.Error("CRLF store compared equal to LF corpus without conversion")
	}
	e := ExpectFor(local, net, local)
	b := []byte("a\nb\r\nc")
	if got := string(e.Body(b)); got != "a\nb\nc" {
		t.Errorf("local→net→local body %q", got)
	}
	if ExpectFor(local, local).Body != nil {
		t.Error("local→local must compare exact bytes")
	}
	if f := ExpectFor(local, Store{OneFolder: true}).Folder; f == nil || f("Archive/2019") != "INBOX" {
		t.Error("one-folder store must expect INBOX")
	}
	_ = formats.ToLF
}

func TestDiffSubset(t *testing.T) {
	msgs := Corpus(t)
	got, _ := fillMem(t, msgs[:10], false, nil)
	if p, n := DiffSubset(msgs, got, Expect{}); len(p) > 0 || n != 10 {
		t.Errorf("clean subset: %d matched, %q", n, p)
	}
	damaged, _ := fillMem(t, msgs[:10], false, func(s *memStore) { s.flipByte = true })
	if p, _ := DiffSubset(msgs, damaged, Expect{}); len(p) == 0 {
		t.Error("a damaged message passed DiffSubset")
	}
	dup, _ := fillMem(t, msgs[:10], false, func(s *memStore) { s.dupFirst = true })
	if p, _ := DiffSubset(msgs, dup, Expect{}); len(p) == 0 {
		t.Error("a duplicated message passed DiffSubset")
	}
}
