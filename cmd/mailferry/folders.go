package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

func foldersCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{DisableDefaultText: true, Name: "probe", Category: catOutput, Usage: "for an IMAP server: also show its capabilities, TLS and login mechanisms"},
		&cli.BoolFlag{DisableDefaultText: true, Name: "json", Category: catOutput, Usage: "print JSON lines on stdout"},
	}
	// folders reads, so it takes the source's secret options.
	flags = append(flags, archiveFlags()...)
	flags = append(flags, secretFlags("source", "MAILFERRY_SOURCE_PASSWORD")...)
	flags = append(flags, serverFlags()...)
	return &cli.Command{
		Name:      "folders",
		Usage:     "list the folders of ENDPOINT with their roles, message counts and sizes",
		ArgsUsage: "ENDPOINT",
		Description: `Lists folders as mailferry sees them: UTF-8 names with "/" between levels,
the special-use role (\Sent, \Trash, …) and how many messages and bytes each holds.
The password options are the --source-* ones of 'mailferry copy'.

Examples:
  mailferry folders maildir:~/Maildir
  mailferry folders "mbox:Takeout/Mail/All mail Including Spam and Trash.mbox"
  mailferry folders imaps://alice%40example.com@imap.example.com --source-password-file ~/.imap-pw
  mailferry folders imaps://alice@imap.example.com --probe`,
		Flags:  flags,
		Action: foldersAction,
	}
}

func foldersAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("folders needs exactly one ENDPOINT (got %d); see 'mailferry folders --help'", c.NArg())
	}
	ep, err := parseEndpoint("source", c.Args().First())
	if err != nil {
		return err
	}
	dedupe, err := archiveFrom(c, ep)
	if err != nil {
		return err
	}
	tlsOpts := tlsFrom(c)
	t := osTerminal()
	if tlsOpts.InsecureSkipVerify && ep.IsServer() {
		fmt.Fprintln(t.stderr, insecureWarning)
	}
	timeout, err := timeoutFrom(c)
	if err != nil {
		return err
	}
	cfg := endpointConfig{Endpoint: ep, TLS: tlsOpts, Connections: 1, Timeout: timeout, DedupeAcrossFolders: dedupe,
		Warn: func(s string) { fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", safeText(s)) }}
	if ep.IsServer() {
		if cfg.Credentials, err = credentials(c.Context, ep, secretsFrom(c, "source", "source", "MAILFERRY_SOURCE_PASSWORD"), t, cfg.Warn); err != nil {
			return err
		}
		warnPlaintext(t.stderr, "endpoint", ep)
	}
	if c.Bool("probe") {
		if !ep.IsIMAP() {
			return usageErrorf("--probe works for imap:// and imaps:// endpoints, not %s", ep.Scheme)
		}
		report, err := probeIMAP(c.Context, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, report)
	}
	src, err := openSource(c.Context, "source", cfg)
	if err != nil {
		return err
	}
	defer src.Close()
	rows, err := folderRows(c.Context, src)
	if err != nil {
		return fmt.Errorf("listing folders of %s: %w", ep, err)
	}
	if c.Bool("json") {
		return printFoldersJSON(c.App.Writer, rows)
	}
	return printFolders(c.App.Writer, rows)
}

// folderRows lists the folders and fills in counts the source did not know
// cheaply by listing each folder's messages (metadata only).
func folderRows(ctx context.Context, src transfer.Source) ([]transfer.Folder, error) {
	folders, err := src.Folders(ctx)
	if err != nil {
		return nil, err
	}
	for i, f := range folders {
		if f.Messages >= 0 && f.Bytes >= 0 {
			continue
		}
		msgs, err := src.List(ctx, f.Name)
		if err != nil {
			return nil, fmt.Errorf("folder %q: %w", f.Name, err)
		}
		folders[i].Messages = len(msgs)
		folders[i].Bytes = 0
		for _, m := range msgs {
			folders[i].Bytes += m.Size
		}
	}
	return folders, nil
}

func printFolders(w io.Writer, rows []transfer.Folder) error {
	var n int
	var b int64
	nameW, roleW := len("FOLDER"), len("ROLE")
	for i := range rows {
		rows[i].Name = safeText(rows[i].Name)
	}
	for _, f := range rows {
		nameW = max(nameW, utf8.RuneCountInString(f.Name))
		roleW = max(roleW, len(f.Role))
		n += f.Messages
		b += f.Bytes
	}
	total := fmt.Sprintf("total (%s)", plural.Count(len(rows), "folder"))
	nameW = max(nameW, len(total))
	line := func(name, role, msgs, size string) {
		pad := nameW - utf8.RuneCountInString(name)
		fmt.Fprintf(w, "%s%s  %-*s  %8s  %10s\n", name, strings.Repeat(" ", pad), roleW, role, msgs, size)
	}
	line("FOLDER", "ROLE", "MESSAGES", "SIZE")
	for _, f := range rows {
		line(f.Name, f.Role, strconv.Itoa(f.Messages), formatBytes(f.Bytes))
	}
	line(total, "", strconv.Itoa(n), formatBytes(b))
	return nil
}

func printFoldersJSON(w io.Writer, rows []transfer.Folder) error {
	enc := json.NewEncoder(w)
	var n int
	var b int64
	for _, f := range rows {
		if err := enc.Encode(struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Role     string `json:"role,omitempty"`
			Messages int    `json:"messages"`
			Bytes    int64  `json:"bytes"`
		}{"folder", f.Name, f.Role, f.Messages, f.Bytes}); err != nil {
			return err
		}
		n += f.Messages
		b += f.Bytes
	}
	return enc.Encode(struct {
		Type     string `json:"type"`
		Folders  int    `json:"folders"`
		Messages int    `json:"messages"`
		Bytes    int64  `json:"bytes"`
	}{"total", len(rows), n, b})
}
