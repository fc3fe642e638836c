package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/plural"
	imapsink "github.com/mailferry/mailferry/sink/imap"
	"github.com/mailferry/mailferry/transfer"
)

func copyCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "include", Category: catFilter, Usage: "copy only folders matching `REGEX` (repeatable)"},
		&cli.StringSliceFlag{Name: "exclude", Category: catFilter, Usage: "skip folders matching `REGEX` (repeatable)"},
		&cli.StringSliceFlag{Name: "map", Category: catFilter, Usage: "rename folder `OLD=NEW` at the destination; subfolders follow (repeatable)"},
		&cli.StringSliceFlag{Name: "map-regex", Category: catFilter, Usage: "rename folders whose whole name matches `REGEX=NEW`, $1 for groups: 'Archive/(\\d+)=Old/$1' (repeatable)"},
		&cli.StringFlag{Name: "since", Category: catFilter, Usage: "only messages that arrived on or after `DATE` (YYYY-MM-DD, or an age: 30d, 12h, 2w, 6m, 2y)"},
		&cli.StringFlag{Name: "before", Category: catFilter, Usage: "only messages that arrived before `DATE` (YYYY-MM-DD, or an age: 2y is older than two years)"},
		&cli.StringFlag{Name: "max-size", Category: catFilter, Usage: "skip messages larger than `SIZE` (10M, 1.5G, or bytes)"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "dry-run", Aliases: []string{"n"}, Category: catRun, Usage: "print what would be copied; write nothing, not even the state file"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "delete-source", Category: catRun, Usage: "delete messages from the source once their copy is durable and recorded"},
		&cli.IntFlag{Name: "keep-days", Category: catRun, Usage: "with --delete-source: delete only messages first copied at least `N` days ago"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "delete-extraneous", Category: catRun, Usage: "delete from DEST the copies mailferry made of messages since gone from SOURCE (IMAP and Maildir destinations)"},
		&cli.StringFlag{Name: "bwlimit", Category: catRun, Usage: "read at most `RATE` bytes a second from the source, over all connections: 512K, 10M"},
		&cli.Float64Flag{Name: "max-messages-per-second", Category: catRun, Usage: "store at most `N` messages a second, over all connections (0.5 is one every 2 s)"},
		presetFlag(),
		&cli.BoolFlag{DisableDefaultText: true, Name: "verify", Category: catRun, Usage: "after copying, verify that DEST holds every selected SOURCE message (content, flags, dates); exit 3 on a difference"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "folders-only", Category: catRun, Usage: "create the destination's folders and copy no message"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "no-sync-flags", Category: catRun, Usage: "do not carry changed flags of messages copied earlier (IMAP and Maildir destinations)"},
		&cli.IntFlag{Name: "connections", Category: catRun, Value: 4, Usage: "open at most `N` connections to each server"},
		&cli.StringFlag{Name: "state", Category: catRun, Usage: "keep the record of copied messages in `FILE` (default: inside the destination archive, else JOB.state in the state directory)"},
		stateDirFlag(),
		tempDirFlag(),
		&cli.StringFlag{Name: "metrics-file", Category: catOutput, Usage: "put the run's Prometheus metrics into `FILE` (atomically, at the end; other jobs' series in it are kept)"},
		&cli.StringFlag{Name: "metrics-push", Category: catOutput, Usage: "push the run's Prometheus metrics to the Pushgateway at `URL` (http://HOST:9091), grouped by job"},
		&cli.StringFlag{Name: "log-file", Category: catOutput, Usage: "append the run's failures, warnings, per-folder counts and summary to `FILE`, with timestamps (JSON lines with --json), whatever -q or -v say"},
		&cli.StringFlag{Name: "report", Category: catOutput, Usage: "write a JSON report of the run to `FILE` ({job} in it: the job's name): per folder copied, skipped, filtered, failed and bytes, and every failure"},
		&cli.StringFlag{Name: "job-name", Category: catOutput, Usage: "name the job `NAME` in metrics, logs, reports and the state list (default: \"SOURCE → DEST\")"},
	}
	flags = append(flags, archiveFlags()...)
	flags = append(flags, outputFlags()...)
	flags = append(flags, secretFlags("source", "MAILFERRY_SOURCE_PASSWORD")...)
	flags = append(flags, secretFlags("dest", "MAILFERRY_DEST_PASSWORD")...)
	flags = append(flags, serverFlags()...)
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy what is new from SOURCE to DEST (safe to re-run: nothing is copied twice)",
		ArgsUsage: "SOURCE DEST",
		Description: `Copies every folder of SOURCE to DEST with flags, keywords and arrival dates.
A state file records what was copied, so a re-run copies only what is new;
without it, messages already at DEST are recognised by their fingerprint.
Options may come before or after the endpoints.

Endpoints:
  imaps://USER@HOST[:PORT]   imap://USER@HOST[?tls=none]   pop3s://USER@HOST   pop3://USER@HOST
  maildir:PATH[?layout=fs]   mbox:PATH (a directory of mbox files, or one .mbox file)

Passwords come from --source-password-file/-command, --dest-password-file/-command,
$MAILFERRY_SOURCE_PASSWORD / $MAILFERRY_DEST_PASSWORD, or a prompt on a terminal.

Examples:
  # nightly backup from cron: quiet unless something is wrong, metrics for monitoring
  mailferry copy imaps://alice%40example.com@imap.example.com maildir:/backup/alice \
      --source-password-file /etc/mailferry/alice.pw -q --metrics-file /var/lib/node_exporter/mailferry.prom

  # provider migration: look first, copy, then copy the final delta after the MX switch
  mailferry copy imaps://alice@old.example imaps://alice@new.example --dry-run
  mailferry copy imaps://alice@old.example imaps://alice@new.example --map 'Sent Items=Sent'

  # an old POP3-era mbox archive back onto IMAP
  mailferry copy mbox:~/Mail imaps://alice@imap.example.com --exclude '^Trash$'

  # a Google Takeout (labels become folders), each message once
  mailferry copy "mbox:Takeout/Mail/All mail Including Spam and Trash.mbox" imaps://alice@imap.example.com --dedupe-across-folders

Exit codes: 0 done, 1 failed, 2 usage error, 3 some messages failed, 4 done but metrics or report not recorded, 130 interrupted (SIGINT), 143 stopped (SIGTERM).`,
		Flags:  flags,
		Action: copyAction,
	}
}

