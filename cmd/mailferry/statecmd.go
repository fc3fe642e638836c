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
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/transfer"
)

func stateDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "state-dir", Category: catRun,
		Usage: "keep state files that have no place in the destination (IMAP), the locks of IMAP destinations and of run's jobs, and the job index in `DIR` (default $XDG_STATE_HOME/mailferry)"}
}

func stateCommand() *cli.Command {
	return &cli.Command{
		Name:  "state",
		Usage: "list the jobs' state files, or forget one job's",
		Description: `The state file of a job records what it copied, so that a re-run is fast.
Every copy records in the job index (DIR/jobs/, DIR being --state-dir or
$XDG_STATE_HOME/mailferry) which state file its job uses, wherever that is.

  mailferry state list                 every job: its state file, size, last run, exit code
  mailferry state forget alice-backup  delete that job's state file and entry

Forgetting is safe: the next run matches what the destination holds by
identity and copies nothing twice; it only reads more to find out.`,
		ArgsUsage: "list | forget JOB",
		Flags: []cli.Flag{stateDirFlag(),
			&cli.BoolFlag{DisableDefaultText: true, Name: "json", Category: catOutput, Usage: "state list: print one JSON object per job"}},
		Action: stateAction,
	}
}

// stateAction runs `state list` or `state forget JOB`. They are words
// of one command rather than subcommands, so that options may come
// anywhere, as for every other command.
func stateAction(c *cli.Context) error {
	args := c.Args().Slice()
	switch {
	case len(args) > 0 && args[0] == "list":
		if len(args) != 1 {
			return usageErrorf("state list takes no arguments (got %q); see 'mailferry state --help'", args[1:])
		}
		return stateList(c)
	case len(args) > 0 && args[0] == "forget":
		if len(args) != 2 {
			return usageErrorf("state forget needs one job name (got %d arguments): mailferry state forget JOB; 'mailferry state list' shows them", len(args)-1)
		}
		return stateForget(c, args[1])
	case len(args) == 0:
		return usageErrorf("state needs list or forget JOB; see 'mailferry state --help'")
	}
	return usageErrorf("state %q: expected list or forget JOB; see 'mailferry state --help'", args[0])
}

// stateRow is one line of `state list`.
type stateRow struct {
	Job         string `json:"job"`
	State       string `json:"state"`
	Size        int64  `json:"size"`
	Missing     bool   `json:"missing,omitempty"`
	LastRun     string `json:"last_run,omitempty"`
	ExitCode    *int   `json:"exit_code,omitempty"`
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// stateRows is the job index, and the state files in dir that no entry
// names (written before the index, or by `copy --state` into dir): those
// show with job "?" and their file's time.
func stateRows(dir string, warn func(string)) ([]stateRow, error) {
	entries, err := readJobEntries(dir, warn)
	if err != nil {
		return nil, err
	}
	var rows []stateRow
	named := make(map[string]bool)
	for _, e := range entries {
		code := e.ExitCode
		row := stateRow{Job: e.Job, State: e.State, LastRun: e.LastRun.Local().Format("2006-01-02 15:04"), ExitCode: &code,
			Source: e.Source, Destination: e.Destination}
		if st, err := os.Stat(e.State); err == nil {
			row.Size = st.Size()
		} else {
			row.Missing = true
		}
		named[e.State] = true
		rows = append(rows, row)
	}
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		if f.IsDir() || !strings.HasSuffix(f.Name(), ".state") || named[path] {
			continue
		}
		st, err := f.Info()
		if err != nil {
			continue
		}
		rows = append(rows, stateRow{Job: "?", State: path, Size: st.Size(), LastRun: st.ModTime().Local().Format("2006-01-02 15:04")})
	}
	return rows, nil
}

// stateWarning prints a warning of the state commands on stderr.
func stateWarning(c *cli.Context) func(string) {
	return func(s string) { fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", safeText(s)) }
}

func stateList(c *cli.Context) error {
	dir, err := stateDir(c.String("state-dir"))
	if err != nil {
		return usageErrorf("no state directory: %v; give --state-dir DIR", err)
	}
	rows, err := stateRows(dir, stateWarning(c))
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "no jobs have run with the state directory %s\n", dir)
		return nil
	}
	jobW, pathW := len("JOB"), len("STATE FILE")
	for _, r := range rows {
		jobW = max(jobW, utf8.RuneCountInString(safeText(r.Job)))
		pathW = max(pathW, utf8.RuneCountInString(safeText(r.State)))
	}
	line := func(job, path, size, last, exit string) {
		fmt.Fprintf(w, "%s  %s  %10s  %-16s  %s\n", padRight(job, jobW), padRight(path, pathW), size, last, exit)
	}
	line("JOB", "STATE FILE", "SIZE", "LAST RUN", "EXIT")
	for _, r := range rows {
		size := formatBytes(r.Size)
		if r.Missing {
			size = "missing"
		}
		exit := "-"
		if r.ExitCode != nil {
			exit = fmt.Sprint(*r.ExitCode)
		}
		line(safeText(r.Job), safeText(r.State), size, r.LastRun, exit)
	}
	return nil
}

func stateForget(c *cli.Context, job string) error {
	dir, err := stateDir(c.String("state-dir"))
	if err != nil {
		return usageErrorf("no state directory: %v; give --state-dir DIR", err)
	}
	entries, err := readJobEntries(dir, stateWarning(c))
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	i := slices.IndexFunc(entries, func(e jobEntry) bool { return e.Job == job })
	if i < 0 {
		var names []string
		for _, e := range entries {
			names = append(names, fmt.Sprintf("%q", e.Job))
		}
		known := "no job has run with it"
		if len(names) > 0 {
			known = "its jobs are " + strings.Join(names, ", ")
		}
		return usageErrorf("state forget: no job %q in the state directory %s (%s)", job, dir, known)
	}
	e := entries[i]
	removed, err := removeStateFile(e.State)
	if err != nil {
		return err
	}
	if err := os.Remove(jobEntryPath(dir, e.Job)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state forget %q: %w", job, err)
	}
	if removed {
		fmt.Fprintf(c.App.Writer, "forgot job %q: removed its state file %s; its next run reads what the destination holds and copies nothing twice\n", job, e.State)
	} else {
		fmt.Fprintf(c.App.Writer, "forgot job %q (its state file %s was gone already)\n", job, e.State)
	}
	return nil
}

// removeStateFile deletes a state file while holding its lock, so a run
// that uses it is not pulled from under it: that is refused (exit 1).
func removeStateFile(path string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	j, err := transfer.OpenJournal(path)
	if errors.Is(err, transfer.ErrLocked) {
		return false, fmt.Errorf("state file %s is in use by a mailferry run; forget it when the run has ended: %w", path, err)
	}
	if err != nil {
		return false, fmt.Errorf("state file %s: %w", path, err)
	}
	defer j.Close()
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("state file %s: %w", path, err)
	}
	return true, nil
}
