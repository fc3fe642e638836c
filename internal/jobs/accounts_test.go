package jobs_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/jobs"
)

const migrationTemplate = `
defaults:
  connections: 2
jobs:
  - name: migrate
    source: imaps://{source-user}@imap.old.example
    destination: imaps://{dest-user}@imap.new.example
    source-password-file: /etc/mailferry/old/{source-user}.pw
    dest-password-command: pass show new/{dest-user}
    state: /var/lib/mailferry/{source-user}.state
    exclude: ['^Trash$']
    accounts: users.csv
`

func TestAccountsExpandOneJobPerRow(t *testing.T) {
	csv := "\xef\xbb\xbf# exported from the old provider's admin panel\n" +
		"source-user,dest-user,name,connections,exclude,exclude,source-password-file\n" +
		"alice@old.example,alice@new.example,,,,,\n" +
		"bob,robert@new.example,bob-big,8,^Spam$,^Junk$,/secrets/bob\n"
	plan, err := parse(t, migrationTemplate, map[string]string{"/etc/mailferry/users.csv": csv})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 2 {
		t.Fatalf("%d jobs", len(plan.Jobs))
	}
	a, b := plan.Jobs[0], plan.Jobs[1]
	if a.Name != "migrate/alice@old.example" || a.Template != "migrate" || a.Where.String() != "/etc/mailferry/users.csv:3" {
		t.Errorf("first row: name %q template %q at %s", a.Name, a.Template, a.Where)
	}
	if a.Source.Values[0] != "imaps://alice%40old.example@imap.old.example" || a.Destination.Values[0] != "imaps://alice%40new.example@imap.new.example" {
		t.Errorf("first row's endpoints %q %q", a.Source.Values, a.Destination.Values)
	}
	wantA := map[string][]string{
		"connections":           {"2"},
		"dest-password-command": {"pass show new/alice@new.example"},
		"exclude":               {"^Trash$"},
		"source-password-file":  {"/etc/mailferry/old/alice@old.example.pw"},
		"state":                 {"/var/lib/mailferry/alice@old.example.state"},
	}
	if got := values(a); !reflect.DeepEqual(got, wantA) {
		t.Errorf("first row's options\n%v\nwant\n%v", got, wantA)
	}
	if b.Name != "migrate/bob-big" || b.Where.Line != 4 {
		t.Errorf("second row: %q at %s", b.Name, b.Where)
	}
	wantB := map[string][]string{
		"connections":           {"8"},
		"dest-password-command": {"pass show new/robert@new.example"},
		"exclude":               {"^Spam$", "^Junk$"},
		"source-password-file":  {"/secrets/bob"},
		"state":                 {"/var/lib/mailferry/bob.state"},
	}
	if got := values(b); !reflect.DeepEqual(got, wantB) {
		t.Errorf("second row's options\n%v\nwant\n%v", got, wantB)
	}
	if o, _ := b.Option("connections"); o.Where.String() != "/etc/mailferry/users.csv:4" {
		t.Errorf("an overridden option is at %s, want its row", o.Where)
	}
}

