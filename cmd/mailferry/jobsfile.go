package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/jobs"
)

// copyKeys are the options a job may set: every flag of the copy command,
// by its long name, with the kind of value it takes. They are read from
// the command's own definitions, so a new copy option is a jobs file key
// too. --job-name is not one: a job's name: is its job name.
func copyKeys() jobs.Keys {
	keys := jobs.Keys{}
	for _, f := range copyCommand().Flags {
		if f.Names()[0] == "job-name" {
			continue
		}
		kind := jobs.String
		switch f.(type) {
		case *cli.StringSliceFlag:
			kind = jobs.List
		case *cli.BoolFlag:
			kind = jobs.Bool
		case *cli.IntFlag:
			kind = jobs.Int
		case *cli.Float64Flag:
			kind = jobs.Float
		case *cli.DurationFlag:
			kind = jobs.Duration
		}
		keys[f.Names()[0]] = kind
	}
	return keys
}

// refusedKeys are the copy options a jobs file does not take, with what
// to write instead.
func refusedKeys() map[string]string {
	return map[string]string{
		"job-name": "not a key of a jobs file: a job's name: is what names it in metrics, logs, reports and the state list",
	}
}

// sharedReports finds jobs that name one report file, over all the jobs of
// the file (those of other shards too, which may write it on a shared
// volume): the later job's report would replace the earlier's, and a
// migration would hand over one account's report for two.
func sharedReports(all []jobs.Job) error {
	var problems []error
	reportClashes(all, func(j jobs.Job) string {
		if o, ok := j.Option("report"); ok && len(o.Values) > 0 {
			return o.Values[0]
		}
		return ""
	}, func(j jobs.Job, report, other string) {
		o, _ := j.Option("report")
		problems = append(problems, &jobs.Error{Where: o.Where, Job: j.Name, Key: "report",
			Msg: fmt.Sprintf("%s is the report of job %q too, and each job replaces the file: give every job a report of its own "+
				"({job} in its name stands for the job's name)", report, other)})
	})
	return errors.Join(problems...)
}

// oneReportPerJob refuses a run's --report that would name one file for
// several of the jobs that run.
func oneReportPerJob(report string, selected []jobs.Job) error {
	var err error
	reportClashes(selected, func(jobs.Job) string { return report }, func(j jobs.Job, report, other string) {
		if err == nil {
			err = usageErrorf("--report %s: jobs %q and %q would both write %s, and each job replaces the file: put {job} in the name (it stands for the job's name)",
				report, other, j.Name, filepath.Clean(reportFile(report, j.Name)))
		}
	})
	return err
}

// reportClashes calls clash for every job whose report file (report(j),
// {job} replaced; "" for none) an earlier job of all writes too, with
// that earlier job's name.
func reportClashes(all []jobs.Job, report func(jobs.Job) string, clash func(j jobs.Job, report, other string)) {
	first := map[string]string{} // cleaned path → job
	for _, j := range all {
		r := report(j)
		if r == "" {
			continue
		}
		path := filepath.Clean(reportFile(r, j.Name))
		if other, dup := first[path]; dup {
			clash(j, r, other)
			continue
		}
		first[path] = j.Name
	}
}

// plannedJob is a job of the jobs file, checked and ready to run.
type plannedJob struct {
	jobs.Job
	// argv is the job as a copy command line.
	argv []string
	// cfg is that command line parsed, as copy parses it.
	cfg copyConfig
}

// copyArgv is the copy command line of job j: every option as
// --key=value (so a value that starts with a dash stays a value), the
// job's name (which names it in metrics and state), then extra (the run's
// own output options, which win), then the endpoints.
func copyArgv(j jobs.Job, extra []string) []string {
	argv := []string{"mailferry", "copy"}
	for _, o := range j.Options {
		for _, v := range o.Values {
			argv = append(argv, "--"+o.Key+"="+v)
		}
	}
	argv = append(argv, "--job-name="+j.Name)
	argv = append(argv, extra...)
	return append(argv, "--", j.Source.Values[0], j.Destination.Values[0])
}

