package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// multiset counts messages by their normalised content.
func multiset(bodies [][]byte) map[string]int {
	out := make(map[string]int)
	for _, b := range bodies {
		out[formats.ContentDigest(b)]++
	}
	return out
}

func sinkBodies(dst *transfertest.MemSink, folder string) [][]byte {
	var out [][]byte
	for _, st := range dst.Messages(folder) {
		out = append(out, st.Body)
	}
	return out
}

func sameMultiset(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	g, w := multiset(got), multiset(want)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("%s: destination holds %d messages %v, source %d %v", what, len(got), g, len(want), w)
	}
}

// collisionA and collisionB are two distinct messages with one Message-ID
// and one arrival time, as real mail has them (a message that reaches you
// directly and through a list).
var (
	collisionA = []byte("Message-ID: <dup@example.com>\nSubject: A\n\nfirst body\n")
	collisionB = []byte("Message-ID: <dup@example.com>\nSubject: B\n\nsecond body, another one\n")
)

// sources returns both kinds of in-memory source: one that learns keys only
// from bodies (as a local store) and one with a Keyer (as IMAP).
func sources() map[string]func() (transfer.Source, *transfertest.MemSource) {
	return map[string]func() (transfer.Source, *transfertest.MemSource){
		"local": func() (transfer.Source, *transfertest.MemSource) {
			s := transfertest.NewMemSource()
			return s, s
		},
		"keyed": func() (transfer.Source, *transfertest.MemSource) {
			s := transfertest.NewKeyedMemSource()
			return s, s.MemSource
		},
	}
}

func TestRunCollisionIsNeitherLostNorDoubled(t *testing.T) {
	for name, newSrc := range sources() {
		t.Run(name, func(t *testing.T) {
			for round := range 5 { // the order of the puts must not matter
				src, mem := newSrc()
				mem.Add(transfer.Message{Folder: "INBOX", ID: "a", Date: baseDate}, collisionA)
				mem.Add(transfer.Message{Folder: "INBOX", ID: "b", Date: baseDate}, collisionB)
				dst := transfertest.NewMemSink()
				dst.Add(transfer.Message{Folder: "INBOX", ID: "old", Date: baseDate}, collisionB)
				sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Workers: 1 + round%3}))
				if err != nil {
					t.Fatal(err)
				}
				sameMultiset(t, fmt.Sprintf("round %d", round), sinkBodies(dst, "INBOX"), [][]byte{collisionA, collisionB})
				if sum.Copied != 1 || sum.Skipped != 1 {
					t.Errorf("round %d: summary %+v, want 1 copied, 1 skipped", round, sum)
				}
			}
		})
	}
}

func TestRunIdenticalCopiesStayTwo(t *testing.T) {
	src, mem := sources()["keyed"]()
	msg := body("INBOX", 1, false)
	mem.Add(transfer.Message{Folder: "INBOX", ID: "1", Date: baseDate}, msg)
	mem.Add(transfer.Message{Folder: "INBOX", ID: "2", Date: baseDate}, msg)
	dst := transfertest.NewMemSink()
	for run := range 3 { // a first run, then twice without state
		sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{2, 0, 0}[run]; sum.Copied != want {
			t.Errorf("run %d copied %d, want %d", run, sum.Copied, want)
		}
		sameMultiset(t, fmt.Sprintf("run %d", run), sinkBodies(dst, "INBOX"), [][]byte{msg, msg})
	}
}

func TestRunOtherSpellingOfTheSameSourceCopiesNothing(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 50, true, "INBOX", "Archive/2019")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, SourceKey: "imaps://user1@127.0.0.1:993"})); err != nil {
		t.Fatal(err)
	}
	before := mem.FetchCalls()
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, SourceKey: "imaps://user1@localhost:993"}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 0 || sum.Skipped != 100 {
		t.Errorf("under another spelling: %+v, want 0 copied, 100 skipped", sum)
	}
	if n := mem.FetchCalls() - before; n != 0 {
		t.Errorf("%d bodies fetched to skip them", n)
	}
	if dst.Len() != 100 {
		t.Errorf("destination holds %d messages", dst.Len())
	}
}