func TestAccountsFromTheCommandLine(t *testing.T) {
	read := func(path string) ([]byte, error) {
		if path != "people.csv" {
			return nil, fmt.Errorf("read %s", path)
		}
		return []byte("source-user\ncarol\n"), nil
	}
	plan, err := jobs.Parse("jobs.yaml", []byte("jobs:\n  - name: b\n    source: pop3s://{source-user}@pop.example\n    destination: mbox:/srv/{source-user}\n"),
		testKeys, jobs.Options{Accounts: "people.csv", ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 1 || plan.Jobs[0].Name != "b/carol" || plan.Jobs[0].Destination.Values[0] != "mbox:/srv/carol" {
		t.Errorf("jobs %+v", plan.Jobs)
	}
}

func TestAccountsErrorsNameTheirLine(t *testing.T) {
	const header = "source-user,dest-user\n"
	for _, tc := range []struct {
		name, csv string
		want      []string
	}{
		{"a row with too few fields", header + "alice,alice\nbob\ncarol,carol\n",
			[]string{`/etc/mailferry/users.csv:3: job "migrate": malformed row: wrong number of fields: every row needs one per column of the header`}},
		{"a bare quote", header + "alice,alice\nb\"ob,bob\n",
			[]string{`/etc/mailferry/users.csv:3: job "migrate": malformed row: bare " in non-quoted-field`}},
		{"a user that is a path", header + "alice,alice\n../../etc,x\n",
			[]string{`/etc/mailferry/users.csv:3: job "migrate": source-user: "../../etc" is not a user name: use letters, digits and . _ % + = @ -, starting with a letter or digit`}},
		{"a user that is a shell command", header + "a;rm -rf /,x\n",
			[]string{`/etc/mailferry/users.csv:2: job "migrate": source-user: "a;rm -rf /" is not a user name: use letters, digits and . _ % + = @ -, starting with a letter or digit`}},
		{"an unknown column", "source-user,dest-user,conections\nalice,alice,2\n",
			[]string{`/etc/mailferry/users.csv:1: job "migrate": conections: unknown column (did you mean connections?)`}},
		{"a password column", "source-user,dest-user,source-password\nalice,alice,pw\n",
			[]string{`/etc/mailferry/users.csv:1: job "migrate": source-password: an accounts file holds no passwords: give a source-password-file or source-password-command column`}},
		{"a bad override", "source-user,dest-user,connections\nalice,alice,many\n",
			[]string{`/etc/mailferry/users.csv:2: job "migrate": connections: "many" is not a whole number`}},
		{"a row without a user", "source-user,dest-user\nalice,alice\n,\n",
			[]string{`/etc/mailferry/users.csv:3: job "migrate": the row has no name, source-user or dest-user`}},
		{"a placeholder without its column", "source-user\nalice\n",
			[]string{`/etc/mailferry/users.csv:2: job "migrate": destination: {dest-user} (/etc/mailferry/jobs.yaml:7) needs a dest-user column with a value in this row`}},
		{"two rows of one name", header + "alice,a\nalice,b\n",
			[]string{`/etc/mailferry/users.csv:3: job "migrate/alice": a second job of this name (the first is at /etc/mailferry/users.csv:2)`}},
		{"only a header", header,
			[]string{`/etc/mailferry/users.csv:1: job "migrate": the accounts file has a header but no account`}},
		{"empty", "",
			[]string{`/etc/mailferry/users.csv: job "migrate": the accounts file is empty: it needs a header row (source-user,dest-user,…) and a row per account`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, migrationTemplate, map[string]string{"/etc/mailferry/users.csv": tc.csv})
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("error\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestAccountsUserWithoutPlaceholder(t *testing.T) {
	_, err := parse(t, "jobs:\n  - name: m\n    source: imaps://fixed@old.example\n    destination: maildir:/b/{dest-user}\n    accounts: u.csv\n",
		map[string]string{"/etc/mailferry/u.csv": "source-user,dest-user\nalice,alice\n"})
	want := `/etc/mailferry/u.csv:2: job "m": source-user: the row's source-user has nowhere to go: the source (/etc/mailferry/jobs.yaml:3) has no {source-user}`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// accountsCSV is an accounts file of n rows.
func accountsCSV(n int) string {
	var b strings.Builder
	b.WriteString("source-user,dest-user,source-password-file,connections\n")
	for i := range n {
		fmt.Fprintf(&b, "user%04d@old.example,user%04d@new.example,/etc/mailferry/pw/%04d,%d\n", i, i, i, 1+i%4)
	}
	return b.String()
}

func TestAccountsThousandRows(t *testing.T) {
	plan, err := parse(t, migrationTemplate, map[string]string{"/etc/mailferry/users.csv": accountsCSV(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 1000 || plan.Jobs[999].Name != "migrate/user0999@old.example" {
		t.Fatalf("%d jobs, last %q", len(plan.Jobs), plan.Jobs[len(plan.Jobs)-1].Name)
	}
}

// BenchmarkPlanThousandAccounts is the planning of a run over 1,000
// accounts: reading the jobs file, expanding the CSV and picking one
// shard's jobs. It must be instant next to any copy (well under a second).
func BenchmarkPlanThousandAccounts(b *testing.B) {
	files := map[string][]byte{"/etc/mailferry/users.csv": []byte(accountsCSV(1000))}
	read := func(path string) ([]byte, error) { return files[path], nil }
	b.ReportAllocs()
	for b.Loop() {
		plan, err := jobs.Parse("/etc/mailferry/jobs.yaml", []byte(migrationTemplate), testKeys, jobs.Options{ReadFile: read})
		if err != nil || len(plan.Jobs) != 1000 {
			b.Fatal(err)
		}
		if len(jobs.InShard(plan.Jobs, 1, 3)) == 0 {
			b.Fatal("empty shard")
		}
	}
}
