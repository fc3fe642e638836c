package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/mboxmeta"
	"github.com/mailferry/mailferry/transfer"
)

// These tests run the mailferry binary as a user would: built once in
// TestMain, started as a subprocess, judged by its exit code, its output
// and what it leaves on disk.

var binary string

func TestMain(m *testing.M) {
	runAsTokenHelper()
	dir, err := os.MkdirTemp("", "mailferry-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Runs record their jobs in the state directory: the tests' (and the
	// binaries they start) go to one of their own, never to the user's.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	binary = filepath.Join(dir, "mailferry")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building mailferry: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// mailferry runs the binary with args in an environment of its own (HOME
// and XDG_STATE_HOME in a temporary directory, no password variables).
func mailferry(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return mailferryIn(t, testEnv(t, env), args...)
}

// mailferryIn runs the binary with exactly the environment env, so runs
// can share a HOME.
func mailferryIn(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runProgram(t, env, binary, args...)
}

// runProgram runs prog (the binary, or a program that runs it) with
// exactly the environment env.
func runProgram(t *testing.T, env []string, prog string, args ...string) result {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %q: %v", filepath.Base(prog), args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func testEnv(t *testing.T, extra []string) []string {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state"), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir()}
	return append(env, extra...)
}

func (r result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

func expectCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit code %d, got %s", code, r)
	}
}

// testMessage is one message for a hand-made Maildir.
type testMessage struct {
	folder string
	flags  string // Maildir info letters, e.g. "S" or "FS"
	body   string
}

func message(folder string, i int, size int) testMessage {
	body := fmt.Sprintf("From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: message %d in %s\n"+
		"Message-ID: <%d.%s@test.example>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\n", i, folder, i, strings.ReplaceAll(folder, "/", "."))
	line := fmt.Sprintf("line of message %d\n", i)
	for len(body) < size {
		body += line
	}
	return testMessage{folder: folder, flags: "S", body: body}
}

