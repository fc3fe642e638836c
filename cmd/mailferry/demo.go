package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/internal/sample"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "watch mailferry do its three jobs on sample mail, with its own IMAP and POP3 servers",
		ArgsUsage: "[DIR]",
		Description: `Starts two IMAP servers ("old" and "new" provider) and a POP3 server on
127.0.0.1 inside this process, the old one and the POP3 one filled with a
sample account (folders, flags, keywords, an attachment, a non-ASCII folder
name), and then runs, exactly as printed, the commands a user would run:
  backups     the IMAP account into DIR/Maildir and DIR/mbox; the Maildir
              backup again, which copies nothing
  migration   the old IMAP account onto the new server, 'Sent Items' into
              'Sent', and a verify that proves every message arrived
  POP3        the POP3 inbox into DIR/pop3-inbox.mbox
  archive     an old mbox file, DIR/old-archive.mbox, onto the new server
Each command is printed before it runs and can be pasted into a shell while
the servers run. Run the demo again into the same DIR and nothing is copied
into DIR twice. The servers stop when the demo ends. DIR defaults to a new
temporary directory, which is kept so you can look at the result.

Examples:
  mailferry demo
  mailferry demo /tmp/mailferry-demo`,
		Flags: []cli.Flag{
			// Keeps the servers up after the last step until stdin ends,
			// so the printed commands can be run against them (the demo's
			// own test does).
			&cli.BoolFlag{Name: "keep-serving", Hidden: true},
		},
		Action: demoAction,
	}
}

const demoUser = "demo"

// demoServers are the demo's in-process servers.
type demoServers struct {
	old, new *imapserver.Server
	pop3     *pop3server.Server
}

func (s *demoServers) Close() {
	for _, c := range []io.Closer{s.old, s.new, s.pop3} {
		if c != nil {
			_ = c.Close()
		}
	}
}

func demoAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("demo takes at most one argument, the directory to write into; see 'mailferry demo --help'")
	}
	start := time.Now()
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
	pwFile := filepath.Join(dir, "demo-password")
	password, err := demoPassword(pwFile)
	if err != nil {
		return err
	}
	archive := filepath.Join(dir, "old-archive.mbox")
	if err := writeOldArchive(archive); err != nil {
		return err
	}
	msgs := sample.Mailbox()
	srv, err := startDemoServers(password, msgs)
	if err != nil {
		return err
	}
	defer srv.Close()
	folders := map[string]bool{}
	inbox := 0
	for _, m := range msgs {
		folders[demoFolder(m.Folder)] = true
		if m.Folder == "INBOX" {
			inbox++
		}
	}

	oldURL := "imap://" + demoUser + "@" + srv.old.Addr() + "?tls=none"
	newURL := "imap://" + demoUser + "@" + srv.new.Addr() + "?tls=none"
	popURL := "pop3://" + demoUser + "@" + srv.pop3.Addr() + "?tls=none"
	maildir := "maildir:" + filepath.Join(dir, "Maildir")
	mboxDir := "mbox:" + filepath.Join(dir, "mbox")
	popMbox := "mbox:" + filepath.Join(dir, "pop3-inbox.mbox")
	srcPw := []string{"--source-password-file", pwFile}
	bothPw := []string{"--source-password-file", pwFile, "--dest-password-file", pwFile}
	state := func(name string) []string { return []string{"--state", filepath.Join(dir, "state", name)} }

	fmt.Fprintf(out, "mailferry demo: everything goes into %s\n\n", dir)
	fmt.Fprintf(out, "Running on 127.0.0.1 in this process, user %q, password in %s:\n", demoUser, pwFile)
	fmt.Fprintf(out, "  old provider  %s  %s in %s (\"Sent Items\" is its sent mail)\n", oldURL, plural.Count(len(msgs), "message"), plural.Count(len(folders), "folder"))
	fmt.Fprintf(out, "  new provider  %s  empty, with Sent, Drafts, Trash and Junk\n", newURL)
	fmt.Fprintf(out, "  POP3          %s  the %s of the inbox\n", popURL, plural.Count(inbox, "message"))
	fmt.Fprintf(out, "(Plaintext is fine on 127.0.0.1; real servers use imaps:// and pop3s://.)\n")

	self := selfCommand()
	steps := []struct {
		job, title string
		args       []string
	}{
		{"Backup", "the IMAP account into a Maildir Dovecot can serve", append([]string{"copy", oldURL, maildir}, srcPw...)},
		{"Backup", "the same again, as cron would run it: nothing is copied twice", append([]string{"copy", oldURL, maildir}, srcPw...)},
		{"Backup", "the IMAP account into a directory of mbox files", append([]string{"copy", oldURL, mboxDir}, srcPw...)},
		{"Migration", "the old provider onto the new one, Sent Items into Sent", append(append([]string{"copy", oldURL, newURL, "--map", "Sent Items=Sent"}, bothPw...), state("migration.state")...)},
		{"Migration", "prove that the new provider holds every message, with its flags and date", append([]string{"verify", oldURL, newURL, "--map", "Sent Items=Sent"}, bothPw...)},
		{"POP3", "download the POP3 inbox into one mbox file", append([]string{"copy", popURL, popMbox}, srcPw...)},
		{"Archive", "an old mbox file back onto IMAP, as the folder Archive/2009", append([]string{"copy", "mbox:" + archive, newURL, "--map", "INBOX=Archive/2009", "--dest-password-file", pwFile}, state("archive.state")...)},
	}
	for i, st := range steps {
		fmt.Fprintf(out, "\n%d. %s: %s\n   $ %s\n", i+1, st.job, st.title, shellLine(self, st.args))
		if err := demoRun(c.Context, out, c.App.ErrWriter, st.args); err != nil {
			return fmt.Errorf("demo step %d (%s %s): %w", i+1, st.job, st.args[0], err)
		}
	}

	fmt.Fprintf(out, "\nDone in %.1fs. In %s:\n", time.Since(start).Seconds(), dir)
	for _, l := range [][2]string{
		{"Maildir/", "the backup, Maildir++ (Dovecot's layout); its state file is Maildir/mailferry.state"},
		{"mbox/", "the backup as mboxrd files, one per folder"},
		{"pop3-inbox.mbox", "the POP3 download"},
		{"old-archive.mbox", "the old archive that step 7 uploaded"},
		{"state/", "the state files of the runs into the new provider"},
		{"demo-password", "the servers' password, kept for the next demo"},
	} {
		fmt.Fprintf(out, "  %-17s %s\n", l[0], l[1])
	}
	fmt.Fprintf(out, "A second demo into %s copies nothing into it again (the servers are new each time).\n", dir)
	if c.Bool("keep-serving") {
		fmt.Fprintf(out, "\nThe servers keep running until stdin is closed (Ctrl-D).\n")
		waitForEOF(c.Context, c.App.Reader)
	}
	srv.Close()
	fmt.Fprintf(out, "\nThe servers are stopped. What to try next:\n")
	for _, args := range [][]string{
		{"folders", maildir},
		{"folders", mboxDir},
		{"verify", mboxDir, maildir},
		{"copy", maildir, "mbox:" + filepath.Join(dir, "sent.mbox"), "--include", "^Sent Items$", "--dry-run"},
	} {
		fmt.Fprintf(out, "   $ %s\n", shellLine(self, args))
	}
	fmt.Fprintf(out, "Remove everything with: rm -r %s\n", shellQuote(dir))
	return nil
}

// demoFolder is the old provider's name for a sample folder: a provider
// that calls its sent mail "Sent Items", as Exchange does, so the
// migration has a folder to map.
func demoFolder(f string) string {
	if f == "Sent" {
		return "Sent Items"
	}
	return f
}

