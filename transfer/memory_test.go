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

// heapProbeSink stores nothing and, at the last of the Puts it expects,
// measures the live heap after a collection: what the run holds while it
// copies, once its plan is made.
type heapProbeSink struct {
	*transfertest.MemSink // the (empty) destination index
	want                  int64
	puts                  atomic.Int64
	live                  uint64 // set by the want-th Put
}

func (s *heapProbeSink) Put(ctx context.Context, m transfer.Message, b transfer.Body) error {
	if s.puts.Add(1) == s.want {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		s.live = ms.HeapAlloc
	}
	return nil
}

// retainedPerMessage copies one folder of n small messages into a sink
// that keeps nothing and returns the heap the run held at its last Put
// beyond what the source itself holds, per message, and the bytes the
// run allocated, per message. withJournal adds a state file, whose index
// (one record per copied message) is the part that must grow.
func retainedPerMessage(tb testing.TB, n int, withJournal bool) (retained, allocated float64) {
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
	if dst.live == 0 {
		tb.Fatal("the last Put did not measure the heap")
	}
	return (float64(dst.live) - float64(before.HeapAlloc)) / float64(n),
		float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestRunMemoryPerMessage: while a folder is copied the run holds, per
// message, no more than the journal's index needs (about 400 bytes a
// record, see BenchmarkJournalLookup) and a little slack; without a
// journal almost nothing. The plan's entries (several hundred bytes each),
// the listing and the todo list are released as soon as they are used.
func TestRunMemoryPerMessage(t *testing.T) {
	const n = 20_000
	noJournal, _ := retainedPerMessage(t, n, false)
	withJournal, _ := retainedPerMessage(t, n, true)
	t.Logf("retained per message: %.0f B without a journal, %.0f B with one", noJournal, withJournal)
	if noJournal > 128 {
		t.Errorf("without a journal the run holds %.0f bytes per message while copying; want ≤ 128", noJournal)
	}
	if withJournal > 480 {
		t.Errorf("with a journal the run holds %.0f bytes per message while copying; want ≤ 480", withJournal)
	}
}

// BenchmarkRunMemory reports the heap a run holds while copying one folder
// of 20,000 small messages (retained-B/msg, live after a collection at the
// last Put, beyond the source's own) and what it allocates in all
// (alloc-B/msg), with and without a state file.
func BenchmarkRunMemory(b *testing.B) {
	const n = 20_000
	for _, withJournal := range []bool{false, true} {
		name := "nojournal"
		if withJournal {
			name = "journal"
		}
		b.Run(name, func(b *testing.B) {
			var retained, allocated float64
			for b.Loop() {
				retained, allocated = retainedPerMessage(b, n, withJournal)
			}
			b.ReportMetric(retained, "retained-B/msg")
			b.ReportMetric(allocated, "alloc-B/msg")
		})
	}
}