// writeMaildir builds a Dovecot-style Maildir++ at root without using
// mailferry's own code: INBOX at the root, other folders as .Name dirs.
func writeMaildir(t *testing.T, root string, msgs []testMessage) {
	t.Helper()
	for i, m := range msgs {
		dir := root
		if m.folder != "INBOX" {
			dir = filepath.Join(root, "."+strings.ReplaceAll(m.folder, "/", "."))
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if dir != root {
			if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		name := fmt.Sprintf("%d.M%dP1.test,S=%d:2,%s", 1700000000+i, i, len(m.body), m.flags)
		path := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(path, []byte(m.body), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime := time.Unix(1700000000+int64(i), 0)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func smallMaildir(t *testing.T) (string, []testMessage) {
	var msgs []testMessage
	for i := 0; i < 5; i++ {
		msgs = append(msgs, message("INBOX", i, 300))
	}
	for i := 5; i < 8; i++ {
		msgs = append(msgs, message("Sent", i, 500))
	}
	for i := 8; i < 10; i++ {
		msgs = append(msgs, message("Archive/2019", i, 200))
	}
	root := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, root, msgs)
	return root, msgs
}

// messageFiles returns the contents of every message file in a Maildir
// tree (any cur/ or new/ directory), sorted.
func messageFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		parent := filepath.Base(filepath.Dir(p))
		if d.Type().IsRegular() && (parent == "cur" || parent == "new") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// tree records every path with its size and modification time, to prove
// that nothing changed.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if d.IsDir() {
			// A directory's mtime moves when a sink checks it can write
			// there (a probe file created and removed); what matters is
			// that no entry appears, vanishes or changes.
			out[p] = "dir"
			return nil
		}
		out[p] = fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return out
}

var summaryLine = regexp.MustCompile(`^\{"type":"summary","copied":(\d+),"skipped":(\d+),"failed":(\d+),"filtered":(\d+),"bytes":(\d+),"seconds":[0-9]+(\.[0-9]+)?(e-?[0-9]+)?\}$`)

// jsonSummary checks the last line of --json output and returns it parsed.
func lastSummary(t *testing.T, stdout string) jsonSummary {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !summaryLine.MatchString(last) {
		t.Fatalf("last line of --json output is not the summary: %q\nall output:\n%s", last, stdout)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not a JSON line: %q", l)
		}
	}
	var s jsonSummary
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHelp(t *testing.T) {
	r := mailferry(t, nil, "--help")
	expectCode(t, r, 0)
	for _, want := range []string{"copy", "folders", "demo", "imaps://USER@HOST", "Exit codes", "mailferry demo"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mailferry --help lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, args := range [][]string{{"copy", "--help"}, {"help", "copy"}, {"copy", "a", "b", "--help"}} {
		r = mailferry(t, nil, args...)
		expectCode(t, r, 0)
		for _, want := range []string{"--dry-run", "--source-password-file", "--include", "Examples:", "maildir:/backup/alice"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("mailferry %v lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	src, _ := smallMaildir(t)
	dst := "maildir:" + filepath.Join(t.TempDir(), "dst")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"copy", "imasp://alice@host", dst}, []string{`source endpoint "imasp://alice@host"`, "did you mean imaps?", "valid forms", "imaps://USER@HOST"}},
		{[]string{"copy", "maildir:" + src, "/backup/x"}, []string{`destination endpoint "/backup/x"`, "maildir:/backup/x or mbox:/backup/x"}},
		{[]string{"copy", "imaps://alice:secret@host", dst}, []string{"password in the URL is not accepted", "--source-password-file"}},
		{[]string{"copy", "maildir:" + src, "imaps://bob:pw@host"}, []string{"--dest-password-file", "MAILFERRY_DEST_PASSWORD"}},
		{[]string{"copy", "maildir:" + src}, []string{"exactly two endpoints"}},
		{[]string{"copy", "maildir:" + src, dst, "--bogus"}, []string{"unknown option --bogus", "mailferry copy --help"}},
		{[]string{"copy", "maildir:" + src, dst, "--since", "31.12.2023"}, []string{"--since", "YYYY-MM-DD"}},
		{[]string{"copy", "maildir:" + src, dst, "--since", "2024-01-02", "--before", "2024-01-01"}, []string{"not before"}},
		{[]string{"copy", "maildir:" + src, dst, "--map", "Sent"}, []string{"--map", "OLD=NEW"}},
		{[]string{"copy", "maildir:" + src, dst, "--include", "("}, []string{"--include", "not a regular expression"}},
		{[]string{"copy", "maildir:" + src, dst, "--max-size", "lots"}, []string{"--max-size", "not a size"}},
		{[]string{"copy", "maildir:" + src, dst, "--keep-days", "3"}, []string{"--keep-days", "--delete-source"}},
		{[]string{"copy", "maildir:" + src, dst, "--connections", "0"}, []string{"--connections"}},
		{[]string{"copy", "maildir:" + src, "pop3s://a@host"}, []string{"POP3 can only be read from"}},
		{[]string{"copy", "maildir:" + src, "maildir:" + src}, []string{"source and destination are the same"}},
		{[]string{"copy", "maildir:" + filepath.Join(src, "nope"), dst}, []string{"does not exist"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst}, []string{"no password for source imaps://alice@127.0.0.1:1", "--source-password-file", "MAILFERRY_SOURCE_PASSWORD"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst, "--source-password-file", "/nonexistent/pw"}, []string{"--source-password-file", "/nonexistent/pw"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst, "--source-password-file", "/dev/null"}, []string{"is empty"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst, "--source-password-command", "exit 3"}, []string{"--source-password-command", "failed"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst, "--source-password-command", "true", "--source-password-file", "/x"}, []string{"not both"}},
		{[]string{"copy", "imaps://alice@127.0.0.1:1", dst, "--ca-file", "/nonexistent/ca.pem"}, []string{"--ca-file"}},
		{[]string{"folders"}, []string{"exactly one ENDPOINT"}},
		{[]string{"folders", "mbox"}, []string{`source endpoint "mbox"`, "no scheme"}},
		{[]string{"folders", "maildir:" + src, "--probe"}, []string{"--probe works for imap"}},
		{[]string{"cpoy", "a", "b"}, []string{`unknown command "cpoy"`}},
		{[]string{"demo", "a", "b"}, []string{"at most one"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD="}, tt.args...)
			expectCode(t, r, exitUsage)
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r)
				}
			}
			if strings.Contains(r.stderr, "secret") || strings.Contains(r.stderr, ":pw@") {
				t.Errorf("a password from the command line was echoed:\n%s", r)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("panic:\n%s", r)
			}
		})
	}
}

