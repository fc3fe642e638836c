package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/sample"
)

// demoRun is one demo run: its output, and the commands it printed.
type demoOutput struct {
	stdout   string
	commands []string // while the servers ran
	after    []string // printed once they stopped
}

var (
	demoCommandLine = regexp.MustCompile(`(?m)^   \$ (.*)$`)
	demoStep        = regexp.MustCompile(`(?m)^(\d+)\. (\w+): .*\n   \$ .*\n((?:   .*\n)*)`)
	demoCopied      = regexp.MustCompile(`copied (\d+) message`)
)

// runDemo runs `mailferry demo DIR --keep-serving`; while its servers are
// up, every command it printed so far is run with sh -c exactly as
// printed, and must exit 0, and then serving (when not nil) with the
// output so far. Then stdin is closed, the demo ends, and the commands it
// printed last run too.
func runDemo(t *testing.T, env []string, dir string, serving func(stdout string)) demoOutput {
	t.Helper()
	cmd := exec.Command(binary, "demo", dir, "--keep-serving")
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out demoOutput
	var stdout strings.Builder
	lines := bufio.NewScanner(pr)
	up := false
	for !up && lines.Scan() {
		stdout.WriteString(lines.Text() + "\n")
		up = strings.Contains(lines.Text(), "keep running until stdin is closed")
	}
	if !up {
		stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("the demo ended before serving:\n%s\n%s", stdout.String(), stderr.String())
	}
	for _, m := range demoCommandLine.FindAllStringSubmatch(stdout.String(), -1) {
		out.commands = append(out.commands, m[1])
	}
	for _, c := range out.commands {
		runPrinted(t, env, c)
	}
	if serving != nil {
		serving(stdout.String())
	}
	stdin.Close()
	done := make(chan struct{})
	go func() {
		for lines.Scan() {
			stdout.WriteString(lines.Text() + "\n")
		}
		close(done)
	}()
	err = cmd.Wait()
	pw.Close()
	<-done
	if err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out.stdout = stdout.String()
	all := demoCommandLine.FindAllStringSubmatch(out.stdout, -1)
	for _, m := range all[len(out.commands):] {
		out.after = append(out.after, m[1])
	}
	for _, c := range out.after {
		runPrinted(t, env, c)
	}
	return out
}

// runPrinted runs a command line the demo printed, as a user pasting it
// into a shell would.
func runPrinted(t *testing.T, env []string, line string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the printed command\n  %s\nfailed: %v\n%s", line, err, b)
	}
}

func TestDemo(t *testing.T) {
	env := testEnv(t, nil)
	dir := filepath.Join(t.TempDir(), "demo")
	start := time.Now()
	first := runDemo(t, env, dir, nil)
	t.Logf("first demo and its %d printed commands: %.1fs", len(first.commands)+len(first.after), time.Since(start).Seconds())
	if len(first.commands) != 7 || len(first.after) < 3 {
		t.Fatalf("the demo printed %d commands while serving and %d after, want 7 and some:\n%s", len(first.commands), len(first.after), first.stdout)
	}
	for _, want := range []string{dir, "nothing is copied twice", "--map 'Sent Items=Sent'", "verify", "pop3://", "old-archive.mbox",
		"verified 39 messages: all at the destination", "What to try next", "'imap://demo@127.0.0.1:"} {
		if !strings.Contains(first.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, first.stdout)
		}
	}
	// Each copy step says what it copied; the runs into DIR copy the
	// account once, the re-run nothing.
	copies := func(out string) map[string]int {
		got := map[string]int{}
		for _, m := range demoStep.FindAllStringSubmatch(out, -1) {
			if c := demoCopied.FindStringSubmatch(m[3]); c != nil {
				n := 0
				for _, d := range c[1] {
					n = n*10 + int(d-'0')
				}
				got[m[1]] = n
			}
		}
		return got
	}
	total, inbox := len(sample.Mailbox()), 0
	for _, m := range sample.Mailbox() {
		if m.Folder == "INBOX" {
			inbox++
		}
	}
	want := map[string]int{"1": total, "2": 0, "3": total, "4": total, "6": inbox, "7": 12}
	got := copies(first.stdout)
	for step, n := range want {
		if got[step] != n {
			t.Errorf("first demo, step %s copied %d, want %d:\n%s", step, got[step], n, first.stdout)
		}
	}
	if n := len(messageFiles(t, filepath.Join(dir, "Maildir"))); n != total {
		t.Errorf("the demo Maildir holds %d messages, want %d", n, total)
	}
	for file, want := range map[string]int{"pop3-inbox.mbox": inbox, "mbox/INBOX": inbox} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("demo output: %v", err)
			continue
		}
		if got := strings.Count("\n"+string(b), "\nFrom "); got != want {
			t.Errorf("%s holds %d messages, want %d", file, got, want)
		}
	}

	// The Maildir and the mbox backup hold the same folders, and show
	// the same roles: one rule names them for every store.
	roles := func(endpoint string) string {
		r := mailferryIn(t, env, "folders", endpoint)
		expectCode(t, r, 0)
		return r.stdout
	}
	md, mb := roles("maildir:"+filepath.Join(dir, "Maildir")), roles("mbox:"+filepath.Join(dir, "mbox"))
	if !regexp.MustCompile(`(?m)^Sent Items +\\Sent +6 `).MatchString(md) || !regexp.MustCompile(`(?m)^Drafts +\\Drafts +1 `).MatchString(md) {
		t.Errorf("folders of the Maildir backup lack the roles \\Sent and \\Drafts:\n%s", md)
	}
	for _, folder := range []string{"Sent Items", "Drafts", "Archive/2024"} {
		line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(folder) + ` +(\S*) +\d+ `)
		if a, b := line.FindStringSubmatch(md), line.FindStringSubmatch(mb); a == nil || b == nil || a[1] != b[1] {
			t.Errorf("folder %q: role in the Maildir %q, in the mbox %q:\n%s\n%s", folder, a, b, md, mb)
		}
	}

	// A second demo into the same DIR copies nothing into it; only the
	// new, empty servers get their mail again.
	second := runDemo(t, env, dir, nil)
	got = copies(second.stdout)
	for _, step := range []string{"1", "2", "3", "6"} {
		if n, ok := got[step]; !ok || n != 0 {
			t.Errorf("second demo, step %s (into %s) copied %d (reported: %v), want 0:\n%s", step, dir, n, ok, second.stdout)
		}
	}
	if n := len(messageFiles(t, filepath.Join(dir, "Maildir"))); n != total {
		t.Errorf("after a second demo the Maildir holds %d messages, want %d", n, total)
	}
	if want := fmt.Sprintf("verified %d messages: all at the destination", total); !strings.Contains(second.stdout, want) {
		t.Errorf("the second demo's migration does not verify (%q):\n%s", want, second.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pop3-inbox.mbox")); err != nil || strings.Count("\n"+string(b), "\nFrom ") != inbox {
		t.Errorf("after a second demo pop3-inbox.mbox holds %d messages, want %d (%v)", strings.Count("\n"+string(b), "\nFrom "), inbox, err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"maildir:/tmp/x":                "maildir:/tmp/x",
		"imap://a@127.0.0.1:1?tls=none": "'imap://a@127.0.0.1:1?tls=none'",
		"Sent Items=Sent":               "'Sent Items=Sent'",
		"it's":                          `'it'\''s'`,
		"^Sent$":                        "'^Sent$'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
