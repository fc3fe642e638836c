package transfer_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

func storedFlags(dst *transfertest.MemSink, folder, id string) []string {
	for _, st := range dst.Messages(folder) {
		if st.ID == id {
			return st.Flags
		}
	}
	return nil
}

func TestRunSyncsChangedFlags(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 30, true, "INBOX", "Work")
	dst := transfertest.NewMemSink()
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	opts := fast(transfer.Options{Journal: j, SyncFlags: true})
	if _, err := transfer.Run(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	// An unchanged mailbox: no flags to carry, and no destination read.
	sum, err := transfer.Run(context.Background(), src, dst, opts)
	if err != nil || sum.FlagsSynced != 0 || dst.FlagChanges() != 0 {
		t.Fatalf("unchanged re-run: %+v, %v, %d changes", sum, err, dst.FlagChanges())
	}
	// The user reads one message, flags another and unflags a third.
	mem.SetFlags("INBOX", "INBOX-0", []string{`\Seen`})
	mem.SetFlags("INBOX", "INBOX-1", []string{`\Seen`, `\Flagged`, "$Label1"})
	mem.SetFlags("Work", "Work-2", nil)
	ev := &events{}
	opts.Progress = ev
	sum, err = transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.FlagsSynced != 3 || sum.Copied != 0 {
		t.Errorf("summary %+v, want 3 flag changes and nothing copied", sum)
	}
	for _, c := range []struct {
		folder, id string
		want       []string
	}{
		{"INBOX", "INBOX-0", []string{`\Seen`}},
		{"INBOX", "INBOX-1", []string{"$Label1", `\Flagged`, `\Seen`}},
		{"Work", "Work-2", nil},
	} {
		if got := storedFlags(dst, c.folder, c.id); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s/%s: flags %q, want %q", c.folder, c.id, got, c.want)
		}
	}
	n := 0
	for _, e := range ev.of(transfer.EventFlagsSynced) {
		n += e.Count
	}
	if n != 3 {
		t.Errorf("flag events count %d", n)
	}
	// Carried once: the next run has nothing to do.
	before := dst.FlagChanges()
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{Journal: j, SyncFlags: true}))
	if err != nil || sum.FlagsSynced != 0 || dst.FlagChanges() != before {
		t.Errorf("after the sync: %+v, %v", sum, err)
	}
}

func TestRunSyncsFlagsOfMessagesFoundAtTheDestination(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 5, true, "INBOX")
	mem.SetFlags("INBOX", "INBOX-3", []string{`\Seen`, `\Answered`})
	dst := transfertest.NewMemSink()
	for i := range 5 { // copied earlier by another tool, without flags
		dst.Add(transfer.Message{Folder: "INBOX", ID: "x" + string(rune('0'+i)), Date: baseDate}, body("INBOX", i, true))
	}
	dry := &events{}
	if _, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{SyncFlags: true, DryRun: true, Progress: dry})); err != nil {
		t.Fatal(err)
	}
	sum, err := transfer.Run(context.Background(), src, dst, fast(transfer.Options{SyncFlags: true}))
	if err != nil {
		t.Fatal(err)
	}
	// fill gives messages 1, 2 and 3 flags; 0 and 4 have none, like their copies.
	if sum.Copied != 0 || sum.FlagsSynced != 3 || dst.FlagChanges() != 3 {
		t.Errorf("summary %+v, %d changes", sum, dst.FlagChanges())
	}
	planned := 0
	for _, e := range dry.of(transfer.EventFlagsSynced) {
		planned += e.Count
	}
	if planned != 3 {
		t.Errorf("the dry run planned %d flag changes, the run made %d", planned, sum.FlagsSynced)
	}
	// Off: nothing changes.
	mem.SetFlags("INBOX", "INBOX-0", []string{`\Deleted`})
	sum, err = transfer.Run(context.Background(), src, dst, fast(transfer.Options{}))
	if err != nil || sum.FlagsSynced != 0 {
		t.Errorf("without SyncFlags: %+v, %v", sum, err)
	}
}

func TestRunDeleteExtraneous(t *testing.T) {
	src, mem := sources()["keyed"]()
	fill(mem, 10, true, "INBOX")
	dup := body("INBOX", 99, true)
	mem.Add(transfer.Message{Folder: "INBOX", ID: "dup1", Date: baseDate, CRLF: true}, dup)
	mem.Add(transfer.Message{Folder: "INBOX", ID: "dup2", Date: baseDate, CRLF: true}, dup)
	dst := transfertest.NewMemSink()
	// Put there by another program: never deleted.
	dst.Add(transfer.Message{Folder: "INBOX", ID: "foreign", Date: baseDate}, []byte("Subject: mine\r\n\r\nnot copied by mailferry\r\n"))
	j := journal(t, filepath.Join(t.TempDir(), "state"))
	opts := fast(transfer.Options{Journal: j, DeleteExtraneous: true})
	if _, err := transfer.Run(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	// The user deletes three messages and one of the two identical copies.
	if err := mem.Delete(context.Background(), "INBOX", []transfer.Message{{ID: "INBOX-1"}, {ID: "INBOX-4"}, {ID: "INBOX-7"}, {ID: "dup2"}}); err != nil {
		t.Fatal(err)
	}
	dry := &events{}
	dryOpts := opts
	dryOpts.DryRun, dryOpts.Progress = true, dry
	if _, err := transfer.Run(context.Background(), src, dst, dryOpts); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != 13 {
		t.Fatalf("the dry run deleted: %d left", dst.Len())
	}
	sum, err := transfer.Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	planned := 0
	for _, e := range dry.of(transfer.EventExtraneous) {
		planned += e.Count
	}
	if sum.DestDeleted != 4 || planned != 4 || sum.Copied != 0 {
		t.Errorf("summary %+v, dry run planned %d deletions; want 4", sum, planned)
	}
	var want [][]byte
	for _, id := range []int{0, 2, 3, 5, 6, 8, 9} {
		want = append(want, body("INBOX", id, true))
	}
	want = append(want, dup, []byte("Subject: mine\r\n\r\nnot copied by mailferry\r\n"))
	sameMultiset(t, "after --delete-extraneous", sinkBodies(dst, "INBOX"), want)
	// Nothing more to delete; without the option nothing is deleted.
	if sum, err := transfer.Run(context.Background(), src, dst, opts); err != nil || sum.DestDeleted != 0 {
		t.Errorf("second run: %+v, %v", sum, err)
	}
}