func TestUsageErrorJSON(t *testing.T) {
	r := mailferry(t, nil, "copy", "nope", "maildir:/x", "--json")
	expectCode(t, r, exitUsage)
	s := lastSummary(t, r.stdout)
	if s.Copied != 0 || s.Failed != 0 {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(r.stdout, `"type":"error"`) {
		t.Errorf("no error line in JSON output:\n%s", r.stdout)
	}
}

func TestCopyMaildirAndRerun(t *testing.T) {
	src, msgs := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "dst")
	state := filepath.Join(t.TempDir(), "copy.state")
	// Options after the endpoints, as people type them.
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--state", state)
	expectCode(t, r, 0)
	s := lastSummary(t, r.stdout)
	if s.Copied != len(msgs) || s.Failed != 0 {
		t.Fatalf("first run: summary %+v, want %d copied\n%s", s, len(msgs), r)
	}
	var total int64
	want := make([]string, 0, len(msgs))
	for _, m := range msgs {
		total += int64(len(m.body))
		want = append(want, m.body)
	}
	sort.Strings(want)
	if s.Bytes != total {
		t.Errorf("summary bytes %d, want %d", s.Bytes, total)
	}
	got := messageFiles(t, dst)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("destination holds %d messages, not the %d source messages byte for byte", len(got), len(want))
	}
	for _, dir := range []string{".Sent", ".Archive.2019"} {
		if _, err := os.Stat(filepath.Join(dst, dir, "cur")); err != nil {
			t.Errorf("folder %s missing at the destination: %v", dir, err)
		}
	}

	// A re-run copies nothing, with the state file ...
	r = mailferry(t, nil, "--json", "copy", "maildir:"+src, "maildir:"+dst, "--state", state)
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 || s.Skipped != len(msgs) {
		t.Errorf("re-run with state: %+v, want 0 copied, %d skipped", s, len(msgs))
	}
	// ... and without it (the fingerprints of what is there).
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--state", filepath.Join(t.TempDir(), "fresh.state"))
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 {
		t.Errorf("re-run with a new state file copied %d messages again", s.Copied)
	}
	if n := len(messageFiles(t, dst)); n != len(msgs) {
		t.Errorf("destination holds %d messages after re-runs, want %d", n, len(msgs))
	}
}