// copyConfig is a parsed copy command line.
type copyConfig struct {
	ends
	// Job names the copy in metrics, logs, reports and the state list.
	Job       string
	Options   transfer.Options
	StateFile string
	// StateDir is --state-dir: where state files without a place in the
	// destination, IMAP destinations' locks and the job index live.
	StateDir string
	// Report is the --report file, "" for none.
	Report string
	// SizeLimit is the largest message the destination takes (--preset).
	SizeLimit imapsink.SizeLimit
	Metrics   metricsTargets
}

func copyAction(c *cli.Context) error {
	_, err := copyRun(c, osTerminal())
	return err
}

// copyRun is the work of the copy command on its parsed command line:
// parse, copy, verify with --verify, print the summary and write the
// metrics. Secrets the user is asked for come through t. It returns the
// run's summary and its outcome (a reportedError once it was shown);
// `copy` and each job of `run` go through it.
func copyRun(c *cli.Context, t terminal) (transfer.Summary, error) {
	mode, err := outputFrom(c)
	if err != nil {
		return transfer.Summary{}, err
	}
	mode.DryRun = c.Bool("dry-run")
	rep := newReporter(mode, c.App.Writer, c.App.ErrWriter)
	start := time.Now()
	cfg, err := parseCopy(c)
	if path := c.String("log-file"); path != "" && cfg.Job != "" {
		log, f, lerr := openLogFile(path, mode.JSON, cfg.Job)
		if lerr != nil && err == nil {
			err = lerr
		}
		if lerr == nil {
			defer f.Close()
			rep.SetLog(log)
			rep.Log(slog.LevelInfo, "start", "source", cfg.Source.String(), "destination", cfg.Dest.String(), "dry_run", mode.DryRun)
		}
	}
	var sum transfer.Summary
	if err == nil {
		sum, err = runCopy(c.Context, cfg, rep, t)
	}
	if c.Bool("verify") && !mode.DryRun && (err == nil || exitCode(err) == exitPartial) {
		err = verifyAfterCopy(c.Context, cfg, mode, c, t, err)
	}
	if sum.Seconds == 0 {
		sum.Seconds = time.Since(start).Seconds()
	}
	rep.Finish(sum, err)
	if !mode.DryRun && cfg.Job != "" {
		err = recordJob(c.Context, cfg, sum, err, start, rep)
	}
	return sum, reported(err)
}

