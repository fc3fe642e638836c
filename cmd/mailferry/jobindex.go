package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// jobEntry is what the job index records of a job: which state file it
// uses, and how its last run ended. The index is one JSON file per job in
// the state directory's jobs/ (named by jobFileName), so `state list` finds
// the state files kept inside destinations too, and runs of different
// jobs never write the same file.
type jobEntry struct {
	Job         string    `json:"job"`
	State       string    `json:"state"`
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	LastRun     time.Time `json:"last_run"`
	ExitCode    int       `json:"exit_code"`
}

func jobIndexDir(stateDir string) string { return filepath.Join(stateDir, "jobs") }

func jobEntryPath(stateDir, job string) string {
	return filepath.Join(jobIndexDir(stateDir), jobFileName(job)+".json")
}

// writeJobEntry records e in the index of stateDir, atomically. When the
// entry there differs from e only in the time of the last run, as it does
// after every run of a scheduled job that ends as the one before, it is
// replaced without waiting for the disk: a crash may cost the index that
// time, and a job with nothing new then makes the disk flush nothing.
func writeJobEntry(stateDir string, e jobEntry) error {
	if err := os.MkdirAll(jobIndexDir(stateDir), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	path := jobEntryPath(stateDir, e.Job)
	var old jobEntry
	durable := true
	if prev, err := os.ReadFile(path); err == nil && json.Unmarshal(prev, &old) == nil {
		old.LastRun = e.LastRun
		durable = old != e
	}
	return replaceFile(path, append(b, '\n'), 0o600, durable)
}

// readJobEntries returns the index of stateDir, sorted by job. A file
// that is not an entry (damaged, or written by something else) is passed
// over with a warning naming it: one bad file must not hide every job.
func readJobEntries(stateDir string, warn func(string)) ([]jobEntry, error) {
	dir := jobIndexDir(stateDir)
	files, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []jobEntry
	for _, f := range files {
		if f.IsDir() || !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, f.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var e jobEntry
		if err := json.Unmarshal(b, &e); err != nil {
			warn(fmt.Sprintf("%s is not a job entry of mailferry's, passed over: %v", path, err))
			continue
		}
		if e.Job == "" {
			warn(fmt.Sprintf("%s is not a job entry of mailferry's (it names no job), passed over", path))
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b jobEntry) int { return strings.Compare(a.Job, b.Job) })
	return out, nil
}

// rememberJob records in the job index that cfg's job used the state
// file at state and ended with runErr. It does not fail the run: the
// index only serves `state list` and `state forget`.
func rememberJob(cfg copyConfig, state string, runErr error, rep *reporter) {
	if cfg.Job == "" {
		// Only a configuration built without the command line has no
		// name; an entry without one could not be listed or forgotten.
		return
	}
	dir, err := stateDir(cfg.StateDir)
	if err == nil {
		err = writeJobEntry(dir, jobEntry{Job: cfg.Job, State: state, Source: cfg.Source.String(),
			Destination: cfg.Dest.String(), LastRun: time.Now().UTC(), ExitCode: exitCode(runErr)})
	}
	if err != nil {
		rep.Warn(fmt.Sprintf("the job index (for mailferry state list) was not updated: %v", err))
	}
}
