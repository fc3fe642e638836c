package jobs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/jobs"
)

// testKeys are options as the copy command has them (a subset).
var testKeys = jobs.Keys{
	"connections":             jobs.Int,
	"exclude":                 jobs.List,
	"include":                 jobs.List,
	"max-size":                jobs.String,
	"max-messages-per-second": jobs.Float,
	"dry-run":                 jobs.Bool,
	"quiet":                   jobs.Bool,
	"timeout":                 jobs.Duration,
	"state":                   jobs.String,
	"metrics-file":            jobs.String,
	"source-password-file":    jobs.String,
	"source-password-command": jobs.String,
	"dest-password-file":      jobs.String,
	"dest-password-command":   jobs.String,
}

func parse(t *testing.T, text string, files map[string]string) (*jobs.Plan, error) {
	t.Helper()
	read := func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: %w", path, os.ErrNotExist)
	}
	return jobs.Parse("/etc/mailferry/jobs.yaml", []byte(text), testKeys, jobs.Options{ReadFile: read})
}

func values(j jobs.Job) map[string][]string {
	out := map[string][]string{}
	for _, o := range j.Options {
		out[o.Key] = o.Values
	}
	return out
}

func TestParseMergesDefaultsUnderEachJob(t *testing.T) {
	plan, err := parse(t, `
defaults:
  connections: 4
  metrics-file: /var/lib/node_exporter/textfile/mailferry.prom
  exclude: ['^Junk$']
jobs:
  - name: alice-backup
    source: imaps://alice%40example.com@imap.example.com
    destination: maildir:/srv/backup/alice
    source-password-file: /etc/mailferry/alice.pw
    exclude: ['^Trash$', '^Spam$']
  - name: bob-archive
    source: mbox:/srv/old/bob
    destination: imaps://bob@imap.example.com
    connections: 0x2
    dry-run: True
    timeout: 2m
    max-messages-per-second: 0.5
    exclude: ^Drafts$
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 2 || len(plan.Warnings) != 0 {
		t.Fatalf("jobs %d, warnings %q", len(plan.Jobs), plan.Warnings)
	}
	a, b := plan.Jobs[0], plan.Jobs[1]
	if a.Name != "alice-backup" || a.Source.Values[0] != "imaps://alice%40example.com@imap.example.com" ||
		a.Destination.Values[0] != "maildir:/srv/backup/alice" || a.Where.Line != 7 || a.Template != "" {
		t.Errorf("first job: %+v", a)
	}
	wantA := map[string][]string{
		"connections":          {"4"},
		"exclude":              {"^Trash$", "^Spam$"},
		"metrics-file":         {"/var/lib/node_exporter/textfile/mailferry.prom"},
		"source-password-file": {"/etc/mailferry/alice.pw"},
	}
	if got := values(a); !reflect.DeepEqual(got, wantA) {
		t.Errorf("first job's options %v, want %v", got, wantA)
	}
	wantB := map[string][]string{
		"connections":             {"2"},
		"dry-run":                 {"true"},
		"exclude":                 {"^Drafts$"},
		"max-messages-per-second": {"0.5"},
		"metrics-file":            {"/var/lib/node_exporter/textfile/mailferry.prom"},
		"timeout":                 {"2m"},
	}
	if got := values(b); !reflect.DeepEqual(got, wantB) {
		t.Errorf("second job's options %v, want %v", got, wantB)
	}
	var keys []string
	for _, o := range b.Options {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, " ") != "connections dry-run exclude max-messages-per-second metrics-file timeout" {
		t.Errorf("options not sorted by key: %v", keys)
	}
	if o, _ := b.Option("connections"); o.Where.Line != 15 {
		t.Errorf("connections of the second job is at line %d, want 15 (its own, not the default's)", o.Where.Line)
	}
	if o, _ := b.Option("metrics-file"); o.Where.Line != 4 {
		t.Errorf("metrics-file of the second job is at line %d, want 4 (the default's)", o.Where.Line)
	}
}

func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	job := "jobs:\n  - name: a\n    source: mbox:/a\n    destination: maildir:/b\n"
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown key with a suggestion", job + "    exlude: x\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": exlude: unknown key (did you mean exclude?)`}},
		{"unknown key without one", job + "    frobnicate: x\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": frobnicate: unknown key; the keys are the options of mailferry copy, without their dashes (see 'mailferry copy --help')`}},
		{"unknown key in defaults", "defaults:\n  conections: 3\n" + job,
			[]string{`/etc/mailferry/jobs.yaml:2: conections: unknown key (did you mean connections?)`}},
		{"a job key in defaults", "defaults:\n  source: mbox:/x\n" + job,
			[]string{`/etc/mailferry/jobs.yaml:2: source: belongs in a job, not in defaults:`}},
		{"not a number", job + "    connections: four\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": connections: "four" is not a whole number`}},
		{"a quoted number is a string", job + "    connections: \"4\"\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": connections: "4" is not a whole number`}},
		{"not a bool", job + "    dry-run: yes\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": dry-run: "yes" is not true or false`}},
		{"not a duration", job + "    timeout: 30\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": timeout: "30" is not a duration such as 30s or 2m`}},
		{"a list for a string", job + "    max-size: [1, 2]\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": max-size: expected a string, got a list`}},
		{"no value", job + "    state:\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": state: has no value`}},
		{"a key twice", job + "    state: /x\n    state: /y\n",
			[]string{`/etc/mailferry/jobs.yaml:6: job "a": state: given twice (first on line 5)`}},
		{"no name", "jobs:\n  - source: mbox:/a\n    destination: maildir:/b\n",
			[]string{`/etc/mailferry/jobs.yaml:2: a job without a name: give it name: (letters, digits, . _ @ + = / -)`}},
		{"a bad name", "jobs:\n  - name: -x\n    source: mbox:/a\n    destination: maildir:/b\n",
			[]string{`/etc/mailferry/jobs.yaml:2: name: "-x" is not a job name: use letters, digits and . _ @ + = / -, starting with a letter or digit`}},
		{"two jobs of one name", job + job[5:],
			[]string{`/etc/mailferry/jobs.yaml:6: job "a": a second job of this name (the first is at /etc/mailferry/jobs.yaml:2)`}},
		{"no source or destination", "jobs:\n  - name: a\n",
			[]string{`/etc/mailferry/jobs.yaml:2: job "a": no source:`, `/etc/mailferry/jobs.yaml:2: job "a": no destination:`}},
		{"no jobs", "defaults:\n  connections: 2\n",
			[]string{`/etc/mailferry/jobs.yaml:1: no jobs: list`}},
		{"an unknown top-level key", "job:\n  - name: a\n",
			[]string{`/etc/mailferry/jobs.yaml:1: job: unknown key (did you mean jobs?)`, `/etc/mailferry/jobs.yaml:1: no jobs: list`}},
		{"not YAML", "jobs: [\n",
			[]string{`/etc/mailferry/jobs.yaml: not a YAML jobs file: line 1: did not find expected node content`}},
		{"empty", "",
			[]string{`/etc/mailferry/jobs.yaml: the file is empty; it needs a jobs: list`}},
		{"a placeholder without accounts", strings.Replace(job, "maildir:/b", "maildir:/b/{dest-user}", 1),
			[]string{`/etc/mailferry/jobs.yaml:4: job "a": destination: {dest-user} is replaced only in a job with accounts: (one job per row of a CSV file)`}},
		{"an inline password and a file", job + "    source-password: s3cret\n    source-password-file: /pw\n",
			[]string{`/etc/mailferry/jobs.yaml:6: job "a": source-password-file: the job also has an inline source-password: give one of them`}},
		{"a missing accounts file", job + "    accounts: users.csv\n",
			[]string{`/etc/mailferry/jobs.yaml:5: job "a": accounts: open /etc/mailferry/users.csv: file does not exist`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.text, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("error\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			var je *jobs.Error
			if !errors.As(err, &je) {
				t.Errorf("%T is not a *jobs.Error", err)
			}
		})
	}
}

// A key the caller refuses gets the caller's explanation, in a job and in
// defaults:, in place of "unknown key".
func TestParseRefusedKeys(t *testing.T) {
	text := "defaults:\n  job-name: x\njobs:\n  - name: a\n    source: mbox:/a\n    destination: maildir:/b\n    job-name: y\n"
	_, err := jobs.Parse("/etc/mailferry/jobs.yaml", []byte(text), testKeys,
		jobs.Options{Refused: map[string]string{"job-name": "write name: instead"}})
	want := "/etc/mailferry/jobs.yaml:2: job-name: write name: instead\n" +
		`/etc/mailferry/jobs.yaml:7: job "a": job-name: write name: instead`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestParseInlinePasswordWarns(t *testing.T) {
	plan, err := parse(t, "jobs:\n  - name: a\n    source: imaps://a@h\n    destination: maildir:/b\n    source-password: s3cret\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`/etc/mailferry/jobs.yaml:5: job "a": source-password is written in the jobs file, where anyone who can read the file can read it; use source-password-file or source-password-command`}
	if !reflect.DeepEqual(plan.Warnings, want) {
		t.Errorf("warnings %q, want %q", plan.Warnings, want)
	}
	if plan.Jobs[0].SourcePassword != "s3cret" || plan.Jobs[0].DestPassword != "" {
		t.Errorf("passwords %q %q", plan.Jobs[0].SourcePassword, plan.Jobs[0].DestPassword)
	}
	if strings.Contains(strings.Join(plan.Warnings, ""), "s3cret") {
		t.Error("the warning shows the password")
	}
}

func TestParseFollowsAliases(t *testing.T) {
	plan, err := parse(t, `
jobs:
  - name: a
    source: &src mbox:/a
    destination: maildir:/b
    exclude: &skip ['^Trash$']
  - name: b
    source: *src
    destination: maildir:/c
    exclude: *skip
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := plan.Jobs[1]; b.Source.Values[0] != "mbox:/a" || !reflect.DeepEqual(values(b)["exclude"], []string{"^Trash$"}) {
		t.Errorf("second job %+v", b)
	}
}

