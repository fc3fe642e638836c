package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

func TestJobFileName(t *testing.T) {
	for job, want := range map[string]string{
		"alice-backup":                   "alice-backup",
		"bob@example.com":                "bob@example.com",
		"alice backup":                   "alice_backup-",
		"../etc/passwd":                  "_etc_passwd-",
		".hidden":                        "hidden-",
		"imaps://a@h:993 → maildir:/b/a": "imaps_a@h_993_maildir_b_a-",
	} {
		got := jobFileName(job)
		if got != want && !(strings.HasSuffix(want, "-") && strings.HasPrefix(got, want) && len(got) == len(want)+16) {
			t.Errorf("jobFileName(%q) = %q, want %q…", job, got, want)
		}
		if strings.ContainsAny(got, "/ ") || strings.HasPrefix(got, ".") {
			t.Errorf("jobFileName(%q) = %q is not a plain file name", job, got)
		}
	}
	if jobFileName("a b") == jobFileName("a_b") {
		t.Error("two job names share a file")
	}
}

// skippedReasons counts the --json skipped events by reason.
func skippedReasons(t *testing.T, stdout string) map[string]int {
	t.Helper()
	out := make(map[string]int)
	for _, l := range strings.Split(stdout, "\n") {
		var e jsonEvent
		if json.Unmarshal([]byte(l), &e) == nil && e.Type == "skipped" {
			out[e.Reason] += e.Count
		}
	}
	return out
}