func startDemoServers(password string, msgs []sample.Message) (*demoServers, error) {
	users := []imapserver.User{{Name: demoUser, Password: password}}
	s := &demoServers{}
	var err error
	s.old, err = imapserver.Start(imapserver.Options{Users: users,
		SpecialUse: map[string]string{"Drafts": `\Drafts`, "Archive": `\Archive`}})
	if err != nil {
		return nil, fmt.Errorf("starting the demo IMAP server: %w", err)
	}
	s.new, err = imapserver.Start(imapserver.Options{Users: users,
		SpecialUse: map[string]string{"Sent": `\Sent`, "Drafts": `\Drafts`, "Trash": `\Trash`, "Junk": `\Junk`}})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("starting the demo IMAP server: %w", err)
	}
	var inbox []pop3server.Message
	for _, m := range msgs {
		if err := s.old.AddMessage(demoUser, demoFolder(m.Folder), m.Flags, m.Date, m.Body); err != nil {
			s.Close()
			return nil, fmt.Errorf("filling the demo IMAP server: %w", err)
		}
		if m.Folder == "INBOX" {
			inbox = append(inbox, pop3server.Message{Body: m.Body})
		}
	}
	s.pop3, err = pop3server.Start(pop3server.Options{User: demoUser, Password: password, Messages: inbox})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("starting the demo POP3 server: %w", err)
	}
	return s, nil
}

// demoRun runs one printed command line in this process, through the same
// parsing as the command line itself, so what runs is what was printed.
func demoRun(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	app := newApp(indent{w: stdout}, stderr)
	isCommand, takesValue := flagTable(app)
	err := app.RunContext(ctx, reorderArgs(append([]string{"mailferry"}, args...), isCommand, takesValue))
	var re *reportedError
	if err != nil && !errors.As(err, &re) {
		fmt.Fprintf(stderr, "mailferry: %v\n", err)
	}
	if code := exitCode(err); code != 0 {
		return fmt.Errorf("exit code %d", code)
	}
	return nil
}

// demoPassword returns the password kept in file, or makes one and keeps
// it: a fresh random one per DIR, because other local users could connect
// to 127.0.0.1 while the demo runs, and a kept one so the printed
// commands go on working in a later demo into the same DIR.
func demoPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("demo password: %w", err)
	}
	r := make([]byte, 12)
	_, _ = rand.Read(r)
	pw := hex.EncodeToString(r)
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo password: %w", err)
	}
	return pw, nil
}

// writeOldArchive writes an mbox file of older mail, as a POP3 client of
// the 2000s left it on one computer, unless it is there already.
func writeOldArchive(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var buf bytes.Buffer
	w := formats.NewMboxWriter(&buf)
	for i, m := range sample.Generate(12, 2009, 1500) {
		date := time.Date(2009, time.Month(1+i%12), 1+i, 9+i%8, 30, 0, 0, time.UTC)
		if _, err := w.WriteMessageBytes(formats.MboxEnvelope{Date: date, Flags: []string{`\Seen`}}, m.Body); err != nil {
			return fmt.Errorf("writing the demo archive: %w", err)
		}
	}
	if err := writeFileAtomic(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the demo archive: %w", err)
	}
	return nil
}

// waitForEOF blocks until r ends or ctx is done.
func waitForEOF(ctx context.Context, r io.Reader) {
	if r == nil {
		r = os.Stdin
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, r)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// selfCommand is how to run this program again from a shell: "mailferry"
// when that is what the shell finds, "go run ./cmd/mailferry" when this
// is a `go run` build (its binary is deleted when it ends), else the
// executable's path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "mailferry"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/mailferry"
	}
	if p, err := exec.LookPath(filepath.Base(exe)); err == nil {
		a, errA := os.Stat(p)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return filepath.Base(exe)
		}
	}
	return shellQuote(exe)
}

// shellLine is the command line self args as a POSIX shell reads it.
func shellLine(self string, args []string) string {
	words := []string{self}
	for _, a := range args {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s for a POSIX shell (and zsh) when it holds anything a
// shell would split, expand or glob, such as the ? of ?tls=none.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
