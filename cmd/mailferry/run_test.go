package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/jobs"
)

// writeFile writes text into dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fillMaildir puts msgs into the Maildir Dovecot serves to user.
func fillMaildir(t *testing.T, s *dovecot.Server, user string, msgs []testMessage) {
	t.Helper()
	writeMaildir(t, s.MailDir(user), msgs)
	if err := s.ChownMail(user); err != nil {
		t.Fatal(err)
	}
}

// countMboxFile counts the messages of an mbox file by its From_ lines.
func countMboxFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "From ") {
			n++
		}
	}
	return n
}

// jsonJobs parses the job lines of run --json output, by job name.
func jsonJobs(t *testing.T, stdout string) (map[string]jsonJob, jsonRunSummary) {
	t.Helper()
	jobs := map[string]jsonJob{}
	var sum jsonRunSummary
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	for i, l := range lines {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(l), &head); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		switch head.Type {
		case "job":
			var j jsonJob
			json.Unmarshal([]byte(l), &j)
			jobs[j.Job] = j
		case "run-summary":
			if i != len(lines)-1 {
				t.Errorf("the run's summary is not the last line:\n%s", stdout)
			}
			json.Unmarshal([]byte(l), &sum)
		}
	}
	if sum.Type == "" {
		t.Fatalf("no run-summary line:\n%s", stdout)
	}
	return jobs, sum
}

