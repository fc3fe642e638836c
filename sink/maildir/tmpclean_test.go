package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// TestOldTmpFilesAreRemovedWhenAFolderOpens: files of interrupted
// deliveries older than 36 hours go when the sink first opens their
// folder, and the count is reported; younger files, links and directories
// stay.
func TestOldTmpFilesAreRemovedWhenAFolderOpens(t *testing.T) {
	var warnings []string
	s, root := newSink(t, Options{Warn: func(w string) { warnings = append(warnings, w) }})
	// Files can only be made with a ctime of now, so the sink's clock runs
	// 48 hours ahead instead: what is written now is 48 hours old to it.
	s.now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	sub := filepath.Join(root, ".Sent")
	for _, d := range []string{sub + "/cur", sub + "/new", sub + "/tmp"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(root, "tmp")
	for i, dir := range []string{tmp, tmp, tmp, filepath.Join(sub, "tmp")} {
		p := filepath.Join(dir, "1600000000.M"+string(rune('0'+i))+"P1.host")
		if err := os.WriteFile(p, []byte("Subject: cut short"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	young := filepath.Join(tmp, "young")
	os.WriteFile(young, []byte("being delivered"), 0o600)
	soon := time.Now().Add(24 * time.Hour) // 24 hours old to the sink
	os.Chtimes(young, soon, soon)
	os.Symlink("/etc/passwd", filepath.Join(tmp, "link"))
	os.Mkdir(filepath.Join(tmp, "dir"), 0o700)

	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Date: time.Unix(1700000000, 0)}, "Subject: x\n\nx\n")
	if got, want := strings.Join(files(t, tmp), " "), "dir link young"; got != want {
		t.Errorf("INBOX tmp/ holds %q, want %q", got, want)
	}
	want := `maildir ` + root + `: folder "INBOX": removed 3 files older than 36 hours from tmp/, left there by interrupted deliveries`
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want [%q]", warnings, want)
	}
	// Sent has not been opened: its file stays until it is.
	if n := len(files(t, filepath.Join(sub, "tmp"))); n != 1 {
		t.Errorf("Sent tmp/ holds %d files before the folder is opened, want 1", n)
	}
	put(t, s, transfer.Message{Folder: "Sent", ID: "2", Date: time.Unix(1700000000, 0)}, "Subject: y\n\ny\n")
	if n := len(files(t, filepath.Join(sub, "tmp"))); n != 0 || len(warnings) != 2 || !strings.Contains(warnings[1], `folder "Sent": removed 1 file`) {
		t.Errorf("after opening Sent: %d files in its tmp/, warnings %q", n, warnings)
	}
	// Once per folder: a file left later in this run is not judged again.
	os.WriteFile(filepath.Join(tmp, "later"), nil, 0o600)
	put(t, s, transfer.Message{Folder: "INBOX", ID: "3", Date: time.Unix(1700000000, 0)}, "Subject: z\n\nz\n")
	if len(warnings) != 2 {
		t.Errorf("a second sweep of INBOX: %q", warnings)
	}
}

// With the real clock, nothing written just now is old, whatever its
// mtime: the ctime says it is fresh (a delivery sets the message date as
// mtime before its rename).
func TestFreshTmpFileWithOldMtimeStays(t *testing.T) {
	var warnings []string
	s, root := newSink(t, Options{Warn: func(w string) { warnings = append(warnings, w) }})
	p := filepath.Join(root, "tmp", "1600000000.M1P1.host")
	os.WriteFile(p, []byte("Subject: in flight"), 0o600)
	old := time.Unix(1600000000, 0)
	os.Chtimes(p, old, old)
	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Date: time.Unix(1700000000, 0)}, "Subject: x\n\nx\n")
	if _, err := os.Stat(p); err != nil || len(warnings) != 0 {
		t.Errorf("a fresh file with an old mtime was removed (%v) or reported: %q", err, warnings)
	}
}
