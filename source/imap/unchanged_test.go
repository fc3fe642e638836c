package imap

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// listCounter is a Source that counts List calls per folder (a folder
// skipped as unchanged is not listed) and ChangedFlags calls.
type listCounter struct {
	*Source
	mu    sync.Mutex
	lists map[string]int
}

func (l *listCounter) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	l.mu.Lock()
	l.lists[folder]++
	l.mu.Unlock()
	return l.Source.List(ctx, folder)
}

// ChangedFlags counts as "folder:flags" when it read the changes.
func (l *listCounter) ChangedFlags(ctx context.Context, folder, oldState, newState string) ([]transfer.Message, bool, error) {
	msgs, ok, err := l.Source.ChangedFlags(ctx, folder, oldState, newState)
	if ok {
		l.mu.Lock()
		l.lists[folder+":flags"]++
		l.mu.Unlock()
	}
	return msgs, ok, err
}

func (l *listCounter) listed() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for f := range l.lists {
		out = append(out, f)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

type rerunner struct {
	t       *testing.T
	opts    imapconn.Options
	dst     *transfertest.MemSink
	journal string
	flags   bool
}

// run copies the account into r.dst with the journal and returns the
// summary and the folders it listed.
func (r *rerunner) run() (transfer.Summary, string) {
	r.t.Helper()
	ctx := context.Background()
	s, err := New(ctx, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	defer s.Close()
	src := &listCounter{Source: s, lists: make(map[string]int)}
	j, err := transfer.OpenJournal(r.journal)
	if err != nil {
		r.t.Fatal(err)
	}
	defer j.Close()
	sum, err := transfer.Run(ctx, src, r.dst, transfer.Options{SourceKey: "imap:test", Journal: j, SyncFlags: r.flags})
	if err != nil {
		r.t.Fatal(err)
	}
	return sum, src.listed()
}

func appendTo(t *testing.T, c *imapclient.Client, folder string, body []byte) {
	t.Helper()
	cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Time: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)})
	cmd.Write(body)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND to %s: %v", folder, err)
	}
}

// A re-run skips every folder whose STATUS (UIDVALIDITY, UIDNEXT,
// MESSAGES, HIGHESTMODSEQ) is the one recorded when it was copied, and
// still notices each change: new mail, an expunge, a renumbered folder
// (UIDVALIDITY) and a lost state file each make the folder be listed
// again; a flag change alone is read with CHANGEDSINCE and carried over;
// the destination ends up right.
func TestUnchangedFoldersSkippedDovecot(t *testing.T) {
	u := dovecot.User{Name: "alice", Password: "secret"}
	srv := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{u}})
	c := srv.Login(t, u)
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		appendTo(t, c, "INBOX", testMessage(i))
	}
	for i := 4; i <= 5; i++ {
		appendTo(t, c, "Work", testMessage(i))
	}
	r := &rerunner{t: t, dst: transfertest.NewMemSink(), journal: filepath.Join(t.TempDir(), "state"), flags: true, opts: imapconn.Options{
		Addr:        srv.IMAPSAddr,
		Security:    account.SecurityTLS,
		TLSConfig:   srv.TLSConfig(),
		Credentials: account.Credentials{User: u.Name, Password: account.StaticPassword(u.Password)},
	}}
	expect := func(step string, sum transfer.Summary, listed, wantListed string, copied, skipped int) {
		t.Helper()
		if listed != wantListed || sum.Copied != copied || sum.Skipped != skipped || sum.Failed != 0 {
			t.Errorf("%s: listed [%s], copied %d, skipped %d, failed %d; want listed [%s], copied %d, skipped %d",
				step, listed, sum.Copied, sum.Skipped, sum.Failed, wantListed, copied, skipped)
		}
	}

	sum, listed := r.run()
	expect("first run", sum, listed, "INBOX Work", 5, 0)
	sum, listed = r.run()
	expect("unchanged", sum, listed, "", 0, 5)

	appendTo(t, c, "Work", testMessage(6))
	sum, listed = r.run()
	expect("new mail in Work", sum, listed, "Work", 1, 5)

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	sum, listed = r.run()
	// Only flags changed: the folder is not listed, the changed flags
	// are read with CHANGEDSINCE.
	expect("a flag changed in INBOX", sum, listed, "INBOX:flags", 0, 6)
	if sum.FlagsSynced != 1 {
		t.Errorf("flag change: %d flag changes carried, want 1", sum.FlagsSynced)
	}
	flagged := 0
	for _, m := range r.dst.Messages("INBOX") {
		if strings.Contains(strings.Join(m.Flags, " "), `\Flagged`) {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("%d flagged copies in INBOX, want 1", flagged)
	}
	sum, listed = r.run()
	expect("unchanged after the flag change", sum, listed, "", 0, 6)

	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	sum, listed = r.run()
	expect("an expunge in Work", sum, listed, "Work", 0, 5)

	// Work recreated: a new UIDVALIDITY, the same two messages and one
	// more.
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{5, 6, 7} {
		appendTo(t, c, "Work", testMessage(i))
	}
	sum, listed = r.run()
	expect("Work renumbered", sum, listed, "Work", 1, 5)

	if err := os.Remove(r.journal); err != nil {
		t.Fatal(err)
	}
	sum, listed = r.run()
	expect("state file lost", sum, listed, "INBOX Work", 0, 6)
	sum, listed = r.run()
	expect("unchanged again", sum, listed, "", 0, 6)

	if n := len(r.dst.Messages("INBOX")); n != 3 {
		t.Errorf("INBOX copy holds %d messages, want 3", n)
	}
	// Work: 4, 5 and 6 copied before the expunge and the renumbering, 7
	// after; nothing twice.
	if n := len(r.dst.Messages("Work")); n != 4 {
		t.Errorf("Work copy holds %d messages, want 4", n)
	}
}

// Without CONDSTORE the folder state does not cover flags: with flag sync
// every folder is listed on each run, without it an unchanged folder is
// skipped.
func TestUnchangedFoldersWithoutCondstore(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	for i := 1; i <= 3; i++ {
		if err := srv.AddMessage("alice", "INBOX", nil, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, flags := range []bool{true, false} {
		r := &rerunner{t: t, dst: transfertest.NewMemSink(), journal: filepath.Join(t.TempDir(), "state"), flags: flags, opts: clientOpts(srv.Addr())}
		if sum, listed := r.run(); listed != "INBOX" || sum.Copied != 3 {
			t.Fatalf("flag sync %v, first run: listed [%s], %+v", flags, listed, sum)
		}
		want := "INBOX"
		if !flags {
			want = ""
		}
		if sum, listed := r.run(); listed != want || sum.Skipped != 3 {
			t.Errorf("flag sync %v, re-run: listed [%s], want [%s]; %+v", flags, listed, want, sum)
		}
	}
}
