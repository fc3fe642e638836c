package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/jobs"
)

// BenchmarkRunPlanThousandAccounts is what `mailferry run` does before the
// first job starts, for a template over 1,000 accounts: read the jobs file
// and the CSV, and check every job's copy command line as copy parses it.
// It must be instant next to any copy.
func BenchmarkRunPlanThousandAccounts(b *testing.B) {
	dir := b.TempDir()
	var csv strings.Builder
	csv.WriteString("source-user,dest-user,source-password-file\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "user%04d@old.example,user%04d@new.example,/etc/mailferry/pw/%04d\n", i, i, i)
	}
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o600)
	jobsFile := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobsFile, []byte(`defaults:
  connections: 4
  exclude: ['^Trash$']
jobs:
  - name: migrate
    source: imaps://{source-user}@imap.old.example
    destination: imaps://{dest-user}@imap.new.example
    dest-password-file: /etc/mailferry/new/{dest-user}
    map: ['Sent Items=Sent']
    accounts: users.csv
`), 0o600)
	keys := copyKeys()
	b.ReportAllocs()
	for b.Loop() {
		plan, err := jobs.Load(jobsFile, keys, jobs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		planned, err := checkJobs(context.Background(), jobs.InShard(plan.Jobs, 0, 1), nil)
		if err != nil || len(planned) != 1000 {
			b.Fatal(len(planned), err)
		}
	}
}