func TestLoadReadsAccountsBesideTheJobsFile(t *testing.T) {
	dir := t.TempDir()
	jobsFile := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobsFile, []byte("jobs:\n  - name: m\n    source: imaps://{source-user}@old.example\n    destination: maildir:/b/{source-user}\n    accounts: users.csv\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("source-user\nalice\n"), 0o600)
	plan, err := jobs.Load(jobsFile, testKeys, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 1 || plan.Jobs[0].Name != "m/alice" || plan.Jobs[0].Destination.Values[0] != "maildir:/b/alice" {
		t.Errorf("jobs %+v", plan.Jobs)
	}
}

func TestSelect(t *testing.T) {
	all := []jobs.Job{{Name: "a"}, {Name: "m/alice", Template: "m"}, {Name: "m/bob", Template: "m"}, {Name: "z"}}
	names := func(js []jobs.Job) string {
		var s []string
		for _, j := range js {
			s = append(s, j.Name)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		sel  []string
		want string
	}{
		{nil, "a m/alice m/bob z"},
		{[]string{"z", "a"}, "a z"},
		{[]string{"m"}, "m/alice m/bob"},
		{[]string{"m/bob"}, "m/bob"},
	} {
		got, err := jobs.Select(all, tc.sel)
		if err != nil || names(got) != tc.want {
			t.Errorf("Select(%q) = %q, %v; want %q", tc.sel, names(got), err, tc.want)
		}
	}
	_, err := jobs.Select(all, []string{"a", "nope"})
	if err == nil || err.Error() != "--job nope: no such job (the jobs are a, m, z)" {
		t.Errorf("unknown job: %v", err)
	}
}
