package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/transfer"
)

func TestFolderTable(t *testing.T) {
	var b bytes.Buffer
	writeFolderTable(&b, []transfer.FolderSummary{
		{Folder: "INBOX", Dest: "INBOX", Copied: 15, Bytes: 11366},
		{Folder: "Entwürfe\x1b", Dest: "Drafts", Skipped: 2, Filtered: 1, Failed: 3, Bytes: 0},
	})
	want := "" +
		"FOLDER        DESTINATION  COPIED  SKIPPED  FILTERED  FAILED        SIZE\n" +
		"INBOX         INBOX            15        0         0       0    11.1 KiB\n" +
		"Entwürfe\\x1b  Drafts            0        2         1       3         0 B\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestFolderTableRows(t *testing.T) {
	ok := []transfer.FolderSummary{{Folder: "INBOX", Copied: 1}, {Folder: "Sent", Copied: 2}}
	bad := []transfer.FolderSummary{{Folder: "INBOX", Copied: 1}, {Folder: "Sent", Failed: 2}}
	for _, c := range []struct {
		name    string
		folders []transfer.FolderSummary
		quiet   bool
		want    []string
	}{
		{"several folders", ok, false, []string{"INBOX", "Sent"}},
		{"one folder: the summary line says it", ok[:1], false, nil},
		{"one folder that failed", bad[1:], false, []string{"Sent"}},
		{"-q and all is well: silent", ok, true, nil},
		{"-q and a failure: the folders that failed", bad, true, []string{"Sent"}},
	} {
		var got []string
		for _, f := range folderTableRows(c.folders, c.quiet) {
			got = append(got, f.Folder)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: rows %v, want %v", c.name, got, c.want)
		}
	}
}