// recordJob writes what a finished job leaves for people and monitoring:
// its --report and its metrics. It returns the job's outcome: runErr, or
// when the job succeeded and one of them could not be written, a
// *monitoringError (exit code 4).
func recordJob(ctx context.Context, cfg copyConfig, sum transfer.Summary, runErr error, start time.Time, rep *reporter) error {
	end := time.Now()
	err := runErr
	if cfg.Report != "" {
		if rerr := writeReport(cfg.Report, newJobReport(cfg.Job, cfg.ends, sum, runErr, start, end)); rerr != nil {
			err = recordingFailed(rep, cfg.Job, &monitoringError{err: rerr}, err)
		}
	}
	if !cfg.Metrics.empty() {
		m := runMetrics{Job: cfg.Job, Summary: sum, ExitCode: exitCode(runErr), End: end}
		if merr := cfg.Metrics.record(ctx, m); merr != nil {
			err = recordingFailed(rep, cfg.Job, merr, err)
		}
	}
	return err
}

// recordingFailed reports that a job's report or metrics could not be
// written, on stderr and in the log, and returns the job's outcome: runErr
// when the job failed anyway (the problem is then a warning), else merr.
func recordingFailed(rep *reporter, job string, merr, runErr error) error {
	if runErr != nil {
		fmt.Fprintf(rep.stderr, "mailferry: warning: job %q: %s\n", job, safeError(merr))
		rep.Log(slog.LevelWarn, "warning", "message", merr.Error())
		return runErr
	}
	fmt.Fprintf(rep.stderr, "mailferry: job %q: %s; the copy itself succeeded (exit code %d)\n", job, safeError(merr), exitMonitoring)
	rep.Log(slog.LevelError, "error", "error", merr.Error(), "exit_code", exitMonitoring)
	return merr
}

// verifyAfterCopy runs verify on what copy selected (copy --verify): its
// differences are printed as verify prints them, before the copy's
// summary, and a difference makes the run exit 3. copyErr is the copy's own
// outcome, kept when it is worse.
func verifyAfterCopy(ctx context.Context, cfg copyConfig, mode outputMode, c *cli.Context, t terminal, copyErr error) error {
	out := &verifyOutput{mode: mode, stdout: c.App.Writer, stderr: c.App.ErrWriter}
	o := cfg.Options
	vcfg := verifyConfig{ends: cfg.ends, Options: transfer.VerifyOptions{
		Include: o.Include, Exclude: o.Exclude, Map: o.Map,
		Since: o.Since, Before: o.Before, MaxSize: o.MaxSize,
		Connections:  o.Connections,
		OnDifference: out.difference, OnFolder: out.folder, Warn: out.warn,
	}}
	res, err := runVerify(ctx, vcfg, out, t)
	if err == nil && !res.OK() {
		err = &differencesError{res: res}
	}
	out.finishAfterCopy(res, err)
	if copyErr != nil {
		return copyErr
	}
	return err
}

