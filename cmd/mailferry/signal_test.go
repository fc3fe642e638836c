package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// signalled is one run of the binary that got a signal.
type signalled struct {
	result
	// took is the time from the signal to the exit.
	took time.Duration
}

// runSignalled starts the binary with args, sends sig once when a line of
// its stdout satisfies when, and waits for it to exit (at most 30 s).
func runSignalled(t *testing.T, env []string, sig syscall.Signal, when func(line string) bool, args ...string) signalled {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnv(t, env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	var out strings.Builder
	var sent time.Time
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sent.IsZero() && when(sc.Text()) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent = time.Now()
		}
	}
	err = cmd.Wait()
	s := signalled{result: result{stdout: out.String(), stderr: stderr.String()}}
	if !sent.IsZero() {
		s.took = time.Since(sent)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		s.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running mailferry %q: %v", args, err)
	}
	if sent.IsZero() {
		t.Fatalf("the condition for the signal never held:\n%s", s)
	}
	return s
}

// bigMailbox serves n messages of about size bytes in INBOX over TLS.
func bigMailbox(t *testing.T, n, size int) (*imapserver.Server, string) {
	t.Helper()
	srv, ca := startIMAP(t)
	for i := range n {
		m := message("INBOX", 100+i, 0)
		body := []byte(strings.ReplaceAll(m.body, "\n", "\r\n") + strings.Repeat(fmt.Sprintf("line of message %d\r\n", i), size/24))
		if err := srv.AddMessage("alice@example.com", "INBOX", nil, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
	return srv, ca
}

// SIGINT while an IMAP source streams: the run stops within seconds with
// exit code 130 and the summary, and a re-run finishes the copy. This used
// to hang for ever in go-imap when the fetch gave up with a message body
// unread (many small messages make that the common case).
func TestInterruptIMAPSource(t *testing.T) {
	const n = 1500
	srv, ca := bigMailbox(t, n, 8<<10)
	ep := "imaps://alice%40example.com@" + srv.TLSAddr()
	dst := filepath.Join(t.TempDir(), "backup")
	env := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}
	args := []string{"copy", ep, "maildir:" + dst, "--ca-file", ca, "--json"}
	total := 0
	for i, delay := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		r := runSignalled(t, env, syscall.SIGINT, func(l string) bool {
			if strings.Contains(l, `"type":"planned"`) && strings.Contains(l, `"INBOX"`) {
				time.Sleep(delay)
				return true
			}
			return false
		}, args...)
		if r.code != exitInterrupted {
			t.Fatalf("run %d: exit code %d after SIGINT, want %d\n%s", i, r.code, exitInterrupted, r)
		}
		if r.took > 5*time.Second {
			t.Errorf("run %d took %v to stop after SIGINT", i, r.took)
		}
		s := lastSummary(t, r.stdout)
		total += s.Copied
		t.Logf("run %d: stopped %v after SIGINT, having copied %d", i, r.took.Round(time.Millisecond), s.Copied)
	}
	again := mailferry(t, env, args...)
	expectCode(t, again, 0)
	total += lastSummary(t, again.stdout).Copied
	if got := len(messageFiles(t, dst)); got != n+4 || total != n+4 {
		t.Errorf("backup holds %d messages; the runs copied %d; want %d", got, total, n+4)
	}
}
