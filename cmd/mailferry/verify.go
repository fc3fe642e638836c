package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

func verifyCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "include", Category: catFilter, Usage: "verify only folders matching `REGEX` (repeatable)"},
		&cli.StringSliceFlag{Name: "exclude", Category: catFilter, Usage: "skip folders matching `REGEX` (repeatable)"},
		&cli.StringSliceFlag{Name: "map", Category: catFilter, Usage: "folder `OLD=NEW` was renamed at the destination; subfolders follow (repeatable)"},
		&cli.StringSliceFlag{Name: "map-regex", Category: catFilter, Usage: "folders matching `REGEX=NEW` were renamed at the destination, as copy --map-regex (repeatable)"},
		&cli.StringFlag{Name: "since", Category: catFilter, Usage: "only messages that arrived on or after `DATE` (YYYY-MM-DD, or an age: 30d, 12h, 2w, 6m, 2y)"},
		&cli.StringFlag{Name: "before", Category: catFilter, Usage: "only messages that arrived before `DATE` (YYYY-MM-DD, or an age: 2y is older than two years)"},
		&cli.StringFlag{Name: "max-size", Category: catFilter, Usage: "skip messages larger than `SIZE` (10M, 1.5G, or bytes)"},
		&cli.IntFlag{Name: "connections", Category: catRun, Value: 4, Usage: "open at most `N` connections to each server"},
		tempDirFlag(),
	}
	flags = append(flags, archiveFlags()...)
	flags = append(flags, outputFlags()...)
	flags = append(flags, secretFlags("source", "MAILFERRY_SOURCE_PASSWORD")...)
	flags = append(flags, secretFlags("dest", "MAILFERRY_DEST_PASSWORD")...)
	flags = append(flags, serverFlags()...)
	return &cli.Command{
		Name:      "verify",
		Usage:     "prove DEST holds every SOURCE message: content, flags, date; exit 3 on differences",
		ArgsUsage: "SOURCE DEST",
		Description: `Reads every selected message on both sides and compares them. A source message
is present when DEST holds a message with the same content, compared as copy
compares it: line endings aside (an LF archive matches a CRLF server), and the
rewrites servers make when storing mail (NUL bytes, 8-bit header bytes, a final
CRLF) tolerated; its flags and arrival date (to the second) must match too. Identical messages are counted: two copies in SOURCE
need two in DEST. Nothing is written anywhere.

Folders are matched as 'mailferry copy' maps them: give the same --include,
--exclude, --map, --since, --before and --max-size as the copy. A single mbox
file as DEST holds all folders in one.

Reported: messages missing at DEST (or stored with different content), a DEST
folder that does not exist (one line per folder), flag differences, date
differences, and with
-v the messages DEST holds beyond SOURCE (extra, not a failure).

Examples:
  mailferry verify imaps://alice@imap.example.com maildir:/backup/alice -q
  mailferry verify imaps://alice@old.example imaps://alice@new.example --map 'Sent Items=Sent'
  mailferry verify maildir:~/Maildir mbox:~/all.mbox --json

Exit codes: 0 everything matches, 1 failed (connection, I/O), 2 usage error,
3 messages missing or different, 130 interrupted (SIGINT), 143 stopped (SIGTERM).`,
		Flags:  flags,
		Action: verifyAction,
	}
}

// verifyConfig is a parsed verify command line.
type verifyConfig struct {
	ends
	Options transfer.VerifyOptions
}

// differencesError means the verification finished and found messages
// missing or different; they were already reported one by one. It maps to
// exit code 3 through the partialError it wraps.
type differencesError struct {
	res transfer.VerifyResult
}

func (e *differencesError) Error() string {
	return fmt.Sprintf("%s at the destination (listed above)", countDifferences(e.res))
}

func (e *differencesError) Unwrap() error {
	return &partialError{failed: e.res.Missing + e.res.FlagDiffs + e.res.DateDiffs}
}

func countDifferences(r transfer.VerifyResult) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, plural.Count(n, "message")+" "+what)
		}
	}
	add(r.Missing, "missing or with different content")
	add(r.FlagDiffs, "with different flags")
	add(r.DateDiffs, "with a different date")
	return strings.Join(parts, ", ")
}

func verifyAction(c *cli.Context) error {
	mode, err := outputFrom(c)
	if err != nil {
		return err
	}
	out := &verifyOutput{mode: mode, stdout: c.App.Writer, stderr: c.App.ErrWriter}
	var res transfer.VerifyResult
	cfg, err := parseVerify(c)
	if err == nil {
		cfg.Options.OnDifference = out.difference
		cfg.Options.OnFolder = out.folder
		cfg.Options.Warn = out.warn
		res, err = runVerify(c.Context, cfg, out, osTerminal())
	}
	if err == nil && !res.OK() {
		err = &differencesError{res: res}
	}
	if err != nil && c.Context.Err() != nil {
		err = fmt.Errorf("%w: verification stopped", interruption(c.Context))
	}
	out.finish(res, err)
	return reported(err)
}

