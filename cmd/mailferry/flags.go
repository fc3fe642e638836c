package main

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/mailferry/mailferry/transfer"
)

// Flag categories, so --help groups what belongs together.
const (
	catSecrets = "Secrets (never on the command line)"
	catTLS     = "Servers: TLS and timeout"
	catOutput  = "Output"
	catFilter  = "Filters (what to copy)"
	catRun     = "Behaviour"
)

// secretFlags are the password and token options of one endpoint; prefix is
// "source" or "dest".
func secretFlags(prefix, env string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: prefix + "-password-file", Category: catSecrets, Usage: "read the " + prefix + " password from `FILE` (a trailing newline is ignored)"},
		&cli.StringFlag{Name: prefix + "-password-command", Category: catSecrets, Usage: "run `CMD` (with sh -c) and use what it prints as the " + prefix + " password, e.g. 'pass show mail/alice'"},
		&cli.StringFlag{Name: prefix + "-oauth2-token-command", Category: catSecrets, Usage: "run `CMD` for an OAuth2 bearer token, again for every new connection"},
		&cli.StringFlag{Name: prefix + "-password-env", Category: catSecrets, Usage: "read the " + prefix + " password from the environment variable `VAR` instead of " + env},
	}
}

func secretsFrom(c *cli.Context, role, prefix, env string) secretSource {
	return secretSource{
		role:         role,
		flagPrefix:   prefix,
		passwordFile: c.String(prefix + "-password-file"),
		passwordCmd:  c.String(prefix + "-password-command"),
		oauth2Cmd:    c.String(prefix + "-oauth2-token-command"),
		envVar:       cmp.Or(c.String(prefix+"-password-env"), env),
		envExplicit:  c.String(prefix+"-password-env") != "",
	}
}

// archiveFlags are the options for reading archives of other programs.
func archiveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{DisableDefaultText: true, Name: "dedupe-across-folders", Category: catFilter,
			Usage: "Gmail source (IMAP, or a Google Takeout mbox): copy a message with several labels once, into its first folder, instead of once per label"},
	}
}

// archiveFrom reads archiveFlags for the source endpoint; they apply only
// to a source that can be Gmail's: an IMAP server or a Takeout mbox.
func archiveFrom(c *cli.Context, src Endpoint) (dedupe bool, err error) {
	dedupe = c.Bool("dedupe-across-folders")
	if dedupe && src.Scheme != "mbox" && src.Scheme != "imap" && src.Scheme != "imaps" {
		return false, usageErrorf("--dedupe-across-folders is for a Gmail source, over IMAP or as a Google Takeout mbox (mbox:PATH), not %s", src)
	}
	return dedupe, nil
}

// serverFlags are the options of every command that connects to a server:
// TLS trust and --timeout.
func serverFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ca-file", Category: catTLS, Usage: "also trust the CA certificates in PEM `FILE` (a private or self-signed server)"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "insecure-skip-verify", Category: catTLS, Usage: "do not check TLS certificates (dangerous: prints a warning)"},
		&cli.DurationFlag{Name: "timeout", Category: catTLS, Value: defaultTimeout,
			Usage: "give up on a server that keeps us waiting this long (`DURATION`: 30s, 2m) to connect, greet or answer a command; a silent server is tried twice"},
	}
}

// timeoutFrom reads --timeout; it must be positive.
func timeoutFrom(c *cli.Context) (time.Duration, error) {
	d := c.Duration("timeout")
	if d <= 0 {
		return 0, usageErrorf("--timeout %v: give a positive duration such as 30s or 2m", d)
	}
	return d, nil
}

// tempDirFlag is --temp-dir, for the commands that read message bodies.
func tempDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "temp-dir", Category: catRun,
		Usage: "spool large messages in `DIR` instead of the system's temporary directory"}
}

// tempDirFrom reads --temp-dir: "" (the system's) or an existing
// directory, checked before anything is opened.
func tempDirFrom(c *cli.Context) (string, error) {
	dir := c.String("temp-dir")
	if dir == "" {
		return "", nil
	}
	fi, err := os.Stat(dir)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", usageErrorf("--temp-dir %s: does not exist", dir)
	case errors.As(err, &pe):
		return "", usageErrorf("--temp-dir %s: %v", dir, pe.Err)
	case err != nil:
		return "", usageErrorf("--temp-dir %s: %v", dir, err)
	case !fi.IsDir():
		return "", usageErrorf("--temp-dir %s: not a directory", dir)
	}
	return dir, nil
}

