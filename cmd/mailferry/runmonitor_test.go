package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The jobs of one run, two at a time, share a log file and a Pushgateway,
// each writes its own report through {job}, and state list names them.
func TestRunJobsShareLogReportsPushAndState(t *testing.T) {
	g := startPushgateway(t)
	dir := t.TempDir()
	src, msgs := smallMaildir(t)
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  log-file: %[1]s/run.log
  report: %[1]s/report-{job}.json
  metrics-push: %[2]s
  state-dir: %[1]s/state
jobs:
  - name: alice-backup
    source: maildir:%[3]s
    destination: maildir:%[1]s/alice
  - name: bob-archive
    source: maildir:%[3]s
    destination: mbox:%[1]s/bob
    max-size: 400
  - name: carol-inbox
    source: maildir:%[3]s
    destination: maildir:%[1]s/carol
    include: ['^INBOX$']
`, dir, g.url, src))
	env := testEnv(t, nil)
	r := mailferryIn(t, env, "run", jobsFile, "--parallel", "2", "-q")
	expectCode(t, r, 0)
	want := map[string][2]float64{ // copied, filtered
		"alice-backup": {float64(len(msgs)), 0},
		"bob-archive":  {float64(len(msgs) - 3), 3},
		"carol-inbox":  {5, 0},
	}
	pushed := g.metrics(t)
	for job, w := range want {
		expectJob(t, pushed, job, map[string]float64{"mailferry_messages_copied": w[0], "mailferry_messages_filtered": w[1], "mailferry_exit_code": 0})
		rep := readReport(t, filepath.Join(dir, "report-"+job+".json"))
		if rep.Job != job || float64(rep.Summary.Copied) != w[0] || float64(rep.Summary.Filtered) != w[1] {
			t.Errorf("report of %s: %+v", job, rep)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	for job, w := range want {
		line := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=summary job=` + job + ` copied=` + fmt.Sprint(w[0]) + ` skipped=0 filtered=` + fmt.Sprint(w[1]) + ` `)
		if !line.Match(b) {
			t.Errorf("the shared log lacks %s's summary:\n%s", job, b)
		}
	}
	if n := strings.Count(string(b), "msg=start"); n != 3 {
		t.Errorf("%d starts in the log, want 3:\n%s", n, b)
	}
	r = mailferryIn(t, env, "state", "list", "--state-dir", filepath.Join(dir, "state"))
	expectCode(t, r, 0)
	for _, row := range []string{
		`alice-backup +` + regexp.QuoteMeta(filepath.Join(dir, "alice", "mailferry.state")) + ` +\S+ \S+ +\S+ \S+ +0`,
		`bob-archive +` + regexp.QuoteMeta(filepath.Join(dir, "bob", ".mailferry.lock", "state")) + ` +\S+ \S+ +\S+ \S+ +0`,
		`carol-inbox +` + regexp.QuoteMeta(filepath.Join(dir, "carol", "mailferry.state")) + ` +\S+ \S+ +\S+ \S+ +0`,
	} {
		if !regexp.MustCompile(`(?m)^` + row + `$`).MatchString(r.stdout) {
			t.Errorf("state list lacks %s:\n%s", row, r)
		}
	}
}