// parseVerify turns the command line into a verifyConfig; every error is a
// usage error.
func parseVerify(c *cli.Context) (verifyConfig, error) {
	var cfg verifyConfig
	var err error
	if cfg.ends, err = parseEnds(c, "verify"); err != nil {
		return cfg, err
	}
	if cfg.Dest.Scheme == "pop3" || cfg.Dest.Scheme == "pop3s" {
		return cfg, usageErrorf("destination %s: POP3 is never a copy's destination; verify a copy in imap://, imaps://, maildir: or mbox:", cfg.Dest)
	}

	sel, err := parseSelection(c)
	if err != nil {
		return cfg, err
	}
	o := &cfg.Options
	o.Include, o.Exclude, o.Map = sel.Include, sel.Exclude, sel.Map
	o.Since, o.Before, o.MaxSize = sel.Since, sel.Before, sel.MaxSize
	o.Connections = sel.Connections
	return cfg, nil
}

// runVerify opens both ends as sources, verifies and closes them again.
func runVerify(ctx context.Context, cfg verifyConfig, out *verifyOutput, t terminal) (res transfer.VerifyResult, err error) {
	srcCfg, dstCfg, err := cfg.prepare(ctx, cfg.Options.Connections, out.warn, t)
	if err != nil {
		return res, err
	}

	src, err := openSource(ctx, "source", srcCfg)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing source %s: %w", cfg.Source, cerr)
		}
	}()
	dst, err := openSource(ctx, "destination", dstCfg)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := dst.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing destination %s: %w", cfg.Dest, cerr)
		}
	}()

	opts := cfg.Options
	if cfg.Dest.Scheme == "mbox" && mboxIsSingleFile(cfg.Dest.Path) {
		// A single mbox file holds one folder: copy merged every source
		// folder into it.
		opts.FlattenTo = "INBOX"
	}
	res, err = transfer.Verify(ctx, src, dst, opts)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("verify %s → %s stopped: %w", cfg.Source, cfg.Dest, err)
	}
	return res, err
}

// verifyOutput renders what Verify reports: a line per difference on
// stdout, warnings on stderr, or JSON lines with --json. It is safe for
// concurrent use.
type verifyOutput struct {
	mode   outputMode
	stdout io.Writer
	stderr io.Writer
	mu     sync.Mutex
}

