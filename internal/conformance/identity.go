package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/conformance/kind"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/internal/soak"
	"github.com/mailferry/mailferry/transfer"
)

// IdentitySeeds returns the seeds the identity property runs for the pair
// named pair, and the number of generated messages per seed: in `make
// test` one seed drawn from the pair's name (so the pairs together cover
// many shapes at the cost of one run each) over about 40 messages; with
// MAILFERRY_SOAK=1 (make soak) eight seeds over about 140.
func IdentitySeeds(pair string) (seeds []uint64, messages int) {
	if soak.Enabled() {
		return []uint64{1, 2, 3, 4, 5, 6, 7, 8}, 120
	}
	h := fnv.New64a()
	h.Write([]byte(pair))
	return []uint64{h.Sum64() % 1000}, 24
}

// The planted collisions share these header fields.
const (
	sharedID   = "<shared-%d@collide.example>"
	sharedDate = "Tue, 01 Dec 2020 10:00:00 +0000"
)

// IdentityCorpus returns the generated mail of the identity property for
// seed: n realistic messages (internal/sample) spread over INBOX,
// "Archive/2024" and "Entwürfe", with collisions planted among them:
//
//   - distinct messages with one Message-ID and one Date (the same message
//     received directly and through a list);
//   - identical copies of a message in one folder;
//   - messages without Message-ID whose KeyFields are identical, some with
//     different bodies and some identical;
//   - a message with CRLF line ends, 8-bit bytes in its header, a NUL in its
//     body and no final line end, next to the same message as a rewriting
//     server stores it (RewrittenByServer): one message by content, so
//     two identical copies.
//
// later is mail that arrives after the first copy, with collisions against
// the first mail (another body under an earlier Message-ID, another copy of
// an earlier message). With oneFolder everything is in INBOX.
func IdentityCorpus(seed uint64, n int, oneFolder bool) (msgs, later []corpus.Message) {
	r := rand.New(rand.NewPCG(seed, 0x6964656e74697479))
	folders := []string{"INBOX", "Archive/2024", "Entwürfe"}
	if oneFolder {
		folders = folders[:1]
	}
	folder := func() string { return folders[r.IntN(len(folders))] }
	date := time.Date(2020, 12, 1, 10, 0, 0, 0, time.UTC)
	named := func(name, folder string, body []byte) corpus.Message {
		return corpus.Message{Name: name, Folder: folder, Date: date, Flags: []string{`\Seen`}, Body: body}
	}
	base := FromSample(sample.Generate(n, int64(seed), 1200))
	for i := range base {
		base[i].Folder = folder()
	}
	msgs = append(msgs, base...)

	// Distinct messages sharing a Message-ID and a Date, in one folder.
	var sharedFolder string
	for c := range 2 + r.IntN(2) {
		f := folder()
		if c == 0 {
			sharedFolder = f
		}
		for v := range 2 + r.IntN(2) {
			body := fmt.Sprintf("Message-ID: "+sharedID+"\nDate: %s\nFrom: list@collide.example\nSubject: shared %d\n\nvariant %d of seed %d\n",
				c, sharedDate, c, v, seed)
			msgs = append(msgs, named(fmt.Sprintf("shared-%d-%d", c, v), f, []byte(body)))
		}
	}
	// Identical copies of generated messages.
	for c := range 1 + r.IntN(3) {
		m := base[r.IntN(len(base))]
		m.Name = fmt.Sprintf("%s#copy%d", m.Name, c)
		msgs = append(msgs, m)
	}
	// No Message-ID, identical KeyFields: different bodies and an
	// identical pair.
	f := folder()
	noID := func(v int) []byte {
		return fmt.Appendf(nil, "Date: %s\nFrom: a@collide.example\nTo: b@collide.example\nSubject: no id\n\nno id, body %d\n", sharedDate, v)
	}
	for v := range 2 + r.IntN(2) {
		msgs = append(msgs, named(fmt.Sprintf("noid-%d", v), f, noID(v)))
	}
	msgs = append(msgs, named("noid-0#2", f, noID(0)))
	// A message and the same message as a rewriting server holds it.
	raw := fmt.Appendf(nil, "Message-ID: <rewritten-%d@collide.example>\r\nDate: %s\r\nFrom: J\xc3\xbcrgen <j@collide.example>\r\n"+
		"Subject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nbody with a NUL \x00 here\r\nand no final line end", seed, sharedDate)
	f = folder()
	msgs = append(msgs, named("rewritable", f, raw), named("rewritable#server", f, RewrittenByServer(raw)))

	r.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })

	// Later mail: new messages, another body under an earlier shared
	// Message-ID, another copy of an earlier message.
	for i, m := range FromSample(sample.Generate(3+r.IntN(4), int64(seed)+1000, 1200)) {
		m.Name = fmt.Sprintf("later-%d", i)
		m.Folder = folder()
		later = append(later, m)
	}
	body := fmt.Sprintf("Message-ID: "+sharedID+"\nDate: %s\nFrom: list@collide.example\nSubject: shared 0\n\nlate variant of seed %d\n",
		0, sharedDate, seed)
	later = append(later, named("shared-0-late", sharedFolder, []byte(body)))
	again := base[r.IntN(len(base))]
	again.Name += "#later"
	later = append(later, again)
	return msgs, later
}