// A copy ends with its table on stdout, writes --report and appends to
// --log-file; a quiet run that goes well prints nothing but still logs.
func TestCopyReportAndLog(t *testing.T) {
	src, msgs := smallMaildir(t) // INBOX 5 × 300 B, Sent 3 × 500 B, Archive/2019 2 × 200 B
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst")
	report, logFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "mailferry.log")
	args := []string{"copy", "maildir:" + src, "maildir:" + dst, "--max-size", "400", "--map", "Archive=Old",
		"--report", report, "--log-file", logFile, "--job-name", "alice"}
	r := mailferry(t, nil, args...)
	expectCode(t, r, 0)
	table := regexp.MustCompile(`(?m)^FOLDER +DESTINATION +COPIED +SKIPPED +FILTERED +FAILED +SIZE\n` +
		`Archive/2019 +Old/2019 +2 +0 +0 +0 +\S+ B\n` +
		`INBOX +INBOX +5 +0 +0 +0 +\S+ KiB\n` +
		`Sent +Sent +0 +0 +3 +0 +0 B\n` +
		`copied 7 messages`)
	if !table.MatchString(r.stdout) {
		t.Errorf("no per-folder table before the summary:\n%s", r)
	}
	rep := readReport(t, report)
	if rep.Job != "alice" || rep.Source != "maildir:"+src || rep.Destination != "maildir:"+dst || rep.ExitCode != 0 || rep.Error != "" {
		t.Errorf("report header %+v", rep)
	}
	if s := rep.Summary; s.Copied != len(msgs)-3 || s.Filtered != 3 || s.Skipped != 0 || s.Failed != 0 {
		t.Errorf("report summary %+v", s)
	}
	wantFolders := []reportFolder{
		{Folder: "Archive/2019", Dest: "Old/2019", Copied: 2, Bytes: rep.Folders[0].Bytes},
		{Folder: "INBOX", Dest: "INBOX", Copied: 5, Bytes: rep.Folders[1].Bytes},
		{Folder: "Sent", Dest: "Sent", Filtered: 3},
	}
	if len(rep.Folders) != 3 || rep.Folders[0] != wantFolders[0] || rep.Folders[1] != wantFolders[1] || rep.Folders[2] != wantFolders[2] {
		t.Errorf("report folders %+v, want %+v", rep.Folders, wantFolders)
	}
	if rep.Folders[0].Bytes+rep.Folders[1].Bytes != rep.Summary.Bytes || rep.Folders[1].Bytes < 5*300 {
		t.Errorf("folder bytes %+v do not add up to %d", rep.Folders, rep.Summary.Bytes)
	}
	if rep.Ended.Before(rep.Started) || time.Since(rep.Started) > time.Minute {
		t.Errorf("report times %v … %v", rep.Started, rep.Ended)
	}

	// A quiet re-run: nothing on the terminal, and the log gets a second
	// run, with what it skipped.
	r = mailferry(t, nil, append(args, "-q")...)
	expectCode(t, r, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("-q printed something:\n%s", r)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	stamp := regexp.MustCompile(`(?m)^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
	if n := len(stamp.FindAllString(log, -1)); n != strings.Count(log, "\n") {
		t.Errorf("%d of %d log lines start with a timestamp:\n%s", n, strings.Count(log, "\n"), log)
	}
	for _, want := range []string{
		`level=INFO msg=start job=alice source=maildir:` + src,
		`level=INFO msg=folder job=alice folder=INBOX dest=INBOX copied=5 skipped=0 filtered=0 failed=0 bytes=`,
		`level=INFO msg=folder job=alice folder=INBOX dest=INBOX copied=0 skipped=5 filtered=0 failed=0 bytes=0`,
		`level=INFO msg=summary job=alice copied=7 skipped=0 filtered=3 failed=0 bytes=`,
		`level=INFO msg=summary job=alice copied=0 skipped=7 filtered=3 failed=0 bytes=0`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "msg=start"); n != 2 {
		t.Errorf("%d runs in the log, want 2 (it is appended to)", n)
	}
}

// A folder that fails: the quiet run prints its row and the failure, the
// JSON log and the report name it, and the exit code is 3.
func TestCopyReportAndLogOfAFailure(t *testing.T) {
	src, _ := smallMaildir(t)
	noCur := filepath.Join(src, ".NoCur")
	if err := os.MkdirAll(filepath.Join(noCur, "new"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noCur, "new", "1700000000.M1P1.host"), []byte("Subject: lost?\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	report, logFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "mailferry.log")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(dir, "dst"), "-q", "--json", "--report", report, "--log-file", logFile)
	expectCode(t, r, exitPartial)
	var folderLines []jsonFolderSummary
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var f jsonFolderSummary
		if json.Unmarshal([]byte(l), &f) == nil && f.Type == "folder-summary" {
			folderLines = append(folderLines, f)
		}
	}
	if len(folderLines) != 4 || folderLines[1].reportFolder != (reportFolder{Folder: "INBOX", Dest: "INBOX", Copied: 5, Bytes: folderLines[1].Bytes}) ||
		folderLines[2].reportFolder != (reportFolder{Folder: "NoCur", Dest: "NoCur", Failed: 1}) {
		t.Errorf("folder-summary lines %+v:\n%s", folderLines, r)
	}
	if s := lastSummary(t, r.stdout); s.Failed != 1 || s.Copied != 10 {
		t.Errorf("summary %+v", s)
	}

	rep := readReport(t, report)
	if rep.ExitCode != exitPartial || !strings.Contains(rep.Error, "failed (listed above)") {
		t.Errorf("report outcome %d %q", rep.ExitCode, rep.Error)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Folder != "NoCur" || !strings.Contains(rep.Failures[0].Error, "has new/ but no cur/") {
		t.Errorf("report failures %+v", rep.Failures)
	}
	derived := "maildir:" + src + " → maildir:" + filepath.Join(dir, "dst")
	if rep.Job != derived {
		t.Errorf("job %q, want %q", rep.Job, derived)
	}

	// --json makes the log JSON lines, with slog's time and level.
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, rec["time"].(string)); err != nil || rec["job"] != derived {
			t.Errorf("record without time or job: %v", rec)
		}
		records = append(records, rec)
	}
	var failed, summary map[string]any
	for _, rec := range records {
		switch rec["msg"] {
		case "failed":
			failed = rec
		case "summary":
			summary = rec
		}
	}
	if failed == nil || failed["level"] != "ERROR" || failed["folder"] != "NoCur" || !strings.Contains(failed["error"].(string), "no cur/") {
		t.Errorf("failure record %v", failed)
	}
	if summary == nil || summary["level"] != "ERROR" || summary["failed"] != 1.0 || summary["copied"] != 10.0 || summary["exit_code"] != 3.0 {
		t.Errorf("summary record %v", summary)
	}

	// Without --json and with -q: the row of the folder that failed.
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(dir, "dst2"), "-q")
	expectCode(t, r, exitPartial)
	if !regexp.MustCompile(`^FOLDER +DESTINATION +COPIED +SKIPPED +FILTERED +FAILED +SIZE\nNoCur +NoCur +0 +0 +0 +1 +0 B\n$`).MatchString(r.stdout) {
		t.Errorf("-q with a failure: want only the failed folder's row on stdout:\n%s", r)
	}
}

// A report or log that cannot be written is refused before the run.
func TestReportAndLogPathsCheckedFirst(t *testing.T) {
	src, _ := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "dst")
	missing := filepath.Join(t.TempDir(), "no", "such")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--report", filepath.Join(missing, "r.json"))
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--report "+filepath.Join(missing, "r.json")+": directory "+missing+" does not exist") {
		t.Errorf("stderr:\n%s", r)
	}
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--log-file", filepath.Join(missing, "log"))
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--log-file "+filepath.Join(missing, "log")+": open") {
		t.Errorf("stderr:\n%s", r)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("the copy ran (%v)", err)
	}
}

func readReport(t *testing.T, path string) jobReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r jobReport
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("report %s: %v\n%s", path, err, b)
	}
	return r
}

// Into Dovecot, which refuses a message larger than it takes: the report,
// the metrics and the log carry the same per-folder counts, and the
// server's answer.
func TestDovecotReportMetricsAndLog(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}, MaxMailSize: "2k"})
	var msgs []testMessage
	for i := range 5 {
		size := 400
		if i == 3 {
			size = 6000 // refused by Dovecot
		}
		msgs = append(msgs, message("INBOX", i, size))
	}
	for i := 5; i < 9; i++ {
		size := 400
		if i == 8 {
			size = 30000 // left out by --max-size
		}
		msgs = append(msgs, message("Archive", i, size))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	dir := t.TempDir()
	report, prom, logFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "mailferry.prom"), filepath.Join(dir, "mailferry.log")
	r := copyIntoDovecot(t, s, "maildir:"+src, "--max-size", "20K", "--map", "Archive=Old/Archive", "--job-name", "carol-migration",
		"--report", report, "--metrics-file", prom, "--log-file", logFile)
	expectCode(t, r, exitPartial)
	if got := storedMessages(t, s); got != 7 {
		t.Errorf("Dovecot holds %d messages, want 7", got)
	}
	rep := readReport(t, report)
	if len(rep.Folders) != 2 ||
		rep.Folders[0] != (reportFolder{Folder: "Archive", Dest: "Old/Archive", Copied: 3, Filtered: 1, Bytes: rep.Folders[0].Bytes}) ||
		rep.Folders[1] != (reportFolder{Folder: "INBOX", Dest: "INBOX", Copied: 4, Failed: 1, Bytes: rep.Folders[1].Bytes}) {
		t.Errorf("report folders %+v", rep.Folders)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Folder != "INBOX" || rep.Failures[0].Subject != "message 3 in INBOX" ||
		!strings.Contains(rep.Failures[0].Error, "NO [LIMIT] Mail size is larger") {
		t.Errorf("report failures %+v", rep.Failures)
	}
	if rep.ExitCode != exitPartial || rep.Destination != "imap://carol@"+s.IMAPAddr {
		t.Errorf("report %+v", rep)
	}
	expectJob(t, metricsFileValues(t, prom), "carol-migration", map[string]float64{
		"mailferry_messages_copied": 7, "mailferry_messages_failed": 1, "mailferry_messages_filtered": 1,
		"mailferry_messages_skipped": 0, "mailferry_exit_code": exitPartial, lastSuccessMetric: 0,
		"mailferry_bytes_copied": float64(rep.Summary.Bytes),
	})
	b, _ := os.ReadFile(logFile)
	if !regexp.MustCompile(`(?m)^time=\S+ level=ERROR msg=failed job=carol-migration folder=INBOX id=\S+ dest=INBOX subject="message 3 in INBOX" error=".*NO \[LIMIT\]`).Match(b) {
		t.Errorf("the log lacks the refusal:\n%s", b)
	}
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=folder job=carol-migration folder=Archive dest=Old/Archive copied=3 skipped=0 filtered=1 failed=0 bytes=\d+$`).Match(b) {
		t.Errorf("the log lacks the Archive folder's counts:\n%s", b)
	}
}
