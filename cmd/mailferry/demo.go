package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "watch mailferry back up a sample account from its own IMAP and POP3 servers",
		ArgsUsage: "[DIR]",
		Description: `Starts an IMAP and a POP3 server on 127.0.0.1 inside this process, filled with
a sample mailbox (folders, flags, keywords, an attachment, a non-ASCII folder
name), and then, exactly as 'mailferry copy' would:
  1. backs the IMAP account up into DIR/Maildir (Dovecot-compatible Maildir++)
  2. runs the same backup again: nothing is copied twice
  3. backs the POP3 inbox up into DIR/pop3-inbox.mbox (one mboxrd file)
  4. converts DIR/Maildir into DIR/mbox, a directory of mbox files
The servers stop when the demo ends. DIR defaults to a new temporary
directory, which is kept so you can look at the result.

Examples:
  mailferry demo
  mailferry demo /tmp/mailferry-demo`,
		Flags:  []cli.Flag{&cli.DurationFlag{Name: "progress-interval", Hidden: true}},
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
	folders := map[string]int{}
	var inbox []pop3server.Message
	for _, m := range msgs {
		folders[m.Folder]++
		if m.Folder == "INBOX" {
			inbox = append(inbox, pop3server.Message{Body: m.Body})
		}
	}

	// A fresh password each time: the servers listen on 127.0.0.1 only,
	// but other local users could connect while the demo runs.
	password := randomPassword()
	imapSrv, err := imapserver.Start(imapserver.Options{
		Users:      []imapserver.User{{Name: "demo", Password: password}},
		SpecialUse: map[string]string{"Sent": `\Sent`, "Drafts": `\Drafts`, "Archive": `\Archive`},
	})
	if err != nil {
		return fmt.Errorf("starting the demo IMAP server: %w", err)
	}
	defer imapSrv.Close()
	for _, m := range msgs {
		if err := imapSrv.AddMessage("demo", m.Folder, m.Flags, m.Date, m.Body); err != nil {
			return fmt.Errorf("filling the demo IMAP server: %w", err)
		}
	}
	pop3Srv, err := pop3server.Start(pop3server.Options{User: "demo", Password: password, Messages: inbox})
	if err != nil {
		return fmt.Errorf("starting the demo POP3 server: %w", err)
	}
	defer pop3Srv.Close()

	imapEp, err := parseEndpoint("source", "imap://demo@"+imapSrv.Addr()+"?tls=none")
	if err != nil {
		return err
	}
	pop3Ep, err := parseEndpoint("source", "pop3://demo@"+pop3Srv.Addr()+"?tls=none")
	if err != nil {
		return err
	}
	maildir := Endpoint{Scheme: "maildir", Path: filepath.Join(dir, "Maildir")}
	mboxFile := Endpoint{Scheme: "mbox", Path: filepath.Join(dir, "pop3-inbox.mbox")}
	mboxDir := Endpoint{Scheme: "mbox", Path: filepath.Join(dir, "mbox")}

	fmt.Fprintf(out, "mailferry demo: writing into %s\n", dir)
	fmt.Fprintf(out, "An IMAP server (%s) and a POP3 server (%s) are running on 127.0.0.1 with a sample\n", imapSrv.Addr(), pop3Srv.Addr())
	fmt.Fprintf(out, "account: %d messages in %d folders. (Plaintext is fine on 127.0.0.1; real servers use imaps:// and pop3s://.)\n", len(msgs), len(folders))

	steps := []struct {
		title    string
		from, to Endpoint
		want     int
	}{
		{"Back up the IMAP account into a Maildir", imapEp, maildir, len(msgs)},
		{"The same backup again: nothing is copied twice", imapEp, maildir, 0},
		{"Back up the POP3 inbox into one mbox file", pop3Ep, mboxFile, len(inbox)},
		{"Convert the Maildir into a directory of mbox files", maildir, mboxDir, len(msgs)},
	}
	for i, st := range steps {
		fmt.Fprintf(out, "\n%d. %s\n   mailferry copy %s %s\n", i+1, st.title, st.from, st.to)
		sum, err := demoCopy(c, st.from, st.to, password)
		if err != nil {
			return err
		}
		if st.want == 0 && sum.Copied != 0 {
			return fmt.Errorf("demo: the second backup copied %d messages again; that is a bug, please report it", sum.Copied)
		}
		if st.want > 0 && sum.Copied < st.want && sum.Skipped == 0 {
			return fmt.Errorf("demo: step %d copied %d of %d messages", i+1, sum.Copied, st.want)
		}
	}
	imapSrv.Close()
	pop3Srv.Close()
	printDemoNext(out, dir, maildir, mboxDir, mboxFile)
	return nil
}

// demoCopy runs one copy exactly as `mailferry copy FROM TO` would, with
// the demo servers' password.
func demoCopy(c *cli.Context, from, to Endpoint, password string) (transfer.Summary, error) {
	cfg := copyConfig{
		ends: ends{
			Source:        from,
			Dest:          to,
			SourceSecrets: secretSource{role: "source", flagPrefix: "source", password: password},
		},
		Options: transfer.Options{SourceKey: from.String(), Connections: 4, Workers: 4},
	}
	mode, err := outputFrom(c)
	if err != nil {
		return transfer.Summary{}, err
	}
	rep := newReporter(mode, indent{c.App.Writer}, c.App.ErrWriter)
	sum, err := runCopy(c.Context, cfg, rep, osTerminal())
	rep.Finish(sum, err)
	return sum, reported(err)
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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

func printDemoNext(w io.Writer, dir string, maildir, mboxDir, mboxFile Endpoint) {
	fmt.Fprintf(w, `
The demo servers are stopped. What to try next:
  mailferry folders %[1]s
  mailferry folders %[2]s
  mailferry copy %[1]s %[4]s --include '^Sent$' --dry-run
  mailferry copy %[3]s %[5]s -v
  ls -R %[6]s | head -30

%[1]s is Dovecot-compatible Maildir++; the mbox files are mboxrd.
Remove everything with: rm -r %[6]s
`, maildir, mboxDir, mboxFile, Endpoint{Scheme: "mbox", Path: filepath.Join(dir, "sent.mbox")},
		Endpoint{Scheme: "maildir", Path: filepath.Join(dir, "Maildir-from-mbox")}, dir)
}