func TestRunLostStateFetchesNoBody(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 200, true, "INBOX", "Sent")
	// Messages without Message-ID are keyed by their header fields.
	for i := range 20 {
		mem.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprintf("noid-%d", i), Date: baseDate},
			[]byte(fmt.Sprintf("From: x@example.org\r\nSubject: no id %d\r\n\r\nbody %d\r\n", i, i)))
	}
	dst := transfertest.NewMemSink()
	dir := t.TempDir()
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: journal(t, filepath.Join(dir, "state1"))})); err != nil {
		t.Fatal(err)
	}
	first := mem.FetchCalls()
	ev := &events{}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: journal(t, filepath.Join(dir, "state2")), Progress: ev}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 0 || sum.Skipped != 420 {
		t.Errorf("lost state: %+v", sum)
	}
	if n := mem.FetchCalls() - first; n != 0 {
		t.Errorf("the run without state fetched bodies %d times", n)
	}
	if ev.countByText(transfer.EventSkipped, "already at destination") != 420 {
		t.Errorf("skipped events: %+v", ev.of(transfer.EventSkipped))
	}
}

func TestRunTruncatedCopyIsNotTheMessage(t *testing.T) {
	for name, newSrc := range sources() {
		t.Run(name, func(t *testing.T) {
			src, mem := newSrc()
			whole := body("INBOX", 1, true)
			whole = append(whole, bytes.Repeat([]byte("more text\r\n"), 50)...)
			mem.Add(transfer.Message{Folder: "INBOX", ID: "1", Date: baseDate, CRLF: true}, whole)
			dst := transfertest.NewMemSink()
			dst.Add(transfer.Message{Folder: "INBOX", ID: "half", Date: baseDate}, whole[:len(whole)/2])
			sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
			if err != nil || sum.Copied != 1 {
				t.Fatalf("summary %+v, %v: the whole message must be copied", sum, err)
			}
		})
	}
}

func TestRunRewritingServerCopyMatches(t *testing.T) {
	src, mem := sources()["keyed"]()
	orig := []byte("Message-ID: <r@x>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nnul\x00byte\r\nlast line without end")
	mem.Add(transfer.Message{Folder: "INBOX", ID: "1", Date: baseDate, CRLF: true}, orig)
	mem.Add(transfer.Message{Folder: "INBOX", ID: "2", Date: baseDate, CRLF: true}, orig)
	// Two copies stored by servers that rewrite: one in LF with NUL as
	// 0x80 (Dovecot, mbox), one with 8-bit header bytes as X and a final
	// CRLF added (Cyrus, Courier).
	dovecot := bytes.ReplaceAll(formats.ToLF(orig), []byte{0}, []byte{0x80})
	cyrus := append(bytes.ReplaceAll(orig, []byte("\xc3\xbc\xc3\x9f"), []byte("XXXX")), "\r\n"...)
	dst := transfertest.NewMemSink()
	dst.Add(transfer.Message{Folder: "INBOX", ID: "d", Date: baseDate}, dovecot)
	dst.Add(transfer.Message{Folder: "INBOX", ID: "c", Date: baseDate}, cyrus)
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
	if err != nil || sum.Copied != 0 || sum.Skipped != 2 {
		t.Fatalf("summary %+v, %v: both rewritten copies are the message", sum, err)
	}
}

func TestRunRenumberedFolderCopiesNothing(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 30, true, "INBOX")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j})); err != nil {
		t.Fatal(err)
	}
	// The folder is deleted and recreated with the same mail: every ID
	// is new (a UIDVALIDITY change).
	renumbered, rmem := sources()["keyed"]()
	for i := range 30 {
		rmem.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprintf("new-%d", i), Date: baseDate, CRLF: true}, body("INBOX", i, true))
	}
	ev := &events{}
	sum, err := transfer.Run(context.Background(), renumbered, dst, fast(transfer.Options{Journal: j, Progress: ev}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 0 || sum.Skipped != 30 || dst.Len() != 30 {
		t.Errorf("after renumbering: %+v, destination %d", sum, dst.Len())
	}
	warned := false
	for _, e := range ev.of(transfer.EventWarning) {
		warned = warned || strings.Contains(e.Text, "renumbered (UIDVALIDITY changed)")
	}
	if !warned {
		t.Errorf("no warning about the renumbering: %+v", ev.of(transfer.EventWarning))
	}
}

func TestRunDeleteSourceRefusesTheSameMailbox(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 10, true, "INBOX")
	mem.Identity = "server-1"
	dst := transfertest.NewMemSink()
	dst.Identity = "server-1" // the same server under a second name
	for i := range 10 {
		dst.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: baseDate}, body("INBOX", i, true))
	}
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, DeleteSource: true}))
	if !errors.Is(err, transfer.ErrSameMailbox) {
		t.Fatalf("err = %v, want ErrSameMailbox", err)
	}
	if sum.Deleted != 0 || len(mem.Deleted("INBOX")) != 0 {
		t.Errorf("deleted %d (%v)", sum.Deleted, mem.Deleted("INBOX"))
	}
	if !strings.Contains(err.Error(), `source folder "INBOX" and destination folder "INBOX"`) {
		t.Errorf("message does not name the folders: %v", err)
	}
}

