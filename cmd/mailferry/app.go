package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newApp(stdout, stderr io.Writer) *cli.App {
	// -v is --verbose in every command; the version has only its long name.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version", DisableDefaultText: true}
	app := &cli.App{
		Name:    "mailferry",
		Usage:   "copy mail between IMAP, POP3, Maildir and mbox, and lose nothing",
		Version: versionString(),
		UsageText: `mailferry copy SOURCE DEST [options]     copy what is new (re-runnable)
mailferry verify SOURCE DEST [options]   prove DEST holds every SOURCE message
mailferry folders ENDPOINT [options]     list folders, message counts and sizes
mailferry run JOBS.yaml [options]        run the copy jobs of a jobs file
mailferry state list | forget JOB        the jobs' state files: list them, or forget one
mailferry demo [DIR]                     try it on sample mail, nothing to set up`,
		Description: `mailferry moves mail between stores, once or on a schedule:
  provider migrations   imaps://… → imaps://… with flags, dates and a final delta run
  scheduled backups     imaps:// or pop3s:// → maildir:/backup or mbox:/backup, from cron
  POP3-era archives     mbox:… or maildir:… → imaps://… so old mail is on every device

Endpoints: imaps://USER@HOST[:PORT], imap://USER@HOST (STARTTLS; ?tls=none for plaintext),
pop3s://USER@HOST, pop3://USER@HOST, maildir:PATH[?layout=fs], mbox:PATH.

Examples:
  mailferry demo
  mailferry folders imaps://alice%40example.com@imap.example.com
  mailferry copy imaps://alice@imap.example.com maildir:~/Backup/alice -q
  mailferry copy mbox:~/old-mail imaps://alice@imap.example.com --dry-run

Exit codes: 0 done, 1 failed, 2 usage error, 3 some messages failed, 4 done but metrics or report not recorded, 130 interrupted (SIGINT), 143 stopped (SIGTERM).`,
		Commands:        []*cli.Command{copyCommand(), verifyCommand(), foldersCommand(), runCommand(), stateCommand(), demoCommand()},
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: false,
		// Errors are printed and mapped to exit codes by run, after
		// deferred cleanup; cli.Exit would otherwise call os.Exit inside
		// app.Run.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErrorf("%s; see 'mailferry --help'", flagProblem(err, c.App.Flags))
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unknown command %q; the commands are copy, verify, folders, run, state and demo (see 'mailferry --help')", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, cmd := range app.Commands {
		name, flags := cmd.Name, cmd.Flags
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return usageErrorf("%s; see 'mailferry %s --help'", flagProblem(err, flags), name)
		}
	}
	return app
}

// reportedError wraps an error the command has already shown to the user.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

func reported(err error) error {
	if err == nil {
		return nil
	}
	return &reportedError{err}
}

// run is main without os.Exit: it parses argv, runs the command under a
// context that SIGINT and SIGTERM cancel, prints any error not yet shown and
// returns the exit code.
func run(argv []string) int {
	app := newApp(os.Stdout, os.Stderr)
	isCommand, takesValue := flagTable(app)
	argv = reorderArgs(argv, isCommand, takesValue)

	ctx, release := stopOnSignal(context.Background(), os.Stderr, os.Exit)

	err := app.RunContext(ctx, argv)
	var re *reportedError
	if err != nil && !errors.As(err, &re) {
		fmt.Fprintf(os.Stderr, "mailferry: %v\n", err)
	}
	if late := release(); err == nil && late != nil {
		// The signal came when the work was done, while the summary was
		// printed or the command returned: the command still answers it,
		// so a signal always gives its exit code (a supervisor that sent
		// SIGTERM sees 143). One after release ends the process the
		// default way, never with 0.
		err = late
		fmt.Fprintf(os.Stderr, "mailferry: %v after the work was done; nothing was left out\n", err)
	}
	return exitCode(err)
}
