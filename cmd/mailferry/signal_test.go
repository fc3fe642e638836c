package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
)

// signalled is one run of the binary that got a signal.
type signalled struct {
	result
	// took is the time from the last signal to the exit.
	took time.Duration
}

// signalPlan says when runSignalled signals the run: sig once a line of
// stdout satisfies when (without when: after since the start), and again
// after again if that is not 0.
type signalPlan struct {
	sig   syscall.Signal
	when  func(line string) bool
	after time.Duration
	again time.Duration
	// onStderr: when reads the lines of stderr instead (-v prints each
	// message there).
	onStderr bool
}

// command is the binary with args in a test environment; wrap, when given,
// is a command line that runs it (the binary and args are its arguments).
func command(t *testing.T, env []string, wrap []string, args ...string) *exec.Cmd {
	argv := append(append(append([]string(nil), wrap...), binary), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = testEnv(t, env)
	return cmd
}

// runSignalled starts cmd, signals it as p says and waits for it to exit
// (at most 30 s, then it is killed).
func runSignalled(t *testing.T, cmd *exec.Cmd, p signalPlan) signalled {
	t.Helper()
	// One stream is read line by line for when, the other kept whole.
	var (
		other   bytes.Buffer
		watched io.Reader
		err     error
	)
	if p.onStderr {
		cmd.Stdout = &other
		watched, err = cmd.StderrPipe()
	} else {
		cmd.Stderr = &other
		watched, err = cmd.StdoutPipe()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	var (
		out  strings.Builder
		mu   sync.Mutex
		sent time.Time
	)
	signal := func() {
		mu.Lock()
		defer mu.Unlock()
		if err := cmd.Process.Signal(p.sig); err == nil {
			sent = time.Now()
		}
	}
	fired := false
	fire := func() {
		signal()
		if p.again > 0 {
			time.AfterFunc(p.again, signal)
		}
	}
	if p.when == nil {
		fired = true
		time.AfterFunc(p.after, fire)
	}
	sc := bufio.NewScanner(watched)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !fired && p.when(sc.Text()) {
			fired = true
			fire()
		}
	}
	err = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	s := signalled{result: result{stdout: out.String(), stderr: other.String()}}
	if p.onStderr {
		s.stdout, s.stderr = other.String(), out.String()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		s.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %q: %v", cmd.Args, err)
	}
	if !fired {
		t.Fatalf("the condition for the signal never held:\n%s", s)
	}
	s.took = time.Since(sent)
	return s
}

// planned holds for the line announcing the plan of folder, then waits
// delay, so the signal lands in the middle of copying it.
func planned(folder string, delay time.Duration) func(string) bool {
	return func(l string) bool {
		if strings.Contains(l, `"type":"planned"`) && strings.Contains(l, fmt.Sprintf("%q", folder)) {
			time.Sleep(delay)
			return true
		}
		return false
	}
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

// SIGINT and SIGTERM while an IMAP source streams: the run stops within
// seconds with exit code 130 or 143 and the summary, and a re-run finishes
// the copy. This used to hang for ever in go-imap when the fetch gave up
// with a message body unread (many small messages make that the common
// case).
func TestInterruptIMAPSource(t *testing.T) {
	const n = 1500
	srv, ca := bigMailbox(t, n, 8<<10)
	ep := "imaps://alice%40example.com@" + srv.TLSAddr()
	dst := filepath.Join(t.TempDir(), "backup")
	env := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}
	args := []string{"copy", ep, "maildir:" + dst, "--ca-file", ca, "--json"}
	total := 0
	for i, p := range []signalPlan{
		{sig: syscall.SIGINT, when: planned("INBOX", 50*time.Millisecond)},
		{sig: syscall.SIGTERM, when: planned("INBOX", 300*time.Millisecond)},
	} {
		r := runSignalled(t, command(t, env, nil, args...), p)
		want := exitInterrupted
		if p.sig == syscall.SIGTERM {
			want = exitTerminated
		}
		if r.code != want {
			t.Fatalf("run %d: exit code %d after %v, want %d\n%s", i, r.code, p.sig, want, r)
		}
		if r.took > 5*time.Second {
			t.Errorf("run %d took %v to stop after %v", i, r.took, p.sig)
		}
		s := lastSummary(t, r.stdout)
		total += s.Copied
		if !strings.Contains(r.stderr, "interrupted by "+signalName(p.sig)) || !strings.Contains(r.stderr, "run the same command again") {
			t.Errorf("run %d: stderr does not name %v and say how to go on:\n%s", i, p.sig, r.stderr)
		}
		t.Logf("run %d: stopped %v after %v, having copied %d", i, r.took.Round(time.Millisecond), p.sig, s.Copied)
	}
	// Without --json, the text summary is printed too: a run into a
	// destination of its own, signalled once it has printed (-v) its
	// twentieth message, far from the end of its 1,500.
	lines := 0
	text := []string{"copy", ep, "maildir:" + filepath.Join(t.TempDir(), "text"), "--ca-file", ca, "-v"}
	r := runSignalled(t, command(t, env, nil, text...), signalPlan{sig: syscall.SIGTERM, onStderr: true, when: func(l string) bool {
		if strings.HasPrefix(l, "copied INBOX message ") {
			lines++
		}
		return lines == 20
	}})
	if r.code != exitTerminated || !regexp.MustCompile(`(?m)^copied \d+ messages? .*, skipped \d+, (.*, )?failed 0 in `).MatchString(r.stdout) {
		t.Errorf("text run after SIGTERM: want exit code %d and the summary line\n%s", exitTerminated, r)
	}
	again := mailferry(t, env, args...)
	expectCode(t, again, 0)
	if got := len(messageFiles(t, dst)); got != n+4 {
		t.Errorf("backup holds %d messages, want %d", got, n+4)
	}
	if total == 0 {
		t.Error("the interrupted runs copied nothing; the test needs runs stopped part-way")
	}
}

// stalledDestination is an IMAP server for bob behind a proxy that stalls
// the first APPEND for good, so a run stops only as fast as it gives up on
// a message in flight.
func stalledDestination(t *testing.T) string {
	t.Helper()
	srv := servertest.Start(t, imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "pw"}}})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), Action: faultproxy.Stall, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	return "imap://bob@" + proxy.Addr() + "?tls=none"
}

