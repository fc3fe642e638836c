package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "try mailferry on a built-in sample mailbox, with nothing to set up",
		ArgsUsage: "[DIR]",
		Description: `Copies a sample mailbox (folders, flags, keywords, an attachment, a non-ASCII
folder name) into DIR as a Maildir and as a directory of mbox files, then runs
the same copies again to show that nothing is copied twice. DIR defaults to a
new temporary directory, which is kept so you can look at the result.

Examples:
  mailferry demo
  mailferry demo /tmp/mailferry-demo`,
		Action: demoAction,
	}
}

func demoAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("demo takes at most one argument, the directory to write into; see 'mailferry demo --help'")
	}
	dir := c.Args().First()
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mailferry-demo-"); err != nil {
			return fmt.Errorf("creating a directory for the demo: %w", err)
		}
	} else if err = os.MkdirAll(dir, 0o755); err != nil {
		return usageErrorf("demo directory %s: %v", dir, err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	out := c.App.Writer
	msgs := sample.Mailbox()
	src := &sampleSource{msgs: msgs}
	folders, _ := src.Folders(c.Context)

	maildir := Endpoint{Scheme: "maildir", Path: filepath.Join(dir, "Maildir")}
	mboxDir := Endpoint{Scheme: "mbox", Path: filepath.Join(dir, "mbox")}
	sampleEp := Endpoint{Scheme: "sample", Path: "embedded"}

	fmt.Fprintf(out, "mailferry demo: working in %s\n\n", dir)
	fmt.Fprintf(out, "1. The sample mailbox (%d messages in %d folders) → %s\n", len(msgs), len(folders), maildir)
	first, err := demoCopy(c, src, sampleEp, maildir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n2. mailferry copy %s %s\n", maildir, mboxDir)
	second, err := demoLocalCopy(c, maildir, mboxDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n3. The same two copies again: the state files and the fingerprints of what is\n   already there make sure nothing is copied twice.\n")
	again1, err := demoCopy(c, src, sampleEp, maildir)
	if err != nil {
		return err
	}
	again2, err := demoLocalCopy(c, maildir, mboxDir)
	if err != nil {
		return err
	}
	if first.Copied != len(msgs) || second.Copied != len(msgs) {
		return fmt.Errorf("demo: expected %d messages copied each time, got %d and %d", len(msgs), first.Copied, second.Copied)
	}
	if again1.Copied != 0 || again2.Copied != 0 {
		return fmt.Errorf("demo: the second run copied %d and %d messages again; that is a bug, please report it", again1.Copied, again2.Copied)
	}
	printDemoNext(out, dir, maildir, mboxDir)
	return nil
}

// demoCopy copies from an open source the way `mailferry copy` does.
func demoCopy(c *cli.Context, src transfer.Source, from, to Endpoint) (transfer.Summary, error) {
	cfg := demoConfig(from, to)
	rep := demoReporter(c)
	sum, err := copyFrom(c.Context, src, cfg, endpointConfig{Endpoint: to, Role: "destination", Warn: rep.Warn}, rep)
	rep.Finish(sum, err)
	return sum, reported(err)
}

// demoLocalCopy runs a copy between two local endpoints, exactly as
// `mailferry copy FROM TO` would.
func demoLocalCopy(c *cli.Context, from, to Endpoint) (transfer.Summary, error) {
	cfg := demoConfig(from, to)
	rep := demoReporter(c)
	sum, err := runCopy(c.Context, cfg, rep, osTerminal())
	rep.Finish(sum, err)
	return sum, reported(err)
}

func demoConfig(from, to Endpoint) copyConfig {
	return copyConfig{Source: from, Dest: to, Options: transfer.Options{SourceKey: from.String(), Connections: 4, Workers: 4}}
}

func demoReporter(c *cli.Context) *reporter {
	mode, _ := outputFrom(c)
	mode.Interval = 0
	return newReporter(mode, indent{c.App.Writer}, c.App.ErrWriter)
}

// indent prefixes the demo's per-step output so it reads as part of the
// step.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := i.w.Write(append([]byte("   "), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func printDemoNext(w io.Writer, dir string, maildir, mboxDir Endpoint) {
	fmt.Fprintf(w, `
Done. What to try next:
  mailferry folders %[1]s
  mailferry folders %[2]s
  mailferry copy %[2]s %[4]s --include '^INBOX$' --dry-run
  mailferry copy %[2]s %[4]s --include '^INBOX$'
  ls -R %[3]s | head

The Maildir is Dovecot-compatible Maildir++; the mbox files are mboxrd.
Remove the demo with: rm -r %[3]s
`, maildir, mboxDir, dir, Endpoint{Scheme: "mbox", Path: filepath.Join(dir, "inbox.mbox")})
}
