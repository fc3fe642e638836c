package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// foldersOf is a report's folders by source folder.
func foldersOf(r jobReport) map[string]reportFolder {
	out := map[string]reportFolder{}
	for _, f := range r.Folders {
		out[f.Folder] = f
	}
	return out
}

// TestRunRecordsEachJob: what a run leaves for people and monitoring,
// from jobs file keys. Two jobs, each with its own report:, get a report
// each with their own per-folder counts; one log-file: and one
// metrics-push: in defaults: take both jobs' records, each naming its job.
func TestRunRecordsEachJob(t *testing.T) {
	g := startPushgateway(t)
	src, msgs := smallMaildir(t) // INBOX 5 of 300 bytes, Sent 3 of 500, Archive/2019 2 of 200
	dir := t.TempDir()
	logFile := filepath.Join(dir, "run.log")
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  log-file: %s
  metrics-push: %s
jobs:
  - name: alice
    source: maildir:%s
    destination: maildir:%s/alice
    report: %s/alice.json
  - name: bob
    source: maildir:%s
    destination: maildir:%s/bob
    report: %s/bob.json
    max-size: 400
    map: ['Sent=Outbox']
`, logFile, g.url, src, dir, dir, src, dir, dir))
	env := testEnv(t, nil)
	r := mailferryIn(t, env, "run", jobsFile, "--parallel", "2", "-q")
	expectCode(t, r, 0)

	type counts struct{ copied, skipped, filtered int }
	check := func(job string, want map[string]counts, copied, skipped, filtered int) {
		t.Helper()
		rep := readReport(t, filepath.Join(dir, job+".json"))
		if rep.Job != job || rep.ExitCode != 0 || rep.Source != "maildir:"+src || rep.Destination != "maildir:"+filepath.Join(dir, job) {
			t.Errorf("%s's report names job %q, exit code %d, %s → %s", job, rep.Job, rep.ExitCode, rep.Source, rep.Destination)
		}
		if s := rep.Summary; s.Copied != copied || s.Skipped != skipped || s.Filtered != filtered || s.Failed != 0 {
			t.Errorf("%s's report summary %+v, want copied %d, skipped %d, filtered %d", job, s, copied, skipped, filtered)
		}
		if s := rep.Summary.Seconds; s != math.Round(s*1000)/1000 {
			t.Errorf("%s's report gives seconds %v, not to the millisecond as the summary line does", job, s)
		}
		got := foldersOf(rep)
		if len(got) != len(want) {
			t.Errorf("%s's report has folders %+v, want %d", job, rep.Folders, len(want))
		}
		for folder, w := range want {
			f := got[folder]
			if f.Copied != w.copied || f.Skipped != w.skipped || f.Filtered != w.filtered || f.Failed != 0 {
				t.Errorf("%s's report, folder %s: %+v, want copied %d, skipped %d, filtered %d", job, folder, f, w.copied, w.skipped, w.filtered)
			}
		}
	}
	check("alice", map[string]counts{"INBOX": {copied: 5}, "Sent": {copied: 3}, "Archive/2019": {copied: 2}}, 10, 0, 0)
	check("bob", map[string]counts{"INBOX": {copied: 5}, "Sent": {filtered: 3}, "Archive/2019": {copied: 2}}, 7, 0, 3)
	if f := foldersOf(readReport(t, filepath.Join(dir, "bob.json")))["Sent"]; f.Dest != "Outbox" {
		t.Errorf("bob's Sent went to %q, want Outbox", f.Dest)
	}

	// Both jobs in the one log, every line naming its job.
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, logFile))), "\n")
	perJob := map[string]int{}
	for _, l := range lines {
		switch {
		case strings.Contains(l, " job=alice "):
			perJob["alice"]++
		case strings.Contains(l, " job=bob "):
			perJob["bob"]++
		default:
			t.Errorf("a log line without its job: %q", l)
		}
	}
	// start, a line per folder, summary
	if perJob["alice"] != 5 || perJob["bob"] != 5 {
		t.Errorf("log lines per job %v, want 5 each:\n%s", perJob, strings.Join(lines, "\n"))
	}
	for _, want := range []string{
		"level=INFO msg=folder job=bob folder=Sent dest=Outbox copied=0 skipped=0 filtered=3 failed=0 bytes=0",
		"level=INFO msg=summary job=alice copied=10 skipped=0 filtered=0 failed=0 bytes=",
		"level=INFO msg=summary job=bob copied=7 skipped=0 filtered=3 failed=0 bytes=",
	} {
		if !strings.Contains(string(mustRead(t, logFile)), want) {
			t.Errorf("the log lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}

	// The gateway holds a group per job, with that job's figures.
	pushed := g.metrics(t)
	expectJob(t, pushed, "alice", map[string]float64{"mailferry_messages_copied": float64(len(msgs)), "mailferry_messages_filtered": 0, "mailferry_exit_code": 0})
	expectJob(t, pushed, "bob", map[string]float64{"mailferry_messages_copied": float64(len(msgs) - 3), "mailferry_messages_filtered": 3, "mailferry_exit_code": 0})

	// A re-run replaces each report and appends to the log.
	r = mailferryIn(t, env, "run", jobsFile, "-q")
	expectCode(t, r, 0)
	check("alice", map[string]counts{"INBOX": {skipped: 5}, "Sent": {skipped: 3}, "Archive/2019": {skipped: 2}}, 0, 10, 0)
	check("bob", map[string]counts{"INBOX": {skipped: 5}, "Sent": {filtered: 3}, "Archive/2019": {skipped: 2}}, 0, 7, 3)
	if got := len(strings.Split(strings.TrimSpace(string(mustRead(t, logFile))), "\n")); got != 2*len(lines) {
		t.Errorf("after a re-run the log has %d lines, want %d", got, 2*len(lines))
	}
	pushed = g.metrics(t)
	expectJob(t, pushed, "bob", map[string]float64{"mailferry_messages_copied": 0, "mailferry_messages_skipped": float64(len(msgs) - 3), "mailferry_messages_filtered": 3})
}

// The run's own --log-file, --report, --metrics-file and --metrics-push
// apply to every job and win over the jobs file's; one --report file for
// two jobs is refused before any job runs.
func TestRunOutputFlagsApplyToEveryJob(t *testing.T) {
	g := startPushgateway(t)
	src, msgs := smallMaildir(t)
	dir := t.TempDir()
	fileMetrics := filepath.Join(dir, "from-the-file.prom")
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  metrics-file: %s
jobs:
  - name: alice
    source: maildir:%s
    destination: maildir:%s/alice
  - name: bob
    source: maildir:%s
    destination: maildir:%s/bob
    max-size: 400
`, fileMetrics, src, dir, src, dir))
	env := testEnv(t, nil)

	r := mailferryIn(t, env, "run", jobsFile, "-q", "--report", filepath.Join(dir, "one.json"))
	expectCode(t, r, 2)
	for _, want := range []string{`--report ` + filepath.Join(dir, "one.json"), `jobs "alice" and "bob"`, "{job}"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "alice")); !os.IsNotExist(err) {
		t.Fatalf("a job ran although the run was refused: %v", err)
	}

	metrics, logFile := filepath.Join(dir, "run.prom"), filepath.Join(dir, "run.log")
	r = mailferryIn(t, env, "run", jobsFile, "-q", "--parallel", "2", "--report", filepath.Join(dir, "{job}.json"),
		"--metrics-file", metrics, "--log-file", logFile, "--metrics-push", g.url)
	expectCode(t, r, 0)
	if _, err := os.Stat(fileMetrics); !os.IsNotExist(err) {
		t.Errorf("the jobs file's metrics-file was written although --metrics-file was given: %v", err)
	}
	got := metricsFileValues(t, metrics)
	expectJob(t, got, "alice", map[string]float64{"mailferry_messages_copied": float64(len(msgs)), "mailferry_exit_code": 0})
	expectJob(t, got, "bob", map[string]float64{"mailferry_messages_copied": float64(len(msgs) - 3), "mailferry_messages_filtered": 3})
	pushed := g.metrics(t)
	expectJob(t, pushed, "alice", map[string]float64{"mailferry_messages_copied": float64(len(msgs))})
	expectJob(t, pushed, "bob", map[string]float64{"mailferry_messages_filtered": 3})
	for job, copied := range map[string]int{"alice": len(msgs), "bob": len(msgs) - 3} {
		rep := readReport(t, filepath.Join(dir, job+".json"))
		if rep.Job != job || rep.Summary.Copied != copied {
			t.Errorf("%s.json names job %q with %d copied, want %d", job, rep.Job, rep.Summary.Copied, copied)
		}
		if !strings.Contains(string(mustRead(t, logFile)), fmt.Sprintf("msg=summary job=%s copied=%d ", job, copied)) {
			t.Errorf("the log has no summary of %s:\n%s", job, mustRead(t, logFile))
		}
	}

	// One job alone may have a report without {job}.
	r = mailferryIn(t, env, "run", jobsFile, "-q", "--job", "alice", "--report", filepath.Join(dir, "one.json"))
	expectCode(t, r, 0)
	if rep := readReport(t, filepath.Join(dir, "one.json")); rep.Job != "alice" || rep.Summary.Skipped != len(msgs) {
		t.Errorf("one.json: job %q, summary %+v; want alice, all skipped", rep.Job, rep.Summary)
	}
}