// RewrittenByServer is msg as the servers that rewrite mail store it, every
// rewrite at once: LF line ends (Maildir, mbox, Dovecot), NUL as 0x80
// (Dovecot), 8-bit header bytes as 'X' (Cyrus 3.6) and a final CRLF added to
// a message without a final line end (Courier).
func RewrittenByServer(msg []byte) []byte {
	b := bytes.Clone(msg)
	end := formats.HeaderEnd(b)
	for i := range b {
		switch {
		case b[i] == 0:
			b[i] = 0x80
		case i < end && b[i] >= 0x80:
			b[i] = 'X'
		}
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, "\r\n"...)
	}
	return formats.ToLF(b)
}

// Prefill picks part of msgs as another tool, or a rewriting server, left it
// at a destination: about a third of the messages, each as it is or as
// RewrittenByServer stores it, and at least one.
func Prefill(seed uint64, msgs []corpus.Message) []corpus.Message {
	r := rand.New(rand.NewPCG(seed, 0x7072656669))
	var out []corpus.Message
	for i, m := range msgs {
		if r.IntN(3) != 0 && !(i == len(msgs)-1 && len(out) == 0) {
			continue
		}
		if r.IntN(2) == 0 {
			m.Body = RewrittenByServer(m.Body)
			m.Name += " (rewritten)"
		}
		out = append(out, m)
	}
	return out
}

// Identity is the identity property for one source/sink pair, over every
// seed of IdentitySeeds. For each it fills a new source of kind from with
// IdentityCorpus, a new destination of kind to with Prefill, and copies in
// every way a user re-runs:
//
//   - a first run (into the pre-filled destination), then the same again;
//   - after new mail arrived (IdentityCorpus's later mail);
//   - with the state file deleted;
//   - under another spelling of the source (Store.Respell: another path to
//     the same store, another host name for the same server) and so another
//     SourceKey;
//   - without any journal.
//
// Before each run a dry run plans it: its EventPlanned counts per folder
// must equal what the run then copies, with state and without, and the dry
// run must change nothing. After each run the destination's multiset of
// messages, by formats.ContentDigest of what its source reads back, per
// folder, must equal the source's; the first run must copy exactly the
// messages not pre-filled and every later run nothing but the new mail.
func Identity(t *testing.T, from, to Store) {
	t.Helper()
	seeds, n := IdentitySeeds(from.Name + "→" + to.Name)
	for _, seed := range seeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			identityRun(t, from, to, seed, n)
		})
	}
}