// parseCopy turns the command line into a copyConfig; every error is a
// usage error.
func parseCopy(c *cli.Context) (copyConfig, error) {
	var cfg copyConfig
	var err error
	if cfg.ends, err = parseEnds(c, "copy"); err != nil {
		return cfg, err
	}
	// The job and its metrics come first, so that a later usage error
	// is recorded too.
	if cfg.Metrics, err = metricsTargetsFrom(c.String("metrics-file"), c.String("metrics-push"), c.Duration("timeout")); err != nil {
		return cfg, err
	}
	if cfg.Job, err = jobNameFrom(c.String("job-name"), cfg.Source, cfg.Dest); err != nil {
		return cfg, err
	}
	if cfg.Dest.Scheme == "pop3" || cfg.Dest.Scheme == "pop3s" {
		return cfg, usageErrorf("destination %s: POP3 can only be read from; copy into imap://, imaps://, maildir: or mbox:", cfg.Dest)
	}
	if cfg.Source.String() == cfg.Dest.String() {
		return cfg, usageErrorf("source and destination are the same (%s)", cfg.Source)
	}
	if nested(cfg.Source, cfg.Dest) {
		return cfg, usageErrorf("destination %s and source %s overlap: one is inside the other, so the copy would write into the store it reads; choose a destination outside the source", cfg.Dest, cfg.Source)
	}
	cfg.StateFile = c.String("state")
	cfg.StateDir = c.String("state-dir")
	cfg.Report = reportFile(c.String("report"), cfg.Job)
	if err := checkReportPath(cfg.Report); err != nil {
		return cfg, err
	}

	sel, err := parseSelection(c)
	if err != nil {
		return cfg, err
	}
	o := &cfg.Options
	o.Include, o.Exclude, o.Map = sel.Include, sel.Exclude, sel.Map
	o.Since, o.Before, o.MaxSize = sel.Since, sel.Before, sel.MaxSize
	o.DryRun = c.Bool("dry-run")
	o.DeleteSource = c.Bool("delete-source")
	o.SyncFlags = !c.Bool("no-sync-flags")
	o.FoldersOnly = c.Bool("folders-only")
	o.DeleteExtraneous = c.Bool("delete-extraneous")
	p, err := presetFrom(c)
	if err != nil {
		return cfg, err
	}
	if p != (preset{}) {
		if !cfg.Dest.IsServer() {
			return cfg, usageErrorf("--preset %s sets the limits of a provider's IMAP server; the destination %s is not one", c.String("preset"), cfg.Dest)
		}
		if p.Bandwidth > 0 && !c.IsSet("bwlimit") {
			o.Bandwidth = transfer.NewThrottle(float64(p.Bandwidth))
		}
		if p.MessagesPerSecond > 0 && !c.IsSet("max-messages-per-second") {
			o.Messages = transfer.NewThrottle(p.MessagesPerSecond)
		}
		cfg.SizeLimit = imapsink.SizeLimit{Bytes: p.MaxMessage, Why: "--preset " + c.String("preset")}
	}
	if s := c.String("bwlimit"); s != "" {
		rate, err := parseSize(s)
		if err != nil || rate <= 0 {
			return cfg, usageErrorf("--bwlimit %q: expected bytes a second, such as 512K or 10M", s)
		}
		o.Bandwidth = transfer.NewThrottle(float64(rate))
	}
	if n := c.Float64("max-messages-per-second"); n != 0 {
		if n < 0 {
			return cfg, usageErrorf("--max-messages-per-second %g: must be more than 0", n)
		}
		o.Messages = transfer.NewThrottle(n)
	}
	if o.FoldersOnly && o.DeleteSource {
		return cfg, usageErrorf("--folders-only copies no message, so --delete-source would delete nothing; give one of them")
	}
	o.KeepDays = c.Int("keep-days")
	if o.KeepDays < 0 {
		return cfg, usageErrorf("--keep-days %d: must be 0 or more", o.KeepDays)
	}
	if o.KeepDays > 0 && !o.DeleteSource {
		return cfg, usageErrorf("--keep-days only makes sense with --delete-source")
	}
	if o.DeleteSource && !(cfg.Source.IsServer() || cfg.Source.Scheme == "maildir" || cfg.Source.Scheme == "mbox") {
		return cfg, usageErrorf("--delete-source: %s cannot delete messages", cfg.Source)
	}
	o.Connections = sel.Connections
	o.Workers = o.Connections
	o.SourceKey = cfg.Source.String()
	o.SpoolDir = cfg.TempDir
	return cfg, nil
}

