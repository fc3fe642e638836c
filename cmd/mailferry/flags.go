package main

import (
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// Flag categories, so --help groups what belongs together.
const (
	catSecrets = "Secrets (never on the command line)"
	catTLS     = "TLS"
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
	}
}

func secretsFrom(c *cli.Context, role, prefix, env string) secretSource {
	return secretSource{
		role:         role,
		flagPrefix:   prefix,
		passwordFile: c.String(prefix + "-password-file"),
		passwordCmd:  c.String(prefix + "-password-command"),
		oauth2Cmd:    c.String(prefix + "-oauth2-token-command"),
		envVar:       env,
	}
}

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ca-file", Category: catTLS, Usage: "also trust the CA certificates in PEM `FILE` (a private or self-signed server)"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "insecure-skip-verify", Category: catTLS, Usage: "do not check TLS certificates (dangerous: prints a warning)"},
	}
}

func tlsFrom(c *cli.Context) tlsOptions {
	return tlsOptions{CAFile: c.String("ca-file"), InsecureSkipVerify: c.Bool("insecure-skip-verify")}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{DisableDefaultText: true, Name: "json", Category: catOutput, Usage: "print JSON lines on stdout; the last is the summary"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "quiet", Aliases: []string{"q"}, Category: catOutput, Usage: "print nothing unless something is wrong (for cron)"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "verbose", Aliases: []string{"v"}, Category: catOutput, Usage: "print every message copied or skipped"},
		&cli.DurationFlag{Name: "progress-interval", Hidden: true, Value: 10 * time.Second, Usage: "time between progress lines when stderr is not a terminal"},
	}
}

func outputFrom(c *cli.Context) (outputMode, error) {
	m := outputMode{
		JSON:     c.Bool("json"),
		Quiet:    c.Bool("quiet"),
		Verbose:  c.Bool("verbose"),
		TTY:      term.IsTerminal(int(os.Stderr.Fd())),
		Interval: c.Duration("progress-interval"),
	}
	if m.Quiet && m.Verbose {
		return m, usageErrorf("-q and -v contradict each other; give one")
	}
	return m, nil
}
