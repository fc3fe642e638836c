package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/jobs"
)

// FuzzParse: any jobs file gives jobs or errors that each name the file,
// never a panic; every job has a valid name, a source and a destination.
func FuzzParse(f *testing.F) {
	f.Add([]byte(migrationTemplate), []byte(accountsCSV(3)))
	f.Add([]byte("defaults:\n  connections: 4\njobs:\n  - name: a\n    source: mbox:/a\n    destination: maildir:/b\n    exclude: [x, y]\n"), []byte(""))
	f.Add([]byte("jobs:\n  - &j {name: a, source: *j, destination: [1]}\n"), []byte("source-user\n\"a\n"))
	f.Fuzz(func(t *testing.T, yamlText, csvText []byte) {
		read := func(string) ([]byte, error) { return csvText, nil }
		plan, err := jobs.Parse("f.yaml", yamlText, testKeys, jobs.Options{ReadFile: read})
		if err != nil {
			checkErrors(t, err)
			return
		}
		for _, j := range plan.Jobs {
			if j.Name == "" || len(j.Source.Values) != 1 || len(j.Destination.Values) != 1 {
				t.Fatalf("job %+v", j)
			}
		}
	})
}

// FuzzAccounts: any accounts file under a fixed template gives jobs whose
// names are unique, or errors naming the file.
func FuzzAccounts(f *testing.F) {
	f.Add([]byte(accountsCSV(5)))
	f.Add([]byte("source-user,dest-user,exclude,exclude\na,b,c,d\n#x\n\"q\"\"\",b,,\n"))
	f.Fuzz(func(t *testing.T, csvText []byte) {
		read := func(string) ([]byte, error) { return csvText, nil }
		plan, err := jobs.Parse("f.yaml", []byte(migrationTemplate), testKeys, jobs.Options{ReadFile: read})
		if err != nil {
			checkErrors(t, err)
			return
		}
		seen := map[string]bool{}
		for _, j := range plan.Jobs {
			if seen[j.Name] || !strings.HasPrefix(j.Name, "migrate/") {
				t.Fatalf("job name %q", j.Name)
			}
			seen[j.Name] = true
		}
	})
}

func checkErrors(t *testing.T, err error) {
	t.Helper()
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var je *jobs.Error
		if !errors.As(e, &je) || !strings.HasPrefix(e.Error(), je.Where.File) || je.Where.File == "" {
			t.Fatalf("error %q does not name its file", e)
		}
	}
}