func TestCopyTextOutputWithoutTerminal(t *testing.T) {
	src, msgs := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "dst")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--progress-interval", "1ns")
	expectCode(t, r, 0)
	if strings.Contains(r.stderr, "\r") || strings.Contains(r.stdout, "\r") {
		t.Errorf("output to a non-terminal contains carriage returns (a progress bar):\n%q", r.stderr)
	}
	if !strings.Contains(r.stderr, "progress: ") {
		t.Errorf("no plain progress lines on stderr:\n%s", r)
	}
	if want := fmt.Sprintf("copied %d messages", len(msgs)); !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r)
	}
	// -q: nothing at all when all is well.
	src2, _ := smallMaildir(t)
	r = mailferry(t, nil, "copy", "-q", "maildir:"+src2, "maildir:"+filepath.Join(t.TempDir(), "dst"), "--progress-interval", "1ns")
	expectCode(t, r, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("-q printed something on success:\n%s", r)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	src, msgs := smallMaildir(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state")}

	// A destination that does not exist yet is not created.
	missing := filepath.Join(t.TempDir(), "new-dst")
	before := tree(t, src)
	r := mailferry(t, env, "copy", "maildir:"+src, "maildir:"+missing, "--dry-run")
	expectCode(t, r, 0)
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("--dry-run created the destination %s", missing)
	}
	for _, want := range []string{"INBOX", "Sent", "Archive/2019", fmt.Sprintf("dry run: %d messages", len(msgs)), "nothing was written"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, r)
		}
	}

	// An existing destination and its state file are left as they are.
	dst := filepath.Join(t.TempDir(), "dst")
	writeMaildir(t, dst, msgs[:3])
	state := filepath.Join(home, "existing.state")
	r = mailferry(t, env, "copy", "maildir:"+src, "maildir:"+dst, "--state", state)
	expectCode(t, r, 0)
	src2, _ := smallMaildir(t)
	// The real run recorded its job in the job index; the dry run must
	// not touch it.
	beforeDst, beforeState, beforeXDG := tree(t, dst), tree(t, state), tree(t, filepath.Join(home, "state"))
	r = mailferry(t, env, "copy", "maildir:"+src2, "maildir:"+dst, "--state", state, "--dry-run", "--json", "--metrics-file", filepath.Join(home, "m.prom"))
	expectCode(t, r, 0)
	lastSummary(t, r.stdout)
	if after := tree(t, dst); fmt.Sprint(after) != fmt.Sprint(beforeDst) {
		t.Errorf("--dry-run changed the destination:\nbefore %v\nafter  %v", beforeDst, after)
	}
	if after := tree(t, state); fmt.Sprint(after) != fmt.Sprint(beforeState) {
		t.Errorf("--dry-run changed the state file")
	}
	if after := tree(t, src); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("--dry-run changed the source")
	}
	if after := tree(t, filepath.Join(home, "state")); fmt.Sprint(after) != fmt.Sprint(beforeXDG) {
		t.Errorf("--dry-run wrote under $XDG_STATE_HOME:\nbefore %v\nafter  %v", beforeXDG, after)
	}
	if _, err := os.Stat(filepath.Join(home, "m.prom")); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote the metrics file")
	}

	// An mbox file another program wrote gets no records beside it, and an
	// archive mailferry wrote, whose last file a killed run left bytes in
	// past its last commit, is not cut back: the dry run reads, and the
	// plan leaves those bytes out.
	mboxes := t.TempDir()
	foreign := filepath.Join(mboxes, "mutt.mbox")
	os.WriteFile(foreign, []byte("From a@example.org Sat Mar  9 17:04:05 2024\nSubject: theirs\n\nbody\n"), 0o600)
	archive := filepath.Join(mboxes, "archive")
	expectCode(t, mailferry(t, env, "copy", "maildir:"+src, "mbox:"+archive), 0)
	inbox := filepath.Join(archive, "INBOX")
	committed := filepath.Join(archive, ".mailferry.lock", "committed")
	rec, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	var table mboxmeta.Table
	if err := json.Unmarshal(rec, &table); err != nil || table.Files["INBOX"] == nil {
		t.Fatalf("%s: %v", rec, err)
	}
	table.Files["INBOX"].Open = true
	rec, _ = json.Marshal(table)
	os.WriteFile(committed, rec, 0o600)
	f, _ := os.OpenFile(inbox, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nSubject: cut sh")
	f.Close()
	beforeMbox := tree(t, mboxes)
	for _, dst := range []string{foreign, archive} {
		r = mailferry(t, env, "copy", "maildir:"+src2, "mbox:"+dst, "--dry-run")
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "nothing was written") {
			t.Errorf("dry run into %s:\n%s", dst, r)
		}
	}
	if !strings.Contains(r.stdout, "0 skipped") || !strings.Contains(r.stderr, "not read as mail") {
		t.Errorf("dry run into the archive with a torn tail:\n%s", r)
	}
	if after := tree(t, mboxes); fmt.Sprint(after) != fmt.Sprint(beforeMbox) {
		t.Errorf("--dry-run changed the mbox archives:\nbefore %v\nafter  %v", beforeMbox, after)
	}
}