func TestRunDeleteSourceDeletesOnlyWhatIsConfirmed(t *testing.T) {
	for name, newSrc := range sources() {
		t.Run(name, func(t *testing.T) {
			src, mem := newSrc()
			mem.Add(transfer.Message{Folder: "INBOX", ID: "a", Date: baseDate}, collisionA)
			mem.Add(transfer.Message{Folder: "INBOX", ID: "b", Date: baseDate}, collisionB)
			whole := append(body("INBOX", 9, false), bytes.Repeat([]byte("text\n"), 40)...)
			mem.Add(transfer.Message{Folder: "INBOX", ID: "t", Date: baseDate}, whole)
			dst := transfertest.NewMemSink()
			// Put there by another tool: B, and a truncated copy of t.
			dst.Add(transfer.Message{Folder: "INBOX", ID: "x", Date: baseDate}, collisionB)
			dst.Add(transfer.Message{Folder: "INBOX", ID: "y", Date: baseDate}, whole[:len(whole)/3])
			// A put that fails: A is not at the destination, so it must
			// stay in the source.
			dst.BeforePut = func(n int, m transfer.Message) error {
				if m.ID == "a" {
					return transfer.PerMessageError(errors.New("refused"))
				}
				return nil
			}
			j := journal(t, filepath.Join(t.TempDir(), "state"))
			sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, DeleteSource: true}))
			if err != nil {
				t.Fatal(err)
			}
			deleted := mem.Deleted("INBOX")
			sort.Strings(deleted)
			if strings.Join(deleted, ",") != "b,t" {
				t.Errorf("deleted %v, want b (confirmed by content) and t (copied whole)", deleted)
			}
			if sum.Copied != 1 || sum.Failed != 1 {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

func TestRunDryRunPrintsWhatTheRunDoes(t *testing.T) {
	for name, newSrc := range sources() {
		t.Run(name, func(t *testing.T) {
			src, mem := newSrc()
			fill(mem, 40, false, "INBOX", "Work")
			mem.Add(transfer.Message{Folder: "INBOX", ID: "a", Date: baseDate}, collisionA)
			mem.Add(transfer.Message{Folder: "INBOX", ID: "b", Date: baseDate}, collisionB)
			dst := transfertest.NewMemSink()
			dst.Add(transfer.Message{Folder: "INBOX", ID: "x", Date: baseDate}, collisionB)
			for i := range 25 { // filled earlier, by another tool
				dst.Add(transfer.Message{Folder: "Work", ID: fmt.Sprint(i), Date: baseDate}, body("Work", i, false))
			}
			for _, withState := range []bool{false, true} {
				var j *transfer.Journal
				if withState {
					j = journal(t, filepath.Join(t.TempDir(), "state"))
				}
				plan := &events{}
				if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, DryRun: true, Progress: plan})); err != nil {
					t.Fatal(err)
				}
				planned := map[string]int{}
				for _, e := range plan.of(transfer.EventPlanMessage) {
					planned[e.Folder]++
				}
				before := dst.Len()
				done := &events{}
				if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, Progress: done})); err != nil {
					t.Fatal(err)
				}
				copied := map[string]int{}
				for _, e := range done.of(transfer.EventCopied) {
					copied[e.Folder]++
				}
				if fmt.Sprint(planned) != fmt.Sprint(copied) {
					t.Errorf("state %v: dry run planned %v, the run copied %v", withState, planned, copied)
				}
				if before == dst.Len() && len(copied) > 0 {
					t.Errorf("nothing stored")
				}
			}
		})
	}
}

