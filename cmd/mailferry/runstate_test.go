package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listedJobs runs `state list --json` with args and returns its rows by job.
func listedJobs(t *testing.T, env []string, args ...string) map[string]stateRow {
	t.Helper()
	r := mailferryIn(t, env, append([]string{"state", "list", "--json"}, args...)...)
	expectCode(t, r, 0)
	rows := map[string]stateRow{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var row stateRow
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("state list line %q: %v", l, err)
		}
		rows[row.Job] = row
	}
	return rows
}

// jobLocks are the job lock files in the locks/ of state directory dir.
func jobLocks(t *testing.T, dir string) []string {
	t.Helper()
	locks, err := filepath.Glob(filepath.Join(dir, "locks", "job-*.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return locks
}

// envValue is the value of name in env.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestRunStateDirHoldsTheJobLocks: two runs of one jobs file with one
// --state-dir, the first still copying a stalled job: the second leaves
// that job to the first (exit 1 for it), runs the others, and every lock
// and index entry is in the state directory, none in $XDG_STATE_HOME.
// `state list` then shows the jobs by name.
func TestRunStateDirHoldsTheJobLocks(t *testing.T) {
	const n = 40
	_, ca, proxy := stallingIMAP(t, n)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	local := writeFile(t, dir, "local.mbox", "From a@example.com Mon Jan  1 00:00:00 2024\nSubject: local\nMessage-ID: <local@example.com>\n\nbody\n\n")
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  ca-file: %s
  connections: 1
  timeout: 3s
jobs:
  - name: local
    source: mbox:%s
    destination: maildir:%s/local
  - name: alice
    source: imaps://alice%%40example.com@%s
    destination: maildir:%s/alice
    source-password-env: ALICE_PW
`, ca, local, dir, proxy.Addr(), dir))
	env := testEnv(t, []string{"ALICE_PW=s3cret"})

	first := startMailferry(t, env, "run", jobsFile, "--state-dir", stateDir)
	waitFor(t, 20*time.Second, "the stall", func() bool { return proxy.Fired() == 1 })
	second := mailferryIn(t, env, "run", jobsFile, "--state-dir", stateDir)
	if !first.running() {
		t.Fatalf("the first run ended before the second finished, so this proves nothing:\n%s", first.stderr.String())
	}
	expectCode(t, second, exitFailed)
	want := fmt.Sprintf(`[alice] mailferry: job "alice" is being run by another mailferry run; it is left to that run: lock file %s/locks/job-`, stateDir)
	if !strings.Contains(second.stderr, want) || !strings.Contains(second.stderr, fmt.Sprintf("(held by process %d)", first.cmd.Process.Pid)) {
		t.Errorf("the second run's stderr lacks %q and the first run's process:\n%s", want, second)
	}
	for _, want := range []string{"job local: done: copied 0 messages", "job alice: failed (exit 1)", "total: 2 jobs, 1 done, 1 not done"} {
		if !strings.Contains(second.stdout, want) {
			t.Errorf("the second run's stdout lacks %q:\n%s", want, second)
		}
	}

	r := first.wait(t, 60*time.Second)
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stdout, fmt.Sprintf("job alice: done: copied %d messages", n)) {
		t.Errorf("the first run did not finish alice:\n%s", r)
	}
	if got := len(messageFiles(t, filepath.Join(dir, "alice"))); got != n {
		t.Errorf("alice's backup holds %d messages, want %d", got, n)
	}
	if locks := jobLocks(t, stateDir); len(locks) != 2 {
		t.Errorf("job locks in --state-dir: %q, want one per job", locks)
	}
	xdg := filepath.Join(envValue(env, "XDG_STATE_HOME"), "mailferry")
	if _, err := os.Stat(xdg); !os.IsNotExist(err) {
		t.Errorf("runs with --state-dir wrote into %s: %v", xdg, err)
	}

	rows := listedJobs(t, env, "--state-dir", stateDir)
	for job, state := range map[string]string{"local": filepath.Join(dir, "local", "mailferry.state"), "alice": filepath.Join(dir, "alice", "mailferry.state")} {
		row, ok := rows[job]
		if !ok || row.State != state || row.ExitCode == nil || *row.ExitCode != 0 || row.Missing || row.Size == 0 {
			t.Errorf("state list row of %s: %+v, want state %s, exit code 0", job, row, state)
		}
	}
	if len(rows) != 2 {
		t.Errorf("state list: %+v, want the 2 jobs", rows)
	}
	r = mailferryIn(t, env, "state", "list")
	expectCode(t, r, 0)
	if want := "no jobs have run with the state directory " + xdg + "\n"; r.stdout != want {
		t.Errorf("state list without --state-dir: %q, want %q", r.stdout, want)
	}
}

// TestRunStateDirFromTheJobsFile: state-dir: in defaults: and in a job
// put each job's lock and index entry there; run --state-dir puts every
// job's in its own, whatever the file says.
func TestRunStateDirFromTheJobsFile(t *testing.T) {
	dir := t.TempDir()
	shared, own, flag := filepath.Join(dir, "shared"), filepath.Join(dir, "own"), filepath.Join(dir, "flag")
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  state-dir: %s\njobs:\n", shared)
	for i, name := range []string{"alice", "bob"} {
		src := writeFile(t, dir, name+".mbox", fmt.Sprintf("From a@example.com Mon Jan  1 00:00:00 2024\nSubject: %s\nMessage-ID: <%d@example.com>\n\nbody\n\n", name, i))
		fmt.Fprintf(&b, "  - name: %s\n    source: mbox:%s\n    destination: maildir:%s\n", name, src, filepath.Join(dir, "out-"+name))
	}
	fmt.Fprintf(&b, "    state-dir: %s\n", own) // bob's own
	jobsFile := writeFile(t, dir, "jobs.yaml", b.String())
	env := testEnv(t, nil)

	r := mailferryIn(t, env, "run", jobsFile)
	expectCode(t, r, 0)
	for stateDir, job := range map[string]string{shared: "alice", own: "bob"} {
		if locks := jobLocks(t, stateDir); len(locks) != 1 {
			t.Errorf("job locks in %s: %q, want %s's", stateDir, locks, job)
		}
		rows := listedJobs(t, env, "--state-dir", stateDir)
		if _, ok := rows[job]; !ok || len(rows) != 1 {
			t.Errorf("state list --state-dir %s: %+v, want only %s", stateDir, rows, job)
		}
	}

	r = mailferryIn(t, env, "run", jobsFile, "--state-dir", flag)
	expectCode(t, r, 0)
	if locks := jobLocks(t, flag); len(locks) != 2 {
		t.Errorf("job locks in run --state-dir: %q, want both jobs'", locks)
	}
	rows := listedJobs(t, env, "--state-dir", flag)
	if _, ok := rows["alice"]; !ok || len(rows) != 2 {
		t.Errorf("state list --state-dir %s: %+v, want alice and bob", flag, rows)
	}
	if _, err := os.Stat(filepath.Join(envValue(env, "XDG_STATE_HOME"), "mailferry")); !os.IsNotExist(err) {
		t.Errorf("a run whose every job has a state directory wrote into $XDG_STATE_HOME: %v", err)
	}
}