// withCopyAction returns the app of stdout and stderr whose copy command
// runs action instead of copying.
func withCopyAction(stdout, stderr io.Writer, action cli.ActionFunc) *cli.App {
	app := newApp(stdout, stderr)
	for _, c := range app.Commands {
		if c.Name == "copy" {
			c.Action = action
		}
	}
	return app
}

// checkJob parses job j's copy command line as copy does, without
// connecting to anything, and says what is wrong with it, naming the file,
// line and key.
//
// It gives the copy command's own flags the command line, as urfave/cli
// does before it calls the command's action, and calls copy's parsing:
// the whole of App.Run costs about a millisecond a job in urfave/cli's
// flag bookkeeping, which for a thousand accounts is no longer instant.
// The values were already checked by kind, so nothing urfave/cli would
// reject reaches this.
func checkJob(ctx context.Context, j jobs.Job, extra []string) (plannedJob, error) {
	p := plannedJob{Job: j, argv: copyArgv(j, extra)}
	set := flag.NewFlagSet("copy", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range copyCommand().Flags {
		if err := f.Apply(set); err != nil {
			return p, err
		}
	}
	if err := set.Parse(p.argv[2:]); err != nil {
		return p, locate(j, usageErrorf("%v", err))
	}
	c := cli.NewContext(&cli.App{Writer: io.Discard, ErrWriter: io.Discard}, set, nil)
	c.Context = ctx
	if _, err := outputFrom(c); err != nil {
		return p, locate(j, err)
	}
	var err error
	if p.cfg, err = parseCopy(c); err != nil {
		return p, locate(j, err)
	}
	return p, nil
}

// checkSecretFiles opens the password files of job p (mailferry run
// --check), and says which cannot be read, naming file, line and key.
func checkSecretFiles(p plannedJob) error {
	for _, s := range []secretSource{p.cfg.SourceSecrets, p.cfg.DestSecrets} {
		if s.passwordFile == "" {
			continue
		}
		f, err := os.Open(s.passwordFile)
		if err != nil {
			return locate(p.Job, usageErrorf("--%s-password-file: %v", s.flagPrefix, err))
		}
		f.Close()
	}
	return nil
}

// locate turns the error copy's parsing gave for job j into one that
// names the file, line and key it comes from: the option the message
// names (--max-size), else the endpoint it is about, else the job.
func locate(j jobs.Job, err error) error {
	msg := err.Error()
	var ue *usageError
	if !errors.As(err, &ue) {
		return err
	}
	best := jobs.Option{}
	for _, o := range j.Options {
		if mentions(msg, "--"+o.Key) && len(o.Key) > len(best.Key) {
			best = o
		}
	}
	e := &jobs.Error{Where: j.Where, Job: j.Name, Msg: msg}
	switch {
	case best.Key != "":
		e.Where, e.Key = best.Where, best.Key
		e.Msg = strings.TrimPrefix(msg, "--"+best.Key+": ")
	case strings.HasPrefix(msg, "source endpoint"):
		e.Where, e.Key = j.Source.Where, jobs.KeySource
	case strings.HasPrefix(msg, "destination endpoint"), strings.HasPrefix(msg, "destination "+j.Destination.Values[0]):
		e.Where, e.Key = j.Destination.Where, jobs.KeyDestination
	}
	return usageErrorf("%s", e.Error())
}

// mentions reports whether msg names the flag, not merely a longer one
// that starts with it (--state in --state-dir).
func mentions(msg, flag string) bool {
	for i := 0; ; {
		k := strings.Index(msg[i:], flag)
		if k < 0 {
			return false
		}
		end := i + k + len(flag)
		if end == len(msg) || !isFlagChar(msg[end]) {
			return true
		}
		i = end
	}
}

func isFlagChar(c byte) bool { return c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// jobsError is a jobs file's problems as one usage error, a line each.
func jobsError(err error) error {
	var lines []string
	if list, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range list.Unwrap() {
			lines = append(lines, e.Error())
		}
	} else {
		lines = []string{err.Error()}
	}
	return usageErrorf("%s", strings.Join(slices.Compact(lines), "\nmailferry: "))
}
