package transfer_test

import (
	"context"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// heapProbeSink stores nothing and measures the live heap after a
// collection twice: when the plan reads the destination's index (the
// listing and the plan's entries are all held then) and at the last of the
// Puts it expects (what the run holds while it copies, once planned).
type heapProbeSink struct {
	*transfertest.MemSink // the (empty) destination index
	want                  int64
	puts                  atomic.Int64
	planLive              uint64 // set by Index
	live                  uint64 // set by the want-th Put
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func (s *heapProbeSink) Index(ctx context.Context, folder string) (transfer.FolderIndex, error) {
	s.planLive = liveHeap()
	return s.MemSink.Index(ctx, folder)
}

func (s *heapProbeSink) Put(ctx context.Context, m transfer.Message, b transfer.Body) error {
	if s.puts.Add(1) == s.want {
		s.live = liveHeap()
	}
	return nil
}

// retainedPerMessage copies one folder of n small messages into a sink
// that keeps nothing and returns, per message, the heap the run held
// beyond what the source itself holds while planning and at its last Put,
// and the bytes it allocated in all. withJournal adds a state file, whose index
// (one record per copied message) is the part that must grow.
func retainedPerMessage(tb testing.TB, n int, withJournal bool) (planning, retained, allocated float64) {
	tb.Helper()
	src := transfertest.NewMemSource()
	fill(src, n, true, "Big")
	var j *transfer.Journal
	if withJournal {
		var err error
		if j, err = transfer.OpenJournal(filepath.Join(tb.TempDir(), "state")); err != nil {
			tb.Fatal(err)
		}
		defer j.Close()
	}
	dst := &heapProbeSink{MemSink: transfertest.NewMemSink(), want: int64(n)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sum, err := transfer.Run(context.Background(), src, dst, transfer.Options{SourceKey: "imaps://u@h", Journal: j})
	runtime.ReadMemStats(&after)
	if err != nil || sum.Copied != n {
		tb.Fatalf("summary %+v, err %v", sum, err)
	}
	if dst.live == 0 || dst.planLive == 0 {
		tb.Fatal("the plan or the last Put did not measure the heap")
	}
	perMessage := func(live uint64) float64 { return (float64(live) - float64(before.HeapAlloc)) / float64(n) }
	return perMessage(dst.planLive), perMessage(dst.live),
		float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestRunMemoryPerMessage: while planning, the run holds the listing and
// one small plan entry per message; while copying, no more than the
// journal's index needs (about 110 bytes a record, see
// BenchmarkJournalLookup; the bound leaves room for records waiting to be
// written) and, without a journal, almost nothing: the plan's entries, the
// listing and the todo list are released as soon as they are used. (The
// in-memory source's own count of deliveries, about 60 bytes a message, is
// in both.)
func TestRunMemoryPerMessage(t *testing.T) {
	const n = 20_000
	planning, noJournal, _ := retainedPerMessage(t, n, false)
	_, withJournal, _ := retainedPerMessage(t, n, true)
	t.Logf("held per message: %.0f B while planning; while copying %.0f B without a journal, %.0f B with one", planning, noJournal, withJournal)
	if planning > 280 {
		t.Errorf("while planning the run holds %.0f bytes per message; want ≤ 280", planning)
	}
	if noJournal > 128 {
		t.Errorf("without a journal the run holds %.0f bytes per message while copying; want ≤ 128", noJournal)
	}
	if withJournal > 256 {
		t.Errorf("with a journal the run holds %.0f bytes per message while copying; want ≤ 256", withJournal)
	}
}

// BenchmarkRunMemory reports the heap a run holds while planning
// (planning-B/msg) and copying (retained-B/msg, at the last Put) one folder
// of 20,000 small messages, live after a collection, beyond the source's own, and what it allocates in all
// (alloc-B/msg), with and without a state file.
func BenchmarkRunMemory(b *testing.B) {
	const n = 20_000
	for _, withJournal := range []bool{false, true} {
		name := "nojournal"
		if withJournal {
			name = "journal"
		}
		b.Run(name, func(b *testing.B) {
			var planning, retained, allocated float64
			for b.Loop() {
				planning, retained, allocated = retainedPerMessage(b, n, withJournal)
			}
			b.ReportMetric(planning, "planning-B/msg")
			b.ReportMetric(retained, "retained-B/msg")
			b.ReportMetric(allocated, "alloc-B/msg")
		})
	}
}