func compileAll(flag string, exprs []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, usageErrorf("--%s %q: not a regular expression: %v", flag, e, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// runCopy opens both ends and the state file, runs the transfer and closes
// everything again, in that order, whatever happens. The source is opened
// in the background (openingSource), so the destination and the state file
// are opened while it connects and logs in.
func runCopy(ctx context.Context, cfg copyConfig, rep *reporter, t terminal) (sum transfer.Summary, err error) {
	defer func() { err = outcome(ctx, sum, err) }()
	srcCfg, dstCfg, err := cfg.prepare(ctx, cfg.Options.Connections, rep.Warn, t)
	if err != nil {
		return sum, err
	}
	dstCfg.SizeLimit = cfg.SizeLimit
	src := openInBackground(ctx, srcCfg)
	defer func() {
		if cerr := src.close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing source %s: %w", cfg.Source, cerr)
		}
	}()
	return copyFrom(ctx, src, cfg, dstCfg, rep)
}

// copyFrom copies from the source being opened into cfg.Dest: it opens the
// sink and the state file, runs the transfer and closes both again. What
// opening the destination would create (a new Maildir, a lock, a state
// file) waits until the source is open, so a source that cannot be opened
// (a wrong password) leaves nothing behind; a server, or a store with its
// state file from an earlier run, is opened meanwhile. The source's error
// comes first, as when the source was opened before the destination.
func copyFrom(ctx context.Context, opening *openingSource, cfg copyConfig, dstCfg endpointConfig, rep *reporter) (sum transfer.Summary, err error) {
	defer func() { err = outcome(ctx, sum, err) }()
	sourceFirst := func(err error) error {
		if _, serr := opening.wait(); serr != nil {
			return serr
		}
		return err
	}
	if !cfg.Dest.IsServer() && localMissing(cfg.Dest) {
		if _, err := opening.wait(); err != nil {
			return sum, err
		}
	}

	var dst transfer.Sink
	dstCfg.ReadOnly = cfg.Options.DryRun
	if cfg.Options.DryRun && localMissing(cfg.Dest) {
		dst = emptySink{}
	} else if dst, err = openSink(ctx, dstCfg); err != nil {
		return sum, sourceFirst(err)
	}
	statePathName, err := statePath(cfg, dst, cfg.Options.DryRun)
	if err != nil {
		dst.Close()
		return sum, sourceFirst(err)
	}
	if _, serr := os.Stat(statePathName); serr != nil {
		if _, err := opening.wait(); err != nil {
			dst.Close()
			return sum, err
		}
	}
	if !cfg.Options.DryRun {
		lock, err := lockDestination(dst, cfg.Dest, cfg.StateDir)
		if err != nil {
			dst.Close()
			return sum, sourceFirst(err)
		}
		// Deferred before the sink's Close, so it is released after it:
		// an mbox sink makes its last messages durable when it closes.
		defer lock.Close()
	}
	defer func() {
		// Closing a sink flushes it: an error here means messages may
		// not be durable, so it fails the run.
		if cerr := dst.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing destination %s: %w", cfg.Dest, cerr)
		}
	}()

	opts := cfg.Options
	opts.Progress = rep
	journal, err := openState(statePathName, opts.DryRun)
	if err != nil {
		return sum, sourceFirst(err)
	}
	if journal != nil {
		defer func() {
			if cerr := journal.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("closing state file %s: %w", statePathName, cerr)
			}
		}()
	}
	opts.Journal = journal
	src, err := opening.wait()
	if err != nil {
		return sum, err
	}
	if journal != nil && !opts.DryRun {
		defer func() { rememberJob(cfg, statePathName, outcome(ctx, sum, err), rep) }()
	}
	if cfg.Dest.Scheme == "mbox" && mboxIsSingleFile(cfg.Dest.Path) {
		if err := flattenInto(ctx, src, &opts, cfg, rep); err != nil {
			return sum, err
		}
	}

	sum, err = transfer.Run(ctx, src, dst, opts)
	if err != nil && ctx.Err() == nil {
		err = describeRunError(err, cfg, sum)
	}
	return sum, err
}

// flattenInto sends every folder into the one folder a single mbox file
// holds, and warns when that merges several source folders.
func flattenInto(ctx context.Context, src transfer.Source, opts *transfer.Options, cfg copyConfig, rep *reporter) error {
	opts.FlattenTo = "INBOX"
	folders, err := src.Folders(ctx)
	if err != nil {
		return fmt.Errorf("listing folders of source %s: %w", cfg.Source, err)
	}
	var names []string
	for _, f := range folders {
		if opts.SelectsFolder(f.Name) {
			names = append(names, f.Name)
		}
	}
	if len(names) > 1 {
		rep.Warn(fmt.Sprintf("destination %s is a single mbox file, which holds one folder: the %d source folders %q are merged into it. "+
			"To keep folders apart, give a directory (mbox:DIR), or pick one folder with --include", cfg.Dest, len(names), names))
	}
	return nil
}

// describeRunError adds advice to the error that stopped a run.
func describeRunError(err error, cfg copyConfig, sum transfer.Summary) error {
	if errors.Is(err, transfer.ErrOverQuota) {
		return fmt.Errorf("copy %s → %s stopped: the destination is over its quota: %s (%s) %s copied and recorded before it refused more; "+
			"free space there or raise the quota, then run the same command again to copy the rest: %w",
			cfg.Source, cfg.Dest, plural.Count(sum.Copied, "message"), formatBytes(sum.Bytes), plural.Noun(sum.Copied, "was", "were"), err)
	}
	switch transfer.ClassOf(err) {
	case transfer.Temporary:
		return fmt.Errorf("copy %s → %s stopped: %w (the connection kept failing; what was copied is recorded, run again later)", cfg.Source, cfg.Dest, err)
	default:
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("copy %s → %s stopped: %w (check file permissions)", cfg.Source, cfg.Dest, err)
		}
		return fmt.Errorf("copy %s → %s stopped: %w", cfg.Source, cfg.Dest, err)
	}
}

// outcome is the error a finished copy reports: an interruption whatever
// else happened, a partialError when messages failed in an otherwise good
// run. It may be applied more than once.
func outcome(ctx context.Context, sum transfer.Summary, err error) error {
	var pe *partialError
	switch {
	case errors.Is(err, errInterrupted) || errors.As(err, &pe):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("%w: what was copied is recorded; run the same command again to continue", interruption(ctx))
	case err == nil && sum.Failed > 0:
		return &partialError{failed: sum.Failed}
	}
	return err
}