// TestRunThreeJobsAgainstDovecot: IMAP → Maildir, POP3 → mbox and
// mbox → IMAP from one jobs file; a re-run copies nothing; a wrong password
// fails its job only, and the run's exit code says so.
func TestRunThreeJobsAgainstDovecot(t *testing.T) {
	alice := dovecot.User{Name: "alice", Password: "alice-pw"}
	bob := dovecot.User{Name: "bob", Password: "bob-pw"}
	carol := dovecot.User{Name: "carol", Password: "carol-pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice, bob, carol}})

	var aliceMail, bobMail []testMessage
	for i := range 6 {
		aliceMail = append(aliceMail, message([]string{"INBOX", "Archive"}[i%2], i, 400))
	}
	for i := range 4 {
		bobMail = append(bobMail, message("INBOX", 100+i, 300))
	}
	fillMaildir(t, s, alice.Name, aliceMail)
	fillMaildir(t, s, bob.Name, bobMail)

	dir := t.TempDir()
	var archive strings.Builder
	for i := range 3 {
		fmt.Fprintf(&archive, "From old@example.com Mon Jan  5 10:00:0%d 2009\nFrom: old@example.com\nSubject: archived %d\nMessage-ID: <%d.archive@example.com>\n\nfrom 2009\n\n", i, i, i)
	}
	archiveFile := writeFile(t, dir, "archive.mbox", archive.String())
	alicePw := writeFile(t, dir, "alice.pw", alice.Password+"\n")
	bobPw := writeFile(t, dir, "bob.pw", bob.Password+"\n")
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  ca-file: %s
  connections: 2
  metrics-file: %s/mailferry.prom
jobs:
  - name: alice-backup
    source: imap://alice@%s
    destination: maildir:%s/alice
    source-password-file: %s
  - name: bob-pop3
    source: pop3://bob@%s
    destination: mbox:%s/bob
    source-password-file: %s
  - name: carol-archive
    source: mbox:%s
    destination: imap://carol@%s
    dest-password-env: CAROL_PW
    map: ['INBOX=Archive/2009']
`, s.CAFile, dir, s.IMAPAddr, dir, alicePw, s.POP3Addr, dir, bobPw, archiveFile, s.IMAPAddr))

	home := testEnv(t, []string{"CAROL_PW=" + carol.Password})
	r := mailferryIn(t, home, "run", jobsFile, "--parallel", "3")
	expectCode(t, r, 0)
	for _, want := range []string{
		"job alice-backup: done: copied 6 messages",
		"job bob-pop3: done: copied 4 messages",
		"job carol-archive: done: copied 3 messages",
		"total: 3 jobs, 3 done, 0 not done: copied 13 messages",
		"[alice-backup] copied 6 messages",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in the output:\n%s", want, r)
		}
	}
	if got := len(messageFiles(t, filepath.Join(dir, "alice"))); got != 6 {
		t.Errorf("alice's backup holds %d messages, want 6", got)
	}
	if got := countMboxFile(t, filepath.Join(dir, "bob", "INBOX")); got != 4 {
		t.Errorf("bob's mbox holds %d messages, want 4", got)
	}
	if got := len(messageFiles(t, filepath.Join(s.MailDir(carol.Name), ".Archive.2009"))); got != 3 {
		t.Errorf("carol's Archive/2009 holds %d messages, want 3", got)
	}
	// One metrics file, a series per job.
	metrics := metricsFileValues(t, filepath.Join(dir, "mailferry.prom"))
	for job, copied := range map[string]float64{"alice-backup": 6, "bob-pop3": 4, "carol-archive": 3} {
		expectJob(t, metrics, job, map[string]float64{"mailferry_messages_copied": copied, "mailferry_exit_code": 0})
	}

	// A re-run is a no-op.
	r = mailferryIn(t, home, "run", jobsFile, "--json")
	expectCode(t, r, 0)
	jobs, sum := jsonJobs(t, r.stdout)
	for _, name := range []string{"alice-backup", "bob-pop3", "carol-archive"} {
		if j := jobs[name]; j.Status != "done" || j.Copied != 0 || j.Skipped == 0 {
			t.Errorf("re-run of %s: %+v", name, j)
		}
	}
	if sum.Jobs != 3 || sum.Done != 3 || sum.Copied != 0 || sum.Skipped != 13 || sum.Exit != 0 {
		t.Errorf("re-run's summary %+v", sum)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(l, `{"job":`) && !strings.HasPrefix(l, `{"type":"job"`) && !strings.HasPrefix(l, `{"type":"run-summary"`) {
			t.Errorf("a JSON line without its job: %s", l)
		}
	}

	// A wrong password fails that job; new mail still reaches the others.
	writeFile(t, dir, "bob.pw", "wrong")
	fillMaildir(t, s, alice.Name, append(aliceMail, message("INBOX", 50, 350)))
	r = mailferryIn(t, home, "run", jobsFile, "--parallel", "2")
	expectCode(t, r, 1)
	for _, want := range []string{
		"job alice-backup: done: copied 1 message",
		"job bob-pop3: failed (exit 1): copied 0 messages",
		"job carol-archive: done: copied 0 messages",
		"total: 3 jobs, 2 done, 1 not done: copied 1 message",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in the output:\n%s", want, r)
		}
	}
	if !strings.Contains(r.stderr, "[bob-pop3] mailferry: ") || !strings.Contains(r.stderr, "bob") {
		t.Errorf("the failure is not reported under its job:\n%s", r.stderr)
	}
	if got := len(messageFiles(t, filepath.Join(dir, "alice"))); got != 7 {
		t.Errorf("alice's backup holds %d messages, want 7", got)
	}
	metrics = metricsFileValues(t, filepath.Join(dir, "mailferry.prom"))
	expectJob(t, metrics, "alice-backup", map[string]float64{"mailferry_messages_copied": 1, "mailferry_exit_code": 0})
	expectJob(t, metrics, "bob-pop3", map[string]float64{"mailferry_messages_copied": 0, "mailferry_exit_code": 1})
	expectJob(t, metrics, "carol-archive", map[string]float64{"mailferry_messages_copied": 0, "mailferry_messages_skipped": 3, "mailferry_exit_code": 0})
	if last := metrics["mailferry_last_success_timestamp_seconds"]["bob-pop3"]; last == 0 {
		t.Error("the failed job lost its last success time")
	}
}

// localJobs writes a jobs file of n mbox → Maildir jobs, each from its
// own one-message mbox, and returns its path.
func localJobs(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("jobs:\n")
	for i := range n {
		src := writeFile(t, dir, fmt.Sprintf("in%d.mbox", i),
			fmt.Sprintf("From a@example.com Mon Jan  1 00:00:00 2024\nSubject: job %d\nMessage-ID: <%d@example.com>\n\nbody %d\n\n", i, i, i))
		fmt.Fprintf(&b, "  - name: job-%d\n    source: mbox:%s\n    destination: maildir:%s\n", i, src, filepath.Join(dir, fmt.Sprintf("out%d", i)))
	}
	return writeFile(t, dir, "jobs.yaml", b.String())
}

// ranJobs are the jobs that copied their message, from run --json.
func ranJobs(t *testing.T, r result) []string {
	t.Helper()
	jobs, _ := jsonJobs(t, r.stdout)
	var out []string
	for name, j := range jobs {
		if j.Copied != 1 {
			t.Errorf("job %s copied %d", name, j.Copied)
		}
		out = append(out, name)
	}
	return out
}

func TestRunShardsRunEveryJobOnce(t *testing.T) {
	dir := t.TempDir()
	jobsFile := localJobs(t, dir, 10)
	count := map[string]int{}
	sizes := []int{}
	for k := range 3 {
		r := mailferry(t, nil, "run", jobsFile, "--shard", fmt.Sprintf("%d/3", k), "--json")
		expectCode(t, r, 0)
		ran := ranJobs(t, r)
		sizes = append(sizes, len(ran))
		for _, name := range ran {
			count[name]++
		}
	}
	for i := range 10 {
		if name := fmt.Sprintf("job-%d", i); count[name] != 1 {
			t.Errorf("%s ran %d times over the 3 shards", name, count[name])
		}
		if got := len(messageFiles(t, filepath.Join(dir, fmt.Sprintf("out%d", i)))); got != 1 {
			t.Errorf("out%d holds %d messages", i, got)
		}
	}
	t.Logf("shard sizes %v", sizes)
}

// TestRunIndexedJobSimulation: N processes started at once, as the pods
// of a Kubernetes Indexed Job, each with its JOB_COMPLETION_INDEX: every
// job runs exactly once.
func TestRunIndexedJobSimulation(t *testing.T) {
	const n = 3
	dir := t.TempDir()
	jobsFile := localJobs(t, dir, 10)
	type proc struct {
		cmd            *exec.Cmd
		stdout, stderr strings.Builder
	}
	var procs []*proc
	for k := range n {
		p := &proc{cmd: exec.Command(binary, "run", jobsFile, "--json")}
		p.cmd.Env = testEnv(t, []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", k), fmt.Sprintf("MAILFERRY_SHARDS=%d", n)})
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	count := map[string]int{}
	for k, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("pod %d: %v\n%s%s", k, err, p.stdout.String(), p.stderr.String())
		}
		for _, name := range ranJobs(t, result{stdout: p.stdout.String()}) {
			count[name]++
		}
	}
	var names []string
	for name, c := range count {
		if c != 1 {
			t.Errorf("%s ran %d times", name, c)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != 10 {
		t.Errorf("%d of 10 jobs ran: %v", len(names), names)
	}
}

func TestRunShardFromTheEnvironmentNeedsBoth(t *testing.T) {
	jobsFile := localJobs(t, t.TempDir(), 2)
	r := mailferry(t, []string{"JOB_COMPLETION_INDEX=1"}, "run", jobsFile)
	expectCode(t, r, 2)
	want := "mailferry: JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job), but not MAILFERRY_SHARDS: set it to the Job's completions, or give --shard K/N\n"
	if r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

func TestRunRefusesAJobAnotherRunHolds(t *testing.T) {
	dir := t.TempDir()
	jobsFile := localJobs(t, dir, 2)
	env := testEnv(t, nil)
	// The lock of job-0 held by a process of this test, as another run would.
	r := mailferryIn(t, env, "run", "--check", jobsFile)
	expectCode(t, r, 0)
	var stateHome string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			stateHome = v
		}
	}
	t.Setenv("XDG_STATE_HOME", stateHome)
	p := plannedJob{}
	p.Name = "job-0"
	var err error
	if p.cfg.Source, err = parseEndpoint("source", "mbox:"+filepath.Join(dir, "in0.mbox")); err != nil {
		t.Fatal(err)
	}
	if p.cfg.Dest, err = parseEndpoint("destination", "maildir:"+filepath.Join(dir, "out0")); err != nil {
		t.Fatal(err)
	}
	lock, err := lockJob(p)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// A dry run takes no lock, as copy's does not.
	r = mailferryIn(t, env, "run", jobsFile, "--dry-run")
	expectCode(t, r, 0)
	r = mailferryIn(t, env, "run", jobsFile)
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, `[job-0] mailferry: job "job-0" is being run by another mailferry run; it is left to that run: lock file `) ||
		!strings.Contains(r.stdout, "job job-0: failed (exit 1)") || !strings.Contains(r.stdout, "job job-1: done: copied 1 message") {
		t.Errorf("output:\n%s", r)
	}
}

func TestRunJobsFileErrors(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "in.mbox", "From a@example.com Mon Jan  1 00:00:00 2024\nSubject: x\n\nx\n\n")
	head := fmt.Sprintf("jobs:\n  - name: a\n    source: mbox:%s\n    destination: maildir:%s/out\n", src, dir)
	for _, tc := range []struct {
		name, yaml, csv string
		args            []string
		want            string
	}{
		{name: "an unknown key", yaml: head + "    exlude: ['^Trash$']\n",
			want: `mailferry: JOBS:5: job "a": exlude: unknown key (did you mean exclude?)`},
		{name: "a bad value for its kind", yaml: head + "    connections: lots\n",
			want: `mailferry: JOBS:5: job "a": connections: "lots" is not a whole number`},
		{name: "a bad value copy rejects", yaml: head + "    max-size: 10Q\n",
			want: `mailferry: JOBS:5: job "a": max-size: "10Q" is not a size (examples: 10M, 1.5G, 512K, 2048)`},
		{name: "a value out of range", yaml: head + "    connections: 100\n",
			want: `mailferry: JOBS:5: job "a": connections: --connections 100: give a number from 1 to 64`},
		{name: "a bad regular expression", yaml: head + "    include: ['(']\n",
			want: `mailferry: JOBS:5: job "a": include: --include "(": not a regular expression: error parsing regexp: missing closing ): ` + "`(`"},
		{name: "a bad endpoint", yaml: "jobs:\n  - name: a\n    source: mbox:" + src + "\n    destination: imasp://x@y\n",
			want: `mailferry: JOBS:4: job "a": destination: destination endpoint "imasp://x@y": unknown scheme "imasp" (did you mean imaps?)`},
		{name: "a bad CSV row", yaml: "jobs:\n  - name: m\n    source: mbox:" + dir + "/{source-user}.mbox\n    destination: maildir:" + dir + "/{source-user}\n    accounts: users.csv\n",
			csv: "source-user,connections\nalice,2\nbob\n", want: `mailferry: DIR/users.csv:3: job "m": malformed row: wrong number of fields: every row needs one per column of the header`},
		{name: "a bad override in a CSV row", yaml: "jobs:\n  - name: m\n    source: mbox:" + dir + "/{source-user}.mbox\n    destination: maildir:" + dir + "/{source-user}\n    accounts: users.csv\n",
			csv: "source-user,connections\nalice,2\nbob,0\n", want: `mailferry: DIR/users.csv:3: job "m/bob": connections: --connections 0: give a number from 1 to 64`},
		{name: "job-name, which name: is", yaml: head + "    job-name: alice\n",
			want: `mailferry: JOBS:5: job "a": job-name: not a key of a jobs file: a job's name: is what names it in metrics, logs, reports and the state list`},
		{name: "one report for two jobs", yaml: "defaults:\n  report: " + dir + "/report.json\n" + head + "  - name: b\n    source: mbox:" + src + "\n    destination: maildir:" + dir + "/out-b\n",
			want: `mailferry: JOBS:2: job "b": report: DIR/report.json is the report of job "a" too, and each job replaces the file: give every job a report of its own ({job} in its name stands for the job's name)`},
		{name: "one report for two rows of an accounts job", yaml: "jobs:\n  - name: m\n    source: mbox:" + dir + "/{source-user}.mbox\n    destination: maildir:" + dir + "/{source-user}\n    report: " + dir + "/m.json\n    accounts: users.csv\n",
			csv: "source-user\nalice\nbob\n", want: `mailferry: JOBS:5: job "m/bob": report: DIR/m.json is the report of job "m/alice" too, and each job replaces the file: give every job a report of its own ({job} in its name stands for the job's name)`},
		{name: "an unknown job", yaml: head, args: []string{"--job", "b"},
			want: `mailferry: --job b: no such job (the jobs are a)`},
		{name: "a missing password file (--check)", yaml: head + "    source-password-file: " + dir + "/nope.pw\n", args: []string{"--check"},
			want: `mailferry: JOBS:5: job "a": source-password-file: open ` + dir + `/nope.pw: no such file or directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobsFile := writeFile(t, dir, "jobs.yaml", tc.yaml)
			if tc.csv != "" {
				writeFile(t, dir, "users.csv", tc.csv)
			}
			r := mailferry(t, nil, append([]string{"run", jobsFile}, tc.args...)...)
			expectCode(t, r, 2)
			got := strings.ReplaceAll(strings.ReplaceAll(strings.SplitN(r.stderr, "\n", 2)[0], jobsFile, "JOBS"), dir, "DIR")
			want := strings.ReplaceAll(tc.want, dir, "DIR")
			if got != want {
				t.Errorf("stderr\n%s\nwant\n%s\n(all: %s)", got, want, r)
			}
			if slices.Contains(tc.args, "--check") {
				if !strings.HasSuffix(r.stdout, ": 1 job checked; 1 job cannot read a password file (listed on stderr)\n") {
					t.Errorf("--check stdout: %q", r.stdout)
				}
			} else if r.stdout != "" {
				t.Errorf("a refused jobs file printed on stdout: %q", r.stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Errorf("a refused jobs file ran a job: %v", err)
			}
		})
	}
}

func TestRunCheckListsTheJobsAndConnectsToNothing(t *testing.T) {
	dir := t.TempDir()
	jobsFile := writeFile(t, dir, "jobs.yaml", `
defaults:
  source-password-file: `+writeFile(t, dir, "pw", "x")+`
jobs:
  - name: backup
    source: imaps://{source-user}@127.0.0.1:1
    destination: maildir:`+dir+`/{source-user}
    accounts: users.csv
    source-password: inline
`)
	writeFile(t, dir, "users.csv", "source-user\nalice@example.com\nbob\n")
	r := mailferry(t, nil, "run", "--check", jobsFile)
	expectCode(t, r, 2)
	if !strings.Contains(r.stderr, `jobs.yaml:3: job "backup": source-password-file: the job also has an inline source-password: give one of them`) {
		t.Errorf("inline password with a password file:\n%s", r)
	}
	os.WriteFile(jobsFile, []byte(strings.Replace(string(mustRead(t, jobsFile)), "  source-password-file", "  timeout", 1)), 0o600)
	os.WriteFile(jobsFile, []byte(strings.Replace(string(mustRead(t, jobsFile)), "timeout: "+dir+"/pw", "timeout: 5s", 1)), 0o600)
	r = mailferry(t, nil, "run", "--check", jobsFile)
	expectCode(t, r, 0)
	want := "job backup/alice@example.com: imaps://alice%40example.com@127.0.0.1:1 → maildir:" + dir + "/alice@example.com\n" +
		"job backup/bob: imaps://bob@127.0.0.1:1 → maildir:" + dir + "/bob\n" +
		jobsFile + ": 2 jobs checked, no problems found\n"
	if r.stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "warning: "+jobsFile+":9: job \"backup\": source-password is written in the jobs file") {
		t.Errorf("no warning about the inline password:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bob")); !os.IsNotExist(err) {
		t.Errorf("--check created a destination: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The jobs file shipped for Kubernetes is one that run accepts: its
// template expands into a job per row of its accounts file, each with the
// password files its row names.
func TestKubernetesJobsFile(t *testing.T) {
	plan, err := jobs.Load("../../deploy/kubernetes/jobs.yaml", copyKeys(), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	planned, err := checkJobs(t.Context(), plan.Jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range planned {
		got = append(got, p.Name+" "+p.cfg.Source.String()+" "+p.cfg.SourceSecrets.passwordFile+" "+p.cfg.DestSecrets.passwordFile)
	}
	want := []string{
		"migrate/alice imaps://alice%40example.com@imap.old-provider.example:993 /etc/mailferry/secrets/old-alice /etc/mailferry/secrets/new-alice",
		"migrate/bob imaps://bob%40example.com@imap.old-provider.example:993 /etc/mailferry/secrets/old-bob /etc/mailferry/secrets/new-bob",
		"migrate/carol imaps://carol%40example.com@imap.old-provider.example:993 /etc/mailferry/secrets/old-carol /etc/mailferry/secrets/new-carol",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("jobs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// mboxOf writes an mbox of n messages, their Message-IDs told apart by tag.
func mboxOf(t *testing.T, dir, tag string, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "From a@example.com Mon Jan  1 00:00:0%d 2024\nSubject: %s %d\nMessage-ID: <%d.%s@example.com>\n\nbody\n\n", i%10, tag, i, i, tag)
	}
	return writeFile(t, dir, tag+".mbox", b.String())
}

// SIGTERM stops the job that runs as copy stops, starts no other, and the
// run still ends with a line per job and its summary, exit code 143.
func TestRunStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
jobs:
  - name: slow
    source: mbox:%s
    destination: maildir:%s/slow
    max-messages-per-second: 2
  - name: next
    source: mbox:%s
    destination: maildir:%s/next
`, mboxOf(t, dir, "slow", 8), dir, mboxOf(t, dir, "next", 2), dir))
	r := runSignalled(t, command(t, nil, nil, "run", jobsFile, "--json"), signalPlan{sig: syscall.SIGTERM, when: planned("INBOX", time.Second)})
	if r.code != 143 {
		t.Fatalf("exit code %d, want 143:\n%s", r.code, r.result)
	}
	if r.took > 5*time.Second {
		t.Errorf("the run took %v to stop", r.took)
	}
	jobs, sum := jsonJobs(t, r.stdout)
	if j := jobs["slow"]; j.Status != "stopped" || j.Exit != 143 || j.Copied >= 8 {
		t.Errorf("the running job: %+v", j)
	}
	if j := jobs["next"]; j.Status != "not started" || j.Exit != 143 || j.Copied != 0 {
		t.Errorf("the job after it: %+v", j)
	}
	if sum.Exit != 143 || sum.Done != 0 {
		t.Errorf("summary %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(dir, "next")); !os.IsNotExist(err) {
		t.Errorf("the job after the signal wrote its destination: %v", err)
	}
}

// Jobs into one destination take turns, also with --parallel: side by
// side, the second would find the destination locked.
func TestRunJobsIntoOneDestinationTakeTurns(t *testing.T) {
	dir := t.TempDir()
	jobsFile := writeFile(t, dir, "jobs.yaml", fmt.Sprintf(`
defaults:
  max-messages-per-second: 5
jobs:
  - name: first
    source: mbox:%s
    destination: maildir:%s/merged
  - name: second
    source: mbox:%s
    destination: maildir:%s/merged
`, mboxOf(t, dir, "first", 4), dir, mboxOf(t, dir, "second", 4), dir))
	r := mailferry(t, nil, "run", jobsFile, "--parallel", "2")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "total: 2 jobs, 2 done, 0 not done: copied 8 messages") {
		t.Errorf("output:\n%s", r)
	}
	if got := len(messageFiles(t, filepath.Join(dir, "merged"))); got != 8 {
		t.Errorf("the destination holds %d messages, want 8", got)
	}
}