// jsonDifference is one difference in --json output.
type jsonDifference struct {
	Type        string   `json:"type"`
	Folder      string   `json:"folder,omitempty"`
	ID          string   `json:"id,omitempty"`
	DestFolder  string   `json:"dest_folder"`
	DestID      string   `json:"dest_id,omitempty"`
	Subject     string   `json:"subject,omitempty"`
	MessageID   string   `json:"message_id,omitempty"`
	SourceFlags []string `json:"source_flags,omitempty"`
	DestFlags   []string `json:"dest_flags,omitempty"`
	SourceDate  string   `json:"source_date,omitempty"`
	DestDate    string   `json:"dest_date,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	// Messages is set for a missing folder: how many messages it holds.
	Messages int `json:"messages,omitempty"`
}

// jsonVerifySummary is the last line of verify --json output; its shape is
// a contract.
type jsonVerifySummary struct {
	Type      string `json:"type"`
	Checked   int    `json:"checked"`
	Missing   int    `json:"missing"`
	FlagDiffs int    `json:"flag_diffs"`
	DateDiffs int    `json:"date_diffs"`
	Extra     int    `json:"extra"`
}

func (o *verifyOutput) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	_, _ = o.stdout.Write(append(b, '\n'))
}

func (o *verifyOutput) difference(d transfer.Difference) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mode.JSON {
		j := jsonDifference{Type: d.Kind.String(), Folder: d.Folder, ID: d.ID, DestFolder: d.DestFolder, DestID: d.DestID,
			Subject: d.Subject, MessageID: d.MessageID, Reason: d.Reason, Messages: d.Messages}
		if d.Kind == transfer.DiffFlags {
			j.SourceFlags, j.DestFlags = nonNil(d.SourceFlags), nonNil(d.DestFlags)
		}
		if d.Kind == transfer.DiffDate {
			j.SourceDate, j.DestDate = jsonTime(d.SourceDate), jsonTime(d.DestDate)
		}
		o.jsonLine(j)
		return
	}
	if d.Kind == transfer.DiffExtra && !o.mode.Verbose {
		return
	}
	fmt.Fprintln(o.stdout, safeText(describeDifference(d)))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// describeDifference is the text line for one difference: what differs,
// the folder and message, and the header fields that identify it.
func describeDifference(d transfer.Difference) string {
	var b strings.Builder
	msg := func(folder, id string) {
		fmt.Fprintf(&b, "folder %q message %s", folder, id)
		if d.Subject != "" {
			fmt.Fprintf(&b, " (Subject %q", d.Subject)
			if d.MessageID != "" {
				fmt.Fprintf(&b, ", Message-ID <%s>", d.MessageID)
			}
			b.WriteString(")")
		} else if d.MessageID != "" {
			fmt.Fprintf(&b, " (Message-ID <%s>)", d.MessageID)
		}
	}
	switch {
	case d.Kind == transfer.DiffMissing && d.ID == "":
		// A whole folder: one line, however many messages it holds.
		fmt.Fprintf(&b, "missing: folder %q, %s: %s", d.Folder, plural.Count(d.Messages, "message"), d.Reason)
		if !strings.Contains(d.Reason, d.DestFolder) {
			fmt.Fprintf(&b, " (destination folder %q)", d.DestFolder)
		}
	case d.Kind == transfer.DiffMissing:
		b.WriteString("missing: ")
		msg(d.Folder, d.ID)
		fmt.Fprintf(&b, ": %s", d.Reason)
		if !strings.Contains(d.Reason, d.DestFolder) {
			fmt.Fprintf(&b, " (destination folder %q)", d.DestFolder)
		}
	case d.Kind == transfer.DiffFlags:
		b.WriteString("flags differ: ")
		msg(d.Folder, d.ID)
		fmt.Fprintf(&b, ": source has %s, destination %q message %s has %s",
			flagList(d.SourceFlags), d.DestFolder, d.DestID, flagList(d.DestFlags))
	case d.Kind == transfer.DiffDate:
		b.WriteString("date differs: ")
		msg(d.Folder, d.ID)
		fmt.Fprintf(&b, ": source %s, destination %q message %s %s",
			jsonTime(d.SourceDate), d.DestFolder, d.DestID, jsonTime(d.DestDate))
	case d.Kind == transfer.DiffExtra:
		b.WriteString("extra (not in the source): ")
		msg(d.DestFolder, d.DestID)
	}
	return b.String()
}

func flagList(flags []string) string {
	if len(flags) == 0 {
		return "no flags"
	}
	return strings.Join(flags, " ")
}

func (o *verifyOutput) folder(f transfer.FolderCheck) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.mode.Verbose || o.mode.JSON {
		return
	}
	status := "all present"
	if n := f.Missing + f.FlagDiffs + f.DateDiffs; n > 0 {
		status = fmt.Sprintf("%d missing, %d flag and %d date %s", f.Missing, f.FlagDiffs, f.DateDiffs,
			plural.Noun(f.FlagDiffs+f.DateDiffs, "difference", "differences"))
	}
	fmt.Fprintln(o.stderr, safeText(fmt.Sprintf("%s → %s: %s checked, %s", f.Folder, f.DestFolder, plural.Count(f.Checked, "message"), status)))
}

func (o *verifyOutput) warn(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mode.JSON {
		o.jsonLine(jsonEvent{Type: "warning", Message: msg})
		return
	}
	if !o.mode.Quiet {
		fmt.Fprintf(o.stderr, "warning: %s\n", safeText(msg))
	}
}

// finish prints the error, if any, and the summary (with --json always, as
// the last line).
// finishAfterCopy is finish for copy --verify: the copy's summary comes
// after it and prints the run's error, so the error is not printed here.
func (o *verifyOutput) finishAfterCopy(res transfer.VerifyResult, err error) {
	o.finishLines(res, err, false)
}

func (o *verifyOutput) finish(res transfer.VerifyResult, err error) { o.finishLines(res, err, true) }

// finishLines prints the summary of a verification, and err with printErr.
func (o *verifyOutput) finishLines(res transfer.VerifyResult, err error, printErr bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	code := exitCode(err)
	if err != nil && printErr {
		fmt.Fprintf(o.stderr, "mailferry: %s\n", safeError(err))
	}
	if o.mode.JSON {
		if err != nil && code != exitPartial {
			o.jsonLine(struct {
				Type  string `json:"type"`
				Error string `json:"error"`
				Exit  int    `json:"exit"`
			}{"error", err.Error(), code})
		}
		o.jsonLine(jsonVerifySummary{Type: "verify-summary", Checked: res.Checked, Missing: res.Missing,
			FlagDiffs: res.FlagDiffs, DateDiffs: res.DateDiffs, Extra: res.Extra})
		return
	}
	if err != nil && code != exitPartial {
		return
	}
	if o.mode.Quiet && err == nil {
		return
	}
	extra := ""
	if res.Extra > 0 {
		extra = fmt.Sprintf("; the destination holds %s more than the source", plural.Count(res.Extra, "message"))
		if !o.mode.Verbose {
			extra += " (-v lists them)"
		}
	}
	if err == nil {
		fmt.Fprintf(o.stdout, "verified %s: all at the destination with their content, flags and dates%s (%.1fs)\n",
			plural.Count(res.Checked, "message"), extra, res.Seconds)
		return
	}
	fmt.Fprintf(o.stdout, "verified %s: %d missing or different, %d flag and %d date %s%s (%.1fs)\n",
		plural.Count(res.Checked, "message"), res.Missing, res.FlagDiffs, res.DateDiffs,
		plural.Noun(res.FlagDiffs+res.DateDiffs, "difference", "differences"), extra, res.Seconds)
}
