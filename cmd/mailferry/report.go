package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// jobReport is the --report file: what one job did, folder by folder,
// and each message that failed; what a migration hands to its customer.
// Its field names are a contract, like the --json lines.
type jobReport struct {
	Job         string            `json:"job"`
	Source      string            `json:"source"`
	Destination string            `json:"destination"`
	Started     time.Time         `json:"started"`
	Ended       time.Time         `json:"ended"`
	ExitCode    int               `json:"exit_code"`
	Error       string            `json:"error,omitempty"`
	Summary     reportSummary     `json:"summary"`
	Folders     []reportFolder    `json:"folders"`
	Failures    []reportFailure   `json:"failures"`
	Renamed     map[string]string `json:"renamed,omitempty"`
}

type reportSummary struct {
	Copied         int     `json:"copied"`
	Skipped        int     `json:"skipped"`
	Filtered       int     `json:"filtered"`
	Failed         int     `json:"failed"`
	Bytes          int64   `json:"bytes"`
	Seconds        float64 `json:"seconds"`
	FlagsSynced    int     `json:"flags_synced"`
	FoldersCreated int     `json:"folders_created"`
	DestDeleted    int     `json:"dest_deleted"`
	SourceDeleted  int     `json:"source_deleted"`
}

// reportFolder is what the report and the folder-summary line of --json
// say of one source folder.
type reportFolder struct {
	Folder   string `json:"folder"`
	Dest     string `json:"dest"`
	Copied   int    `json:"copied"`
	Skipped  int    `json:"skipped"`
	Filtered int    `json:"filtered"`
	Failed   int    `json:"failed"`
	Bytes    int64  `json:"bytes"`
}

type reportFailure struct {
	Folder  string `json:"folder"`
	ID      string `json:"id,omitempty"`
	Dest    string `json:"dest,omitempty"`
	Subject string `json:"subject,omitempty"`
	Error   string `json:"error"`
}

// reportFile is the file --report names for job: "{job}" in it stands
// for the job's name, so the jobs of a run that share one report option
// each write their own.
func reportFile(option, job string) string {
	return strings.ReplaceAll(option, "{job}", jobFileName(job))
}

// newJobReport describes a finished job.
func newJobReport(job string, e ends, sum transfer.Summary, runErr error, started, ended time.Time) jobReport {
	r := jobReport{
		Job: job, Source: e.Source.String(), Destination: e.Dest.String(),
		Started: started.UTC(), Ended: ended.UTC(), ExitCode: exitCode(runErr),
		Summary: reportSummary{Copied: sum.Copied, Skipped: sum.Skipped, Filtered: sum.Filtered, Failed: sum.Failed,
			Bytes: sum.Bytes, Seconds: roundSeconds(sum.Seconds), FlagsSynced: sum.FlagsSynced, FoldersCreated: sum.FoldersCreated,
			DestDeleted: sum.DestDeleted, SourceDeleted: sum.Deleted},
		Folders:  []reportFolder{},
		Failures: []reportFailure{},
		Renamed:  sum.Renamed,
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	for _, f := range sum.Folders {
		r.Folders = append(r.Folders, reportFolder(f))
	}
	for _, err := range sum.Failures {
		var me *transfer.MessageError
		if !errors.As(err, &me) {
			r.Failures = append(r.Failures, reportFailure{Error: err.Error()})
			continue
		}
		r.Failures = append(r.Failures, reportFailure{Folder: me.Folder, ID: me.ID, Dest: me.Dest, Subject: me.Subject, Error: me.Err.Error()})
	}
	return r
}

// checkReportPath refuses, before the run, a --report whose directory
// does not exist: the run's work would end with nowhere to describe it.
func checkReportPath(path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return usageErrorf("--report %s: directory %s does not exist", path, filepath.Dir(path))
	}
	return nil
}

// writeReport replaces the file at path with r, atomically.
func writeReport(path string, r jobReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--report %s: %w", path, err)
	}
	return nil
}