// TestRunIdentityProperty copies generated folders with planted collisions
// (same Message-ID with different bodies, identical copies, no Message-ID,
// copies as a rewriting server holds them) in every way a user re-runs:
// again, without state, under another source spelling, and into a
// destination pre-filled with part of the mail. After each run the
// destination holds exactly the source's messages.
func TestRunIdentityProperty(t *testing.T) {
	for seed := range uint64(12) {
		for name, newSrc := range sources() {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 7))
				src, mem := newSrc()
				var bodies [][]byte
				for i := range 30 + rng.IntN(30) {
					var b []byte
					switch k := rng.IntN(10); {
					case k < 2 && len(bodies) > 0: // an identical copy
						b = bodies[rng.IntN(len(bodies))]
					case k < 4: // a shared Message-ID, another body
						b = []byte(fmt.Sprintf("Message-ID: <shared%d@x>\nSubject: s\n\nbody %d\n", rng.IntN(3), i))
					case k < 5: // no Message-ID, the same fields
						b = []byte(fmt.Sprintf("From: a@x\nSubject: same\n\nnoid %d\n", i))
					default:
						b = body("INBOX", i, rng.IntN(2) == 0)
					}
					bodies = append(bodies, b)
					mem.Add(transfer.Message{Folder: "INBOX", ID: fmt.Sprint(i), Date: baseDate}, b)
				}
				dst := transfertest.NewMemSink()
				for _, b := range bodies {
					switch rng.IntN(4) {
					case 0: // pre-filled, as another tool stored it
						dst.Add(transfer.Message{Folder: "INBOX", Date: baseDate}, formats.ToLF(b))
					case 1:
						dst.Add(transfer.Message{Folder: "INBOX", Date: baseDate}, append(formats.ToCRLF(b), "\r\n"...))
					}
				}
				prefilled := dst.Len()
				dir := t.TempDir()
				runs := []struct {
					name, key, state string
				}{
					{"first", "mem:a", "s1"}, {"again", "mem:a", "s1"}, {"state deleted", "mem:a", "s2"},
					{"other spelling", "mem:b", "s2"}, {"no state", "mem:a", ""},
				}
				for _, run := range runs {
					var j *transfer.Journal
					if run.state != "" {
						var err error
						j, err = transfer.OpenJournal(filepath.Join(dir, run.state))
						if err != nil {
							t.Fatal(err)
						}
					}
					sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, SourceKey: run.key, Workers: 1 + rng.IntN(4)}))
					if j != nil {
						j.Close()
					}
					if err != nil {
						t.Fatal(err)
					}
					if run.name != "first" && sum.Copied != 0 {
						t.Errorf("%s: copied %d", run.name, sum.Copied)
					}
					if run.name == "first" && sum.Copied != len(bodies)-prefilled {
						t.Errorf("first run copied %d, want %d (prefilled %d)", sum.Copied, len(bodies)-prefilled, prefilled)
					}
					sameMultiset(t, run.name, sinkBodies(dst, "INBOX"), bodies)
				}
			})
		}
	}
}

// A destination emptied or replaced after a copy, with the state file kept,
// gets the messages again: "recorded as copied" does not mean "there".
func TestRunRecopiesWhatTheDestinationLost(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 12, true, "INBOX", "Work")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	opts := fast(transfer.Options{Journal: j})
	if _, err := transfer.Run(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	dst.Remove("Work")
	ev := &events{}
	opts.Progress = ev
	sum, err := transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Copied != 12 || len(dst.Messages("Work")) != 12 || len(dst.Messages("INBOX")) != 12 {
		t.Errorf("after emptying Work: %+v; Work holds %d, INBOX %d", sum, len(dst.Messages("Work")), len(dst.Messages("INBOX")))
	}
	warned := false
	for _, e := range ev.of(transfer.EventWarning) {
		warned = warned || (e.Folder == "Work" && strings.Contains(e.Text, "not in \"Work\" any more"))
	}
	if !warned {
		t.Errorf("no warning: %+v", ev.of(transfer.EventWarning))
	}
	// Then a plain re-run: nothing.
	if sum, err := transfer.Run(context.Background(), src, dst, opts); err != nil || sum.Copied != 0 {
		t.Errorf("re-run: %+v, %v", sum, err)
	}
}
