package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// background is a mailferry run that goes on while the test does other
// things.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

func startMailferry(t *testing.T, env []string, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	b.cmd.Env = env
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

func (b *background) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// wait returns the run's result, failing the test after limit.
func (b *background) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(limit):
		t.Fatalf("the background run did not end within %v:\n%s", limit, b.stderr.String())
	}
	return result{b.stdout.String(), b.stderr.String(), b.cmd.ProcessState.ExitCode()}
}

// waitFor polls cond every 10 ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s did not happen within %v", what, limit)
}

// bigIMAP serves n messages of about 4 KiB in alice's INBOX, and an empty
// account for bob.
func bigIMAP(t *testing.T, n int) (*imapserver.Server, string) {
	t.Helper()
	srv, ca := startIMAPWith(t, []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}, {Name: "bob", Password: "s3cret"}})
	for i := range n {
		m := message("INBOX", 100+i, 4096)
		body := []byte(strings.ReplaceAll(m.body, "\n", "\r\n"))
		if err := srv.AddMessage("alice@example.com", "INBOX", nil, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
	return srv, ca
}

// stallingIMAP is bigIMAP behind a proxy whose first connection stops
// forwarding to the client once it has received 40 KiB, in the middle of
// the messages: a run holds its locks through the stall, and its --timeout
// gets it past.
func stallingIMAP(t *testing.T, n int) (*imapserver.Server, string, *faultproxy.Proxy) {
	t.Helper()
	srv, ca := bigIMAP(t, n)
	proxy, err := faultproxy.Start(srv.TLSAddr(), faultproxy.Fault{Dir: faultproxy.ToClient, After: 40 << 10, Action: faultproxy.Stall, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	return srv, ca, proxy
}

// TestSecondRunIntoOneMaildirRefuses: two runs with different --state into
// the same Maildir at the same time. The first holds the Maildir's lock
// while its source stalls; the second stops at once, exit code 1, naming
// the lock; the first then completes and nothing is duplicated.
func TestSecondRunIntoOneMaildirRefuses(t *testing.T) {
	t.Parallel()
	const n = 40
	srv, ca, proxy := stallingIMAP(t, n)
	dst := filepath.Join(t.TempDir(), "backup")
	env := testEnv(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"})
	src := "imaps://alice%40example.com@" + proxy.Addr()
	first := startMailferry(t, env, "copy", src, "maildir:"+dst, "--ca-file", ca, "--connections", "1", "--timeout", "3s",
		"--state", filepath.Join(t.TempDir(), "first.state"))
	waitFor(t, 20*time.Second, "the stall", func() bool { return proxy.Fired() == 1 })

	second := mailferryIn(t, env, "copy", src, "maildir:"+dst, "--ca-file", ca, "--state", filepath.Join(t.TempDir(), "second.state"))
	if !first.running() {
		t.Fatalf("the first run ended before the second finished, so this proves nothing:\n%s", first.stderr.String())
	}
	expectCode(t, second, exitFailed)
	lock := filepath.Join(dst, "mailferry.lock")
	want := fmt.Sprintf("destination maildir:%s is in use by another mailferry run; wait for it to finish (two runs into one destination could copy a message twice): lock file %s (held by process %d): in use by another mailferry run",
		dst, lock, first.cmd.Process.Pid)
	if !strings.Contains(second.stderr, want) {
		t.Errorf("the second run's stderr lacks %q:\n%s", want, second)
	}

	r := first.wait(t, 60*time.Second)
	expectCode(t, r, exitOK)
	if got := len(messageFiles(t, dst)); got != n {
		t.Errorf("the Maildir holds %d messages, want %d", got, n)
	}
	// Once the first run is over, the second copies nothing twice.
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", "imaps://alice%40example.com@"+srv.TLSAddr(), "maildir:"+dst,
		"--ca-file", ca, "--state", filepath.Join(t.TempDir(), "third.state"))
	expectCode(t, r, exitOK)
	if got := len(messageFiles(t, dst)); got != n {
		t.Errorf("after a run with a third state file the Maildir holds %d messages, want %d", got, n)
	}
}

// imapCount is how many messages folder holds, as mailferry folders says.
func imapCount(t *testing.T, ep, ca, folder string) int {
	t.Helper()
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "folders", "--json", ep, "--ca-file", ca)
	expectCode(t, r, exitOK)
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row struct {
			Type, Name string
			Messages   int
		}
		if err := json.Unmarshal([]byte(l), &row); err == nil && row.Type == "folder" && row.Name == folder {
			return row.Messages
		}
	}
	return 0
}

// TestSecondRunIntoOneIMAPAccountRefuses: the same with an IMAP account as
// the destination, where the lock lives in the state directory.
func TestSecondRunIntoOneIMAPAccountRefuses(t *testing.T) {
	t.Parallel()
	srv, ca := bigIMAP(t, 0)
	var msgs []testMessage
	const n = 40
	for i := range n {
		msgs = append(msgs, message("INBOX", i, 4096))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	proxy, err := faultproxy.Start(srv.TLSAddr(), faultproxy.Fault{Dir: faultproxy.ToServer, After: 40 << 10, Action: faultproxy.Stall, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	env := testEnv(t, []string{"MAILFERRY_DEST_PASSWORD=s3cret"})
	dst := "imaps://bob@" + proxy.Addr()
	first := startMailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", ca, "--connections", "1", "--timeout", "3s",
		"--state", filepath.Join(t.TempDir(), "first.state"))
	waitFor(t, 20*time.Second, "the stall", func() bool { return proxy.Fired() == 1 })

	// The same HOME and XDG_STATE_HOME: one user's two cron jobs.
	second := mailferryIn(t, env, "copy", "maildir:"+src, dst, "--ca-file", ca, "--state", filepath.Join(t.TempDir(), "second.state"))
	if !first.running() {
		t.Fatalf("the first run ended before the second finished, so this proves nothing:\n%s", first.stderr.String())
	}
	expectCode(t, second, exitFailed)
	want := "destination " + dst + " is in use by another mailferry run; wait for it to finish"
	if !strings.Contains(second.stderr, want) || !strings.Contains(second.stderr, "/mailferry/locks/imap-") ||
		!strings.Contains(second.stderr, fmt.Sprintf("(held by process %d)", first.cmd.Process.Pid)) {
		t.Errorf("the second run's stderr lacks %q, the lock file and the first run's pid:\n%s", want, second)
	}

	r := first.wait(t, 60*time.Second)
	expectCode(t, r, exitOK)
	if got := imapCount(t, "imaps://bob@"+srv.TLSAddr(), ca, "INBOX"); got != n {
		t.Errorf("bob's INBOX holds %d messages, want %d", got, n)
	}
}

// TestLockedDestinationRefuses: whoever holds a Maildir's or an mbox
// directory's lock, a copy into it stops before writing anything.
func TestLockedDestinationRefuses(t *testing.T) {
	t.Parallel()
	src, _ := smallMaildir(t)
	for _, tc := range []struct{ ep, lock string }{
		{"maildir:%s", "mailferry.lock"},
		{"mbox:%s", ".mailferry.lock/lock"},
	} {
		dst := filepath.Join(t.TempDir(), "dst")
		os.MkdirAll(dst, 0o700)
		lockPath := filepath.Join(dst, tc.lock)
		l, err := transfer.AcquireLock(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		ep := fmt.Sprintf(tc.ep, dst)
		r := mailferry(t, nil, "copy", "maildir:"+src, ep)
		l.Close()
		expectCode(t, r, exitFailed)
		if want := "destination " + ep + " is in use by another mailferry run"; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, lockPath) {
			t.Errorf("%s: stderr lacks %q and %s:\n%s", ep, want, lockPath, r)
		}
		if n := len(messageFiles(t, dst)); n != 0 {
			t.Errorf("%s: %d messages written into a locked destination", ep, n)
		}
		for _, state := range []string{"mailferry.state", ".mailferry.lock/state"} {
			if _, err := os.Stat(filepath.Join(dst, state)); !os.IsNotExist(err) {
				t.Errorf("%s: a state file %s was created in a locked destination (%v)", ep, state, err)
			}
		}
		if n := len(mboxMessages(t, dst)); n != 0 {
			t.Errorf("%s: %d mbox messages written into a locked destination", ep, n)
		}
		// Released, the same command copies.
		expectCode(t, mailferry(t, nil, "copy", "maildir:"+src, ep), exitOK)
	}
}

// mboxMessages returns the From_ lines of every .mbox file below root.
func mboxMessages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".mbox") {
			b, _ := os.ReadFile(p)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "From ") {
					out = append(out, l)
				}
			}
		}
		return nil
	})
	return out
}
