package conformance

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
)

// Expect says how a store's contents relate to the corpus put into it.
type Expect struct {
	// Body turns a corpus body into the bytes the store must give back;
	// nil means identical bytes.
	Body func([]byte) []byte
	// Folder turns a corpus folder into the folder the store must hold
	// the message in; nil means the same name.
	Folder func(string) string
	// FlagsOnly, when not nil, limits the flag comparison to these flags
	// (for stores that cannot keep keywords); nil compares all flags.
	FlagsOnly map[string]bool
}

func (e Expect) body(b []byte) []byte {
	if e.Body == nil {
		return b
	}
	return e.Body(b)
}

func (e Expect) folder(f string) string {
	if e.Folder == nil {
		return f
	}
	return e.Folder(f)
}

func (e Expect) flags(f []string) []string {
	f = formats.NormalizeFlags(f)
	if e.FlagsOnly == nil {
		return f
	}
	out := f[:0:0]
	for _, x := range f {
		if e.FlagsOnly[x] {
			out = append(out, x)
		}
	}
	return out
}

// Diff compares what a store holds (got) with the corpus (want) and returns
// one line per problem, or nothing when every wanted message is present
// exactly once with the expected bytes, flags and date (to the second) and
// nothing else is there. Identical copies count: two in the corpus must be
// two in the store.
func Diff(want []corpus.Message, got []Got, e Expect) []string {
	key := func(folder string, body []byte) string { return folder + "\x00" + string(body) }
	pending := make(map[string][]int) // key → indexes into got not yet matched
	for i, g := range got {
		k := key(g.Folder, g.Body)
		pending[k] = append(pending[k], i)
	}
	matched := make([]bool, len(got))
	var problems []string
	var missingIdx []int
	for wi, w := range want {
		body := e.body(w.Body)
		k := key(e.folder(w.Folder), body)
		idx := pending[k]
		if len(idx) == 0 {
			missingIdx = append(missingIdx, wi)
			continue
		}
		gi := idx[0]
		pending[k] = idx[1:]
		matched[gi] = true
		g := got[gi]
		if wf, gf := e.flags(w.Flags), e.flags(g.Flags); strings.Join(wf, " ") != strings.Join(gf, " ") {
			problems = append(problems, fmt.Sprintf("%s in %q: flags %q, want %q", w.Name, g.Folder, gf, wf))
		}
		if g.Date.Unix() != w.Date.Unix() {
			problems = append(problems, fmt.Sprintf("%s in %q: date %s, want %s", w.Name, g.Folder,
				g.Date.UTC().Format("2006-01-02 15:04:05Z"), w.Date.UTC().Format("2006-01-02 15:04:05Z")))
		}
	}
	// Explain each missing message by an unmatched message in the same
	// folder that has its Message-ID or its first line.
	for _, wi := range missingIdx {
		w := want[wi]
		folder := e.folder(w.Folder)
		body := e.body(w.Body)
		best := -1
		for gi, g := range got {
			if matched[gi] || g.Folder != folder {
				continue
			}
			id := formats.MessageID(body)
			if (id != "" && formats.MessageID(g.Body) == id) || sameStart(g.Body, body) {
				best = gi
				break
			}
		}
		if best < 0 {
			problems = append(problems, fmt.Sprintf("%s: missing from %q (%d bytes)", w.Name, folder, len(body)))
			continue
		}
		matched[best] = true
		problems = append(problems, fmt.Sprintf("%s in %q: bytes differ: %s", w.Name, folder, ByteDiff(body, got[best].Body)))
	}
	for gi, g := range got {
		if !matched[gi] {
			problems = append(problems, fmt.Sprintf("unexpected message %s in %q (%d bytes): %q", g.ID, g.Folder, len(g.Body), head(g.Body, 80)))
		}
	}
	sort.Strings(problems)
	return problems
}

// sameStart reports whether two bodies plausibly are the same message:
// their first header line matches once line endings are ignored.
func sameStart(a, b []byte) bool {
	line := func(x []byte) []byte {
		x = formats.ToLF(x)
		if i := bytes.IndexByte(x, '\n'); i >= 0 {
			x = x[:i]
		}
		return x
	}
	return bytes.Equal(line(a), line(b))
}

// ByteDiff describes the first difference between want and got: lengths,
// the offset, and the bytes around it, quoted.
func ByteDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(0, i-24)
	return fmt.Sprintf("want %d bytes, got %d; first difference at offset %d: want …%q…, got …%q…",
		len(want), len(got), i, want[lo:min(len(want), i+24)], got[lo:min(len(got), i+24)])
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// DiffSubset checks a store that may legitimately hold only part of want
// (after a failed or interrupted run): every message it holds must be one of
// want, complete and exact (bytes, flags, date), and no message may be
// there more often than want has it. It returns one line per problem and how
// many messages matched.
func DiffSubset(want []corpus.Message, got []Got, e Expect) (problems []string, matched int) {
	byKey := make(map[string][]int)
	for i, w := range want {
		k := e.folder(w.Folder) + "\x00" + string(e.body(w.Body))
		byKey[k] = append(byKey[k], i)
	}
	for _, g := range got {
		k := g.Folder + "\x00" + string(g.Body)
		idx := byKey[k]
		if len(idx) == 0 {
			problems = append(problems, fmt.Sprintf("message %s in %q (%d bytes) is no complete corpus message, or one too many: %q",
				g.ID, g.Folder, len(g.Body), head(g.Body, 80)))
			continue
		}
		w := want[idx[0]]
		byKey[k] = idx[1:]
		matched++
		if wf, gf := e.flags(w.Flags), e.flags(g.Flags); strings.Join(wf, " ") != strings.Join(gf, " ") {
			problems = append(problems, fmt.Sprintf("%s in %q: flags %q, want %q", w.Name, g.Folder, gf, wf))
		}
		if g.Date.Unix() != w.Date.Unix() {
			problems = append(problems, fmt.Sprintf("%s in %q: date %s, want %s", w.Name, g.Folder, g.Date.UTC(), w.Date.UTC()))
		}
	}
	sort.Strings(problems)
	return problems, matched
}
