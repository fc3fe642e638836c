package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/jobs"
	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run the copy jobs of a jobs file (YAML), one after another or in parallel",
		ArgsUsage: "JOBS.yaml",
		Description: `Runs every job of JOBS.yaml (or those named with --job) as 'mailferry copy' runs it.
A job is a name, a source, a destination and any copy option, spelled as the
flag without its dashes; defaults: holds options for every job:

  defaults:
    connections: 4
  jobs:
    - name: alice-backup
      source: imaps://alice%40example.com@imap.example.com
      destination: maildir:/srv/backup/alice
      source-password-file: /etc/mailferry/alice.pw
      exclude: ['^Trash$']

A job with accounts: FILE.csv (or --accounts) becomes one job per row of the
CSV, with {source-user} and {dest-user} in its values replaced by the row's.
A failing job does not stop the others; each prints its summary, the run a
total, and the exit code is the worst of the jobs'.

Examples:
  mailferry run --check /etc/mailferry/jobs.yaml        # validate, connect to nothing
  mailferry run /etc/mailferry/jobs.yaml -q --parallel 4
  mailferry run /etc/mailferry/jobs.yaml --job alice-backup
  mailferry run /etc/mailferry/jobs.yaml --shard 0/3    # the first of 3 slices of the jobs

In a Kubernetes Indexed Job, --shard defaults to $JOB_COMPLETION_INDEX of
$MAILFERRY_SHARDS (set it to the Job's completions).

Exit codes: the worst of the jobs': 0 every job done, 4 done but metrics or report not recorded, 3 a job had failed messages,
1 a job failed, 2 a usage or jobs file error, 130/143 interrupted.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "job", Category: catRun, Usage: "run only the job `NAME` (repeatable); the name of an accounts job selects all its rows"},
			&cli.IntFlag{Name: "parallel", Category: catRun, Value: 1, Usage: "run up to `N` jobs at once (jobs into one destination or state file still take turns)"},
			&cli.BoolFlag{DisableDefaultText: true, Name: "check", Category: catRun, Usage: "check the jobs file and every job's options, and that password files can be read; connect to nothing"},
			&cli.StringFlag{Name: "shard", Category: catRun, Usage: "run only slice `K/N` of the jobs (K from 0 to N-1), by a stable hash of each job's name; default $JOB_COMPLETION_INDEX/$MAILFERRY_SHARDS"},
			&cli.StringFlag{Name: "accounts", Category: catRun, Usage: "expand every job without accounts: into one job per row of CSV `FILE`"},
			&cli.BoolFlag{DisableDefaultText: true, Name: "dry-run", Aliases: []string{"n"}, Category: catRun, Usage: "every job prints what it would copy and writes nothing"},
			&cli.StringFlag{Name: "state-dir", Category: catRun, Usage: "keep every job's lock, job index entry and (into IMAP) state file and destination lock in `DIR`, in place of the jobs file's state-dir: (default $XDG_STATE_HOME/mailferry)"},
			&cli.StringFlag{Name: "log-file", Category: catOutput, Usage: "every job appends its failures, warnings, per-folder counts and summary to `FILE` (in place of the jobs file's log-file:)"},
			&cli.StringFlag{Name: "report", Category: catOutput, Usage: "every job writes its JSON report to `FILE`, which holds {job} (the job's name) when more than one job runs (in place of the jobs file's report:)"},
			&cli.StringFlag{Name: "metrics-file", Category: catOutput, Usage: "every job puts its Prometheus metrics into `FILE`, a series per job (in place of the jobs file's metrics-file:)"},
			&cli.StringFlag{Name: "metrics-push", Category: catOutput, Usage: "every job pushes its metrics to the Pushgateway at `URL` (in place of the jobs file's metrics-push:)"},
			&cli.BoolFlag{DisableDefaultText: true, Name: "json", Category: catOutput, Usage: "JSON lines on stdout, each with the job's name; the last is the run's summary"},
			&cli.BoolFlag{DisableDefaultText: true, Name: "quiet", Aliases: []string{"q"}, Category: catOutput, Usage: "print nothing unless something is wrong (for cron)"},
			&cli.BoolFlag{DisableDefaultText: true, Name: "verbose", Aliases: []string{"v"}, Category: catOutput, Usage: "print every message copied or skipped"},
		},
		Action: runAction,
	}
}

// jobOutcome is what one job of a run did: what a metrics or report
// writer records about it.
type jobOutcome struct {
	Job     string
	Summary transfer.Summary
	// Err is the job's error, nil when it was done; Code its exit code.
	Err        error
	Code       int
	Started    bool // false: the run was stopped before the job began
	Start, End time.Time
}

func runAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("run needs one jobs file (got %d arguments): mailferry run JOBS.yaml; see 'mailferry run --help'", c.NArg())
	}
	path := c.Args().First()
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	plan, err := jobs.Load(path, copyKeys(), jobs.Options{Accounts: c.String("accounts"), Refused: refusedKeys()})
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return err
		}
		var je *jobs.Error
		if errors.As(err, &je) {
			return jobsError(err)
		}
		return usageErrorf("%v", err)
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err := sharedReports(plan.Jobs); err != nil {
		return jobsError(err)
	}
	selected, err := jobs.Select(plan.Jobs, c.StringSlice("job"))
	if err != nil {
		return usageErrorf("%v", err)
	}
	shard, err := shardFrom(c.String("shard"), os.LookupEnv)
	if err != nil {
		return err
	}
	if shard.N > 0 {
		selected = jobs.InShard(selected, shard.K, shard.N)
	}
	if err := oneReportPerJob(c.String("report"), selected); err != nil {
		return err
	}
	var extra []string
	for _, f := range []string{"dry-run", "json", "quiet", "verbose"} {
		if c.Bool(f) {
			extra = append(extra, "--"+f)
		}
	}
	// The run's own output options apply to every job and win over the
	// jobs file's, as a command line wins over a configuration file.
	for _, f := range []string{"log-file", "report", "metrics-file", "metrics-push"} {
		if v := c.String(f); v != "" {
			extra = append(extra, "--"+f+"="+v)
		}
	}
	if dir := c.String("state-dir"); dir != "" {
		extra = append(extra, "--state-dir="+dir)
	}
	planned, err := checkJobs(c.Context, selected, extra)
	if err != nil {
		return err
	}
	parallel := c.Int("parallel")
	if parallel < 1 || parallel > 256 {
		return usageErrorf("--parallel %d: give a number from 1 to 256", parallel)
	}
	out := newRunOutput(c.Bool("json"), c.Bool("quiet"), stdout, stderr)
	if c.Bool("check") {
		// The jobs are listed even when a password file is missing: the
		// check may run where the secrets are not (before a deployment).
		var problems []error
		for _, p := range planned {
			if err := checkSecretFiles(p); err != nil {
				problems = append(problems, err)
			}
		}
		out.checked(path, planned, shard, len(problems))
		if len(problems) > 0 {
			return jobsError(errors.Join(problems...))
		}
		return nil
	}
	outcomes := runJobs(c.Context, planned, parallel, out)
	return reported(out.total(outcomes))
}

// checkJobs checks every job before any runs: a jobs file with a mistake
// runs nothing, as a command line with one does.
func checkJobs(ctx context.Context, selected []jobs.Job, extra []string) ([]plannedJob, error) {
	planned := make([]plannedJob, 0, len(selected))
	var problems []error
	for _, j := range selected {
		p, err := checkJob(ctx, j, extra)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		planned = append(planned, p)
	}
	if len(problems) > 0 {
		return nil, jobsError(errors.Join(problems...))
	}
	return planned, nil
}

// runJobs runs the planned jobs, up to parallel at once, in order. Jobs
// that share a destination or a state file take turns: at the same time
// they would refuse each other's lock. Once ctx is done no further job
// starts.
func runJobs(ctx context.Context, planned []plannedJob, parallel int, out runOutput) []jobOutcome {
	outcomes := make([]jobOutcome, len(planned))
	var resources sync.Map // resource name → *sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(planned)) {
		wg.Go(func() {
			for i := range next {
				p := planned[i]
				unlock := lockResources(&resources, p)
				if ctx.Err() != nil {
					// Stopped while this job waited for a worker
					// or for its destination.
					outcomes[i] = notStarted(ctx, p.Name)
				} else {
					outcomes[i] = runJob(ctx, p, out)
				}
				unlock()
			}
		})
	}
	for i := range planned {
		if ctx.Err() != nil {
			outcomes[i] = notStarted(ctx, planned[i].Name)
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return outcomes
}

// notStarted is the outcome of a job that a stopped run did not start.
func notStarted(ctx context.Context, name string) jobOutcome {
	err := interruption(ctx)
	return jobOutcome{Job: name, Err: err, Code: exitCode(err)}
}

// lockResources waits until no other job of this run uses p's destination
// or state file, and returns the function that releases them.
func lockResources(resources *sync.Map, p plannedJob) (unlock func()) {
	names := []string{"destination " + p.cfg.Dest.String()}
	if p.cfg.StateFile != "" {
		if abs, err := filepath.Abs(p.cfg.StateFile); err == nil {
			names = append(names, "state "+abs)
		}
	}
	slices.Sort(names) // one order for every job, so no two wait for each other
	var held []*sync.Mutex
	for _, n := range names {
		m, _ := resources.LoadOrStore(n, &sync.Mutex{})
		mu := m.(*sync.Mutex)
		mu.Lock()
		held = append(held, mu)
	}
	return func() {
		for _, mu := range held {
			mu.Unlock()
		}
	}
}

// runJob runs one job through the copy command, its output prefixed with
// its name, under the job's lock: a second mailferry that runs the same
// job (an overlapping cron run, two shards given the same slice) refuses
// it at once.
func runJob(ctx context.Context, p plannedJob, out runOutput) (o jobOutcome) {
	o = jobOutcome{Job: p.Name, Start: time.Now(), Started: true}
	stdout, stderr := out.forJob(p.Name)
	defer stdout.Flush()
	defer stderr.Flush()
	defer func() {
		o.End = time.Now()
		o.Code = exitCode(o.Err)
	}()
	if !p.cfg.Options.DryRun { // a dry run writes nothing, as copy's takes no lock
		lock, err := lockJob(p)
		if err != nil {
			o.Err = err
			fmt.Fprintf(stderr, "mailferry: %s\n", safeError(err))
			return o
		}
		defer lock.Close()
	}
	t := jobTerminal(p.Job, stderr)
	app := withCopyAction(stdout, stderr, func(c *cli.Context) error {
		var err error
		o.Summary, err = copyRun(c, t)
		return err
	})
	o.Err = app.RunContext(ctx, p.argv)
	var re *reportedError
	if o.Err != nil && !errors.As(o.Err, &re) {
		fmt.Fprintf(stderr, "mailferry: %s\n", safeError(o.Err))
	}
	return o
}

// lockJob takes the lock of job p, a file in the state directory named
// after the job's name and endpoints.
func lockJob(p plannedJob) (*transfer.Lock, error) {
	dir, err := stateDir(p.cfg.StateDir)
	if err != nil {
		return nil, usageErrorf("no place for the lock of job %q: %v", p.Name, err)
	}
	sum := sha256.Sum256([]byte(p.Name + "\n" + p.cfg.Source.String() + "\n" + p.cfg.Dest.String()))
	path := filepath.Join(dir, "locks", "job-"+hex.EncodeToString(sum[:8])+".lock")
	l, err := transfer.AcquireLock(path)
	if errors.Is(err, transfer.ErrInUse) {
		return nil, fmt.Errorf("job %q is being run by another mailferry run; it is left to that run: %w", p.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", p.Name, err)
	}
	return l, nil
}

// jobTerminal is where a job's secrets come from: never a prompt (jobs
// run unattended, perhaps side by side), the environment, and the job's
// inline passwords in place of the password variables.
func jobTerminal(j jobs.Job, stderr io.Writer) terminal {
	return terminal{stderr: stderr, env: func(name string) (string, bool) {
		switch {
		case name == passwordVars[0] && j.SourcePassword != "":
			return j.SourcePassword, true
		case name == passwordVars[1] && j.DestPassword != "":
			return j.DestPassword, true
		}
		return os.LookupEnv(name)
	}}
}

// shardSpec is which slice of the jobs this run takes; N 0 is all.
type shardSpec struct{ K, N int }

// shardFrom reads --shard K/N, or else JOB_COMPLETION_INDEX (which
// Kubernetes sets in each pod of an Indexed Job) for K and
// MAILFERRY_SHARDS (the Job's completions, which Kubernetes does not pass
// on) for N.
func shardFrom(flag string, env func(string) (string, bool)) (shardSpec, error) {
	if flag != "" {
		k, n, err := jobs.ParseShard(flag)
		if err != nil {
			return shardSpec{}, usageErrorf("--shard %v", err)
		}
		return shardSpec{k, n}, nil
	}
	index, hasIndex := env("JOB_COMPLETION_INDEX")
	shards, hasShards := env("MAILFERRY_SHARDS")
	switch {
	case !hasIndex && !hasShards:
		return shardSpec{}, nil
	case !hasShards:
		return shardSpec{}, usageErrorf("JOB_COMPLETION_INDEX=%s is set (a Kubernetes Indexed Job), but not MAILFERRY_SHARDS: set it to the Job's completions, or give --shard K/N", index)
	case !hasIndex:
		return shardSpec{}, usageErrorf("MAILFERRY_SHARDS=%s is set, but not JOB_COMPLETION_INDEX: give --shard K/N", shards)
	}
	k, n, err := jobs.ParseShard(index + "/" + shards)
	if err != nil {
		return shardSpec{}, usageErrorf("JOB_COMPLETION_INDEX and MAILFERRY_SHARDS: %v", err)
	}
	return shardSpec{k, n}, nil
}

// severity orders exit codes from best to worst, for the exit code of a
// run: interrupted, then a configuration error, a failure, failed
// messages, metrics not recorded, done.
func severity(code int) int {
	switch code {
	case exitOK:
		return 0
	case exitMonitoring:
		return 1
	case exitPartial:
		return 2
	case exitFailed:
		return 3
	case exitUsage:
		return 4
	}
	return 5
}

// jobsFailedError is a run in which some job did not finish cleanly; its
// exit code is the worst of the jobs'.
type jobsFailedError struct {
	code, failed, total int
}

func (e *jobsFailedError) Error() string {
	return fmt.Sprintf("%d of %s did not finish cleanly (exit code %d)", e.failed, plural.Count(e.total, "job"), e.code)
}

// worst is the run's outcome over the outcomes of its jobs.
func worst(outcomes []jobOutcome) error {
	code, failed := exitOK, 0
	for _, o := range outcomes {
		if o.Code != exitOK {
			failed++
		}
		if severity(o.Code) > severity(code) {
			code = o.Code
		}
	}
	if code == exitOK {
		return nil
	}
	return &jobsFailedError{code: code, failed: failed, total: len(outcomes)}
}