func identityRun(t *testing.T, from, to Store, seed uint64, n int) {
	start := time.Now()
	msgs, later := IdentityCorpus(seed, n, from.OneFolder)
	srcPath := from.Path(t.TempDir())
	if err := Put(from, srcPath, msgs); err != nil {
		t.Fatalf("filling the source %s: %v", from.Name, err)
	}
	dstPath := to.Path(t.TempDir())
	prefill := Prefill(seed, msgs)
	if err := Put(to, dstPath, prefill); err != nil {
		t.Fatalf("pre-filling the destination %s: %v", to.Name, err)
	}
	state, err := StatePath(to, dstPath, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	folder := ExpectFor(to).folder

	// What each store holds is read once per change: the source after it
	// was filled, the destination after each run.
	want, err := contentMultiset(from, srcPath, folder)
	if err != nil {
		t.Fatalf("reading the source: %v", err)
	}
	before, err := contentMultiset(to, dstPath, nil)
	if err != nil {
		t.Fatalf("reading the destination: %v", err)
	}
	count := func(m map[string]map[string]int) int {
		n := 0
		for _, c := range m {
			for _, k := range c {
				n += k
			}
		}
		return n
	}
	if n := count(want); n != len(msgs) {
		t.Fatalf("the source %s reads back %d messages; %d were put into it", from.Name, n, len(msgs))
	}
	runs := 0
	step := func(name string, fromPath, state string, wantCopied int) {
		t.Helper()
		_, statErr := os.Stat(state)
		hadState := statErr == nil
		planned, _, err := countedCopy(from, fromPath, to, dstPath, state, true)
		if err != nil {
			t.Fatalf("%s: dry run: %v", name, err)
		}
		if _, err := os.Stat(state); state != "" && !hadState && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: the dry run created the state file %s (%v)", name, state, err)
		}
		after, err := contentMultiset(to, dstPath, nil)
		if err != nil {
			t.Fatalf("%s: reading the destination after the dry run: %v", name, err)
		}
		if d := multisetDiff(before, after); d != "" {
			t.Errorf("%s: the dry run changed the destination: %s", name, d)
		}
		copied, sum, err := countedCopy(from, fromPath, to, dstPath, state, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runs++
		total := count(want)
		if sum.Copied != wantCopied || sum.Failed != 0 || sum.Copied+sum.Skipped != total {
			t.Errorf("%s: copied %d, skipped %d, failed %d (%v); want %d copied of %d", name,
				sum.Copied, sum.Skipped, sum.Failed, sum.Failures, wantCopied, total)
		}
		if fmt.Sprint(planned) != fmt.Sprint(copied) {
			t.Errorf("%s (state file %v): the dry run planned %v per folder, the run copied %v", name, hadState, planned, copied)
		}
		got, err := contentMultiset(to, dstPath, nil)
		if err != nil {
			t.Fatalf("%s: reading the destination: %v", name, err)
		}
		if d := multisetDiff(want, got); d != "" {
			t.Errorf("%s: the destination's messages differ from the source's: %s", name, d)
		}
		before = got
	}

	step("first run", srcPath, state, len(msgs)-len(prefill))
	step("again", srcPath, state, 0)
	if err := Put(from, srcPath, later); err != nil {
		t.Fatalf("new mail into the source: %v", err)
	}
	if want, err = contentMultiset(from, srcPath, folder); err != nil {
		t.Fatalf("reading the source after new mail: %v", err)
	}
	if n := count(want); n != len(msgs)+len(later) {
		t.Fatalf("the source %s reads back %d messages; %d were put into it", from.Name, n, len(msgs)+len(later))
	}
	step("after new mail", srcPath, state, len(later))
	if err := os.Remove(state); err != nil {
		t.Fatalf("deleting the state file: %v", err)
	}
	step("state deleted", srcPath, state, 0)
	respell := from.Respell
	if respell == nil {
		respell = kind.SymlinkSpelling
	}
	other := respell(t, srcPath)
	if other == srcPath {
		t.Fatalf("%s: Respell(%q) gave the same spelling", from.Name, srcPath)
	}
	step("other spelling "+other, other, state, 0)
	step("without a journal", srcPath, "", 0)
	t.Logf("%d messages (%d pre-filled, %d later), %d runs and as many dry runs, in %v",
		len(msgs), len(prefill), len(later), runs, time.Since(start).Round(time.Millisecond))
}

// Put stores msgs in the store at path: through Store.Add when the store
// has one (a POP3 maildrop), else through its sink (Fill).
func Put(s Store, path string, msgs []corpus.Message) error {
	if s.Add != nil {
		return s.Add(path, msgs)
	}
	sink, err := s.NewSink(path)
	if err != nil {
		return fmt.Errorf("new sink %s %s: %w", s.Name, path, err)
	}
	if err := Fill(context.Background(), sink, msgs); err != nil {
		sink.Close()
		return err
	}
	return sink.Close()
}

// countedCopy runs one copy, a dry run when dryRun is set, and returns how
// many messages it planned (dry run) or copied (real run) per source folder.
// A dry run uses the state file only when it exists, as the command does:
// it must not create one.
func countedCopy(from Store, fromPath string, to Store, toPath, state string, dryRun bool) (map[string]int, transfer.Summary, error) {
	var mu sync.Mutex
	counts := make(map[string]int)
	opts := transfer.Options{DryRun: dryRun, Progress: transfer.ProgressFunc(func(e transfer.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case dryRun && e.Kind == transfer.EventPlanned && e.Count > 0:
			counts[e.Folder] += e.Count
		case !dryRun && e.Kind == transfer.EventCopied:
			counts[e.Folder]++
		}
	})}
	if dryRun && state != "" {
		if _, err := os.Stat(state); errors.Is(err, fs.ErrNotExist) {
			state = ""
		}
	}
	sum, err := Copy(from, fromPath, to, toPath, state, opts)
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(counts), sum, err
}

// contentMultiset reads the store at path back and counts its messages by
// ContentDigest per folder, the folder renamed by rename when it is not nil.
func contentMultiset(s Store, path string, rename func(string) string) (map[string]map[string]int, error) {
	got, err := ReadBack(s, path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]int)
	for _, g := range got {
		f := g.Folder
		if rename != nil {
			f = rename(f)
		}
		if out[f] == nil {
			out[f] = make(map[string]int)
		}
		out[f][formats.ContentDigest(g.Body)]++
	}
	return out, nil
}

// multisetDiff describes how got differs from want, or returns "".
func multisetDiff(want, got map[string]map[string]int) string {
	var lines []string
	folders := slices.Sorted(maps.Keys(want))
	for f := range got {
		if _, ok := want[f]; !ok {
			folders = append(folders, f)
		}
	}
	for _, f := range folders {
		w, g := want[f], got[f]
		nw, ng := 0, 0
		var odd []string
		for d, k := range w {
			nw += k
			if g[d] != k {
				odd = append(odd, fmt.Sprintf("%s %d×, want %d×", d, g[d], k))
			}
		}
		for d, k := range g {
			ng += k
			if _, ok := w[d]; !ok {
				odd = append(odd, fmt.Sprintf("%s %d×, want none", d, k))
			}
		}
		if len(odd) > 0 {
			slices.Sort(odd)
			lines = append(lines, fmt.Sprintf("folder %q holds %d messages, want %d: %s", f, ng, nw, strings.Join(odd, "; ")))
		}
	}
	return strings.Join(lines, "\n")
}