func TestExitCodeFailed(t *testing.T) {
	src, _ := smallMaildir(t)
	// The destination's parent is a regular file: nothing can be written.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(blocker, "dst"), "--state", filepath.Join(t.TempDir(), "s"))
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, blocker) {
		t.Errorf("the error does not name the destination:\n%s", r)
	}
}

func TestExitCodeLocked(t *testing.T) {
	src, _ := smallMaildir(t)
	state := filepath.Join(t.TempDir(), "held.state")
	j, err := transfer.OpenJournal(state)
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	defer j.Close()
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "dst"), "--state", state)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "in use by another mailferry run") || !strings.Contains(r.stderr, state) {
		t.Errorf("no clear message about the locked state file:\n%s", r)
	}
}

func TestInterrupt(t *testing.T) {
	const n = 1000
	var msgs []testMessage
	for i := 0; i < n; i++ {
		msgs = append(msgs, message("INBOX", i, 4096))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	dst := filepath.Join(t.TempDir(), "dst")
	state := filepath.Join(t.TempDir(), "s.state")

	cmd := exec.Command(binary, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--state", state, "--connections", "1")
	cmd.Env = testEnv(t, nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	signalled := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !signalled && strings.Contains(sc.Text(), `"type":"copied"`) {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if !signalled {
		t.Fatalf("no message was copied before the end:\n%s\n%s", out.String(), stderr.String())
	}
	if code != exitInterrupted {
		t.Fatalf("exit code %d after SIGINT, want %d\n%s\n%s", code, exitInterrupted, lastLines(out.String(), 5), stderr.String())
	}
	first := lastSummary(t, out.String())
	if first.Copied == 0 || first.Copied >= n {
		t.Errorf("interrupted run copied %d of %d; the test needs a run stopped part-way", first.Copied, n)
	}
	if !strings.Contains(stderr.String(), "run the same command again") {
		t.Errorf("no advice after the interruption:\n%s", stderr.String())
	}

	// The re-run copies the rest: nothing lost, nothing twice.
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--state", state)
	expectCode(t, r, 0)
	second := lastSummary(t, r.stdout)
	if got := len(messageFiles(t, dst)); got != n {
		t.Errorf("destination holds %d messages after the re-run, want %d (first run %d, second %d)", got, n, first.Copied, second.Copied)
	}
	if first.Copied+second.Copied < n {
		t.Errorf("copied %d + %d < %d", first.Copied, second.Copied, n)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestSingleMboxFileFlattens(t *testing.T) {
	src, msgs := smallMaildir(t)
	file := filepath.Join(t.TempDir(), "all.mbox")
	r := mailferry(t, nil, "copy", "maildir:"+src, "mbox:"+file, "--json")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "single mbox file") {
		t.Errorf("no warning about merging folders into one file:\n%s", r)
	}
	if s := lastSummary(t, r.stdout); s.Copied != len(msgs) {
		t.Errorf("copied %d, want %d", s.Copied, len(msgs))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count("\n"+string(b), "\nFrom "); got != len(msgs) {
		t.Errorf("%s holds %d From_ lines, want %d", file, got, len(msgs))
	}
}

func TestFolders(t *testing.T) {
	src, msgs := smallMaildir(t)
	r := mailferry(t, nil, "folders", "maildir:"+src)
	expectCode(t, r, 0)
	for _, want := range []string{"INBOX", "Sent", "Archive/2019", "total (3 folders)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("folders output lacks %q:\n%s", want, r)
		}
	}
	r = mailferry(t, nil, "folders", "--json", "maildir:"+src)
	expectCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var total struct {
		Type     string
		Folders  int
		Messages int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &total); err != nil || total.Type != "total" || total.Folders != 3 || total.Messages != len(msgs) {
		t.Errorf("folders --json total = %+v, %v\n%s", total, err, r)
	}
}