// A process started with SIGINT ignored (a background job of a shell
// script, nohup) still stops cleanly on the first SIGINT, and at once on a
// second one, even while a message is in flight to a stalled server.
func TestSignalsWhenSIGINTIgnored(t *testing.T) {
	src, msgs := smallMaildir(t)
	ignoreINT := []string{"sh", "-c", `trap "" INT; exec "$@"`, "sh"}
	env := []string{"MAILFERRY_DEST_PASSWORD=pw"}

	t.Run("one signal", func(t *testing.T) {
		dst := stalledDestination(t)
		args := []string{"copy", "maildir:" + src, dst, "--json", "--connections", "1"}
		r := runSignalled(t, command(t, env, ignoreINT, args...), signalPlan{sig: syscall.SIGINT, when: planned("INBOX", 200*time.Millisecond)})
		if r.code != exitInterrupted || r.took > 5*time.Second {
			t.Fatalf("exit code %d %v after SIGINT, want %d within 5 s\n%s", r.code, r.took, exitInterrupted, r)
		}
		lastSummary(t, r.stdout)
		t.Logf("stopped %v after SIGINT with an APPEND stalled", r.took.Round(time.Millisecond))
		again := mailferry(t, env, args...)
		expectCode(t, again, 0)
		if s := lastSummary(t, again.stdout); s.Copied+lastSummary(t, r.stdout).Copied != len(msgs) {
			t.Errorf("copied %d after the interrupted run, want the rest of %d\n%s", s.Copied, len(msgs), again)
		}
	})
	t.Run("two signals", func(t *testing.T) {
		dst := stalledDestination(t)
		args := []string{"copy", "maildir:" + src, dst, "--json", "--connections", "1"}
		r := runSignalled(t, command(t, env, ignoreINT, args...), signalPlan{sig: syscall.SIGINT, when: planned("INBOX", 200*time.Millisecond), again: 300 * time.Millisecond})
		if r.code != exitInterrupted || r.took > time.Second {
			t.Fatalf("exit code %d %v after the second SIGINT, want %d at once\n%s", r.code, r.took, exitInterrupted, r)
		}
		if !strings.Contains(r.stderr, "SIGINT again: stopping at once") {
			t.Errorf("no word about the second signal:\n%s", r.stderr)
		}
		t.Logf("exited %v after the second SIGINT", r.took.Round(time.Millisecond))
	})
}