func tlsFrom(c *cli.Context) tlsOptions {
	return tlsOptions{CAFile: c.String("ca-file"), InsecureSkipVerify: c.Bool("insecure-skip-verify")}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{DisableDefaultText: true, Name: "json", Category: catOutput, Usage: "print JSON lines on stdout; the last is the summary"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "quiet", Aliases: []string{"q"}, Category: catOutput, Usage: "print nothing unless something is wrong (for cron)"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "verbose", Aliases: []string{"v"}, Category: catOutput, Usage: "print every message copied or skipped"},
		&cli.DurationFlag{Name: "progress-interval", Category: catOutput, Value: 10 * time.Second, Usage: "print a progress line (with --json a progress event) every `DURATION` when stderr is not a terminal"},
	}
}

// isTerminal reports whether w is a terminal: a progress bar is drawn
// only there (not into a file, nor into the lines of one job of a run).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func outputFrom(c *cli.Context) (outputMode, error) {
	m := outputMode{
		JSON:     c.Bool("json"),
		Quiet:    c.Bool("quiet"),
		Verbose:  c.Bool("verbose"),
		TTY:      isTerminal(c.App.ErrWriter),
		Interval: c.Duration("progress-interval"),
	}
	if m.Interval <= 0 {
		return m, usageErrorf("--progress-interval %s: must be more than 0 (10s, 1m)", m.Interval)
	}
	if m.Quiet && m.Verbose {
		return m, usageErrorf("-q and -v contradict each other; give one")
	}
	return m, nil
}

// parseEnds reads the two endpoints of verb (copy or verify) and where
// their secrets and TLS settings come from.
func parseEnds(c *cli.Context, verb string) (ends, error) {
	var e ends
	if c.NArg() != 2 {
		return e, usageErrorf("%s needs exactly two endpoints, SOURCE and DEST (got %d); see 'mailferry %s --help'", verb, c.NArg(), verb)
	}
	var err error
	if e.Source, err = parseEndpoint("source", c.Args().Get(0)); err != nil {
		return e, err
	}
	if e.Dest, err = parseEndpoint("destination", c.Args().Get(1)); err != nil {
		return e, err
	}
	e.SourceSecrets = secretsFrom(c, "source", "source", "MAILFERRY_SOURCE_PASSWORD")
	e.DestSecrets = secretsFrom(c, "destination", "dest", "MAILFERRY_DEST_PASSWORD")
	e.SourceSecrets.otherEnvVar, e.DestSecrets.otherEnvVar = e.DestSecrets.envVar, e.SourceSecrets.envVar
	e.TLS = tlsFrom(c)
	if e.Timeout, err = timeoutFrom(c); err != nil {
		return e, err
	}
	if e.DedupeAcrossFolders, err = archiveFrom(c, e.Source); err != nil {
		return e, err
	}
	if e.TempDir, err = tempDirFrom(c); err != nil {
		return e, err
	}
	// A POP3 maildrop is read over one session unless --connections
	// asks for more: servers differ in whether sessions may share one,
	// and near by one session is as fast.
	e.POP3Sessions = 1
	if c.IsSet("connections") {
		e.POP3Sessions = c.Int("connections")
	}
	return e, nil
}

// selection is what copy and verify look at: the folder and message
// filters, the folder mapping, and how many connections to use.
type selection struct {
	Include, Exclude []*regexp.Regexp
	Map              []transfer.FolderMapping
	Since, Before    time.Time
	MaxSize          int64
	Connections      int
}

// parseSelection reads and checks the filter, mapping and connection
// options; every error is a usage error.
func parseSelection(c *cli.Context) (selection, error) {
	var sel selection
	var err error
	if sel.Include, err = compileAll("include", c.StringSlice("include")); err != nil {
		return sel, err
	}
	if sel.Exclude, err = compileAll("exclude", c.StringSlice("exclude")); err != nil {
		return sel, err
	}
	if sel.Map, err = parseMappings(c.StringSlice("map")); err != nil {
		return sel, err
	}
	patterns, err := parseRegexMappings(c.StringSlice("map-regex"))
	if err != nil {
		return sel, err
	}
	sel.Map = append(sel.Map, patterns...)
	if sel.Since, err = parseDate("since", c.String("since")); err != nil {
		return sel, err
	}
	if sel.Before, err = parseDate("before", c.String("before")); err != nil {
		return sel, err
	}
	if !sel.Since.IsZero() && !sel.Before.IsZero() && !sel.Since.Before(sel.Before) {
		return sel, usageErrorf("--since %s is not before --before %s: no message could match", c.String("since"), c.String("before"))
	}
	if s := c.String("max-size"); s != "" {
		if sel.MaxSize, err = parseSize(s); err != nil {
			return sel, usageErrorf("--max-size: %v", err)
		}
		if sel.MaxSize == 0 {
			return sel, usageErrorf("--max-size 0 would skip every message")
		}
	}
	sel.Connections = c.Int("connections")
	if sel.Connections < 1 || sel.Connections > 64 {
		return sel, usageErrorf("--connections %d: give a number from 1 to 64", sel.Connections)
	}
	return sel, nil
}