// An IMAP destination's state file is named after the job; the files
// earlier versions named by a hash, and the default name's file when
// --job-name is given later, are taken over; --state-dir moves the state
// files and the locks.
func TestStateFilesNamedAfterJobs(t *testing.T) {
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "alice", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src, msgs := smallMaildir(t)
	env := testEnv(t, []string{"MAILFERRY_DEST_PASSWORD=pw"})
	xdg := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			xdg = filepath.Join(v, "mailferry")
		}
	}
	from, to := "maildir:"+src, "imap://alice@"+srv.Addr()+"?tls=none"
	derived := from + " → " + to
	derivedFile := filepath.Join(xdg, jobFileName(derived)+".state")

	r := mailferryIn(t, env, "copy", from, to, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != len(msgs) {
		t.Fatalf("copied %d, want %d\n%s", s.Copied, len(msgs), r)
	}
	if _, err := os.Stat(derivedFile); err != nil {
		t.Fatalf("no state file named after the job: %v", err)
	}

	// --job-name later: the default name's file becomes alice.state.
	r = mailferryIn(t, env, "copy", from, to, "--json", "--job-name", "alice")
	expectCode(t, r, 0)
	if got := skippedReasons(t, r.stdout); got["already copied"] != len(msgs) {
		t.Errorf("the journal was not taken over: skipped %v\n%s", got, r)
	}
	if _, err := os.Stat(filepath.Join(xdg, "alice.state")); err != nil {
		t.Errorf("no alice.state: %v", err)
	}
	if _, err := os.Stat(derivedFile); !os.IsNotExist(err) {
		t.Errorf("the default name's file is still there (%v)", err)
	}

	// A state file named as earlier versions named it (a hash of source
	// and destination) is taken over by the job without --job-name.
	sum := sha256.Sum256([]byte(from + "\n" + to))
	legacy := filepath.Join(xdg, hex.EncodeToString(sum[:8])+".state")
	if err := os.Rename(filepath.Join(xdg, "alice.state"), legacy); err != nil {
		t.Fatal(err)
	}
	r = mailferryIn(t, env, "copy", from, to, "--json")
	expectCode(t, r, 0)
	if got := skippedReasons(t, r.stdout); got["already copied"] != len(msgs) {
		t.Errorf("the old state file was not read: skipped %v\n%s", got, r)
	}
	if _, err := os.Stat(derivedFile); err != nil {
		t.Errorf("the old state file was not renamed after the job: %v", err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("the old name is still there (%v)", err)
	}

	// --state-dir: the state file and the IMAP lock go there.
	dir := t.TempDir()
	r = mailferryIn(t, env, "copy", from, to, "--json", "--job-name", "bob", "--state-dir", dir)
	expectCode(t, r, 0)
	if got := skippedReasons(t, r.stdout); got["already at destination"] != len(msgs) {
		t.Errorf("a new state file: want every message found at the destination, skipped %v", got)
	}
	locks, _ := filepath.Glob(filepath.Join(dir, "locks", "imap-*.lock"))
	if _, err := os.Stat(filepath.Join(dir, "bob.state")); err != nil || len(locks) != 1 {
		t.Errorf("--state-dir: bob.state %v, locks %v", err, locks)
	}
	if _, err := os.Stat(filepath.Join(xdg, "bob.state")); !os.IsNotExist(err) {
		t.Errorf("bob.state in the default directory too (%v)", err)
	}

	// state list shows each directory's jobs.
	r = mailferryIn(t, env, "state", "list", "--state-dir", dir)
	expectCode(t, r, 0)
	if !regexp.MustCompile(`(?m)^JOB +STATE FILE +SIZE +LAST RUN +EXIT\nbob +` + regexp.QuoteMeta(filepath.Join(dir, "bob.state")) + ` +[0-9.]+ (B|KiB) +\d{4}-\d\d-\d\d \d\d:\d\d +0\n$`).MatchString(r.stdout) {
		t.Errorf("state list --state-dir:\n%s", r)
	}
	r = mailferryIn(t, env, "state", "list")
	expectCode(t, r, 0)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^alice +` + regexp.QuoteMeta(filepath.Join(xdg, "alice.state")) + ` +missing +`),
		regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(derived) + ` +` + regexp.QuoteMeta(derivedFile) + ` +[0-9.]+ (B|KiB) +\S+ \S+ +0$`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("state list lacks %s:\n%s", want, r)
		}
	}
}

// state forget deletes a job's state file, wherever it is, unless a run
// holds it; the next run copies nothing twice.
func TestStateForget(t *testing.T) {
	src, msgs := smallMaildir(t)
	env := testEnv(t, nil)
	dst := filepath.Join(t.TempDir(), "dst")
	r := mailferryIn(t, env, "copy", "maildir:"+src, "maildir:"+dst, "-q", "--job-name", "carol")
	expectCode(t, r, 0)
	state := filepath.Join(dst, "mailferry.state")
	// A state file in the state directory that no job names.
	stray := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			stray = filepath.Join(v, "mailferry", "0123456789abcdef.state")
		}
	}
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mailferryIn(t, env, "state", "list", "--json")
	expectCode(t, r, 0)
	var rows []stateRow
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row stateRow
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("state list --json: %v\n%s", err, r)
		}
		rows = append(rows, row)
	}
	st, _ := os.Stat(state)
	if len(rows) != 2 || rows[0].Job != "carol" || rows[0].State != state || rows[0].Size != st.Size() || rows[0].ExitCode == nil || *rows[0].ExitCode != 0 ||
		rows[0].Destination != "maildir:"+dst || rows[1].Job != "?" || rows[1].State != stray || rows[1].Size != 1 {
		t.Errorf("state list --json:\n%s", r.stdout)
	}

	// A run holds the state file: forget refuses.
	j, err := transfer.OpenJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	r = mailferryIn(t, env, "state", "forget", "carol")
	j.Close()
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "state file "+state+" is in use by a mailferry run") {
		t.Errorf("stderr:\n%s", r)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("the state file went while in use: %v", err)
	}

	r = mailferryIn(t, env, "state", "forget", "dave")
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `no job "dave"`) || !strings.Contains(r.stderr, `its jobs are "carol"`) {
		t.Errorf("stderr:\n%s", r)
	}

	r = mailferryIn(t, env, "state", "forget", "carol")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, `forgot job "carol": removed its state file `+state) {
		t.Errorf("stdout:\n%s", r)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the state file is still there (%v)", err)
	}
	r = mailferryIn(t, env, "state", "list")
	if strings.Contains(r.stdout, "carol") {
		t.Errorf("carol still listed:\n%s", r)
	}
	r = mailferryIn(t, env, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--job-name", "carol")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 || s.Skipped != len(msgs) {
		t.Errorf("after forget: %+v, want nothing copied twice", s)
	}
}

// A damaged file in the job index is passed over with a warning naming
// it: the other jobs are still listed, and can still be forgotten.
func TestStateListPassesOverADamagedEntry(t *testing.T) {
	src, _ := smallMaildir(t)
	env := testEnv(t, nil)
	dst := filepath.Join(t.TempDir(), "dst")
	expectCode(t, mailferryIn(t, env, "copy", "maildir:"+src, "maildir:"+dst, "-q", "--job-name", "erin"), 0)
	index := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			index = filepath.Join(v, "mailferry", "jobs")
		}
	}
	damaged := filepath.Join(index, "torn.json")
	nameless := filepath.Join(index, "nameless.json")
	if err := os.WriteFile(damaged, []byte(`{"job": "fr`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nameless, []byte(`{"job": "", "state": "/x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mailferryIn(t, env, "state", "list")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "erin") {
		t.Errorf("erin not listed:\n%s", r)
	}
	for _, want := range []string{
		"warning: " + damaged + " is not a job entry of mailferry's, passed over: unexpected end of JSON input",
		"warning: " + nameless + " is not a job entry of mailferry's (it names no job), passed over",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	r = mailferryIn(t, env, "state", "forget", "erin")
	expectCode(t, r, 0)
}
