package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/internal/soak"
)

// The campaigns run the mailferry binary, as cron or systemd would, in the
// four directions of the issue that made them (IMAP → Maildir, IMAP → IMAP,
// mbox → IMAP, POP3 → mbox) against in-process servers on 127.0.0.1:
//
//   - interrupt: SIGINT or SIGTERM at a random moment; the run must end
//     within 5 s with exit code 130 or 143 and its summary line;
//   - kill: SIGKILL at a random moment;
//   - fault: a proxy cuts or stalls the connection to a server at a random
//     point of a message stream; the run must finish by itself.
//
// After every stopped run the destination may hold only complete, exact
// messages, none twice; a re-run then completes and the destination holds
// every message exactly once. The short form (make test) stops at a few
// moments per direction; MAILFERRY_SOAK=1 (make soak) runs the long form.
// MAILFERRY_CRASH_SEED replays a schedule.

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// mailferryBinary builds cmd/mailferry once for the package's tests.
func mailferryBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailferry-campaign-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "mailferry")
		out, err := exec.Command("go", "build", "-o", binaryPath, "github.com/mailferry/mailferry/cmd/mailferry").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("building mailferry: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// campaignEnd is one side of a direction: a store the test fills or reads
// back, and how the command line names it.
type campaignEnd struct {
	store Store
	// endpoint names the store at path (for a server: its address) on the
	// command line.
	endpoint func(addr string) string
}

func imapEnd(t *testing.T) campaignEnd {
	return imapEndWith(t, imapserver.Options{})
}

func imapEndWith(t *testing.T, opts imapserver.Options) campaignEnd {
	return campaignEnd{store: IMAP(t, opts), endpoint: func(addr string) string { return "imap://alice@" + addr + "?tls=none" }}
}

func maildirEnd() campaignEnd {
	return campaignEnd{store: Maildir(), endpoint: func(p string) string { return "maildir:" + p }}
}

func mboxEnd() campaignEnd {
	return campaignEnd{store: MboxDir(), endpoint: func(p string) string { return "mbox:" + p }}
}

// direction is one source → destination pair of a campaign.
type direction struct {
	name string
	// source starts (and fills with msgs) a fresh source and returns its
	// address or path.
	source func(t *testing.T, msgs []corpus.Message) string
	from   func(addr string) string // the source's endpoint
	to     campaignEnd
	expect Expect
	// faults is where a fault campaign breaks the stream: the source's or
	// the destination's connection, and the fault to inject.
	faultSource bool
	fault       func(r *rand.Rand) faultproxy.Fault
	corpus      func(seed int64) []corpus.Message
}

// campaignCorpus is generated mail in several folders plus two large
// messages, so stops land inside big bodies too.
func campaignCorpus(seed int64) []corpus.Message {
	msgs := FromSample(sample.Generate(soak.Count(60, 300), seed, 3000))
	for i, folder := range []string{"INBOX", "Archive/2023"} {
		msgs = append(msgs, corpus.Message{
			Name:   fmt.Sprintf("large-%d", i),
			Folder: folder,
			Flags:  []string{`\Seen`},
			Date:   time.Date(2021+i, 5, 6, 7, 8, 9, 0, time.UTC),
			Body:   corpus.Attachment(400000+i*150000, uint64(seed)+uint64(i)),
		})
	}
	return msgs
}

// pop3Corpus is INBOX-only mail without flags whose arrival time is in a
// Received: header, which is all POP3 keeps.
func pop3Corpus(seed int64) []corpus.Message {
	r := rand.New(rand.NewPCG(uint64(seed), 0x706f7033))
	var msgs []corpus.Message
	for i := range soak.Count(60, 300) {
		date := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 97 * time.Minute)
		size := 200 + r.IntN(6000)
		if i%50 == 7 {
			size = 300000
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Received: by mx.example.org; %s\nMessage-ID: <pop%d.%d@example.org>\nSubject: mail %d\n\n", date.Format(time.RFC1123Z), i, seed, i)
		for b.Len() < size {
			fmt.Fprintf(&b, "line %d of message %d\n", b.Len(), i)
		}
		msgs = append(msgs, corpus.Message{Name: fmt.Sprintf("pop-%d", i), Folder: "INBOX", Date: date, Body: []byte(b.String())})
	}
	return msgs
}

// streamFault breaks a connection somewhere in the bytes after match
// flowing in dir: cut or stalled (the run's --timeout ends a stall).
func streamFault(dir faultproxy.Direction, match string, within int64) func(r *rand.Rand) faultproxy.Fault {
	return func(r *rand.Rand) faultproxy.Fault {
		action := faultproxy.Cut
		if r.IntN(3) == 0 {
			action = faultproxy.Stall
		}
		return faultproxy.Fault{Dir: dir, Match: []byte(match), After: r.Int64N(within), Action: action, Times: 1}
	}
}

func directions(t *testing.T) []direction {
	fromStore := func(s campaignEnd) (func(*testing.T, []corpus.Message) string, func(string) string) {
		return func(t *testing.T, msgs []corpus.Message) string { return fillStore(t, s.store, msgs) }, s.endpoint
	}
	imap, mbox := imapEnd(t), mboxEnd()
	imapSrc, imapFrom := fromStore(imap)
	mboxSrc, mboxFrom := fromStore(mbox)
	// The messages are put into the source in local form (see ExpectFor).
	pop3 := Store{Name: "pop3", CRLF: true}
	pop3Expect := ExpectFor(pop3, MboxDir())
	pop3Expect.FlagsOnly = map[string]bool{}
	return []direction{
		{name: "IMAP-Maildir", source: imapSrc, from: imapFrom, to: maildirEnd(), corpus: campaignCorpus,
			expect: ExpectFor(imap.store, Maildir()), faultSource: true, fault: streamFault(faultproxy.ToClient, "BODY[] {", 200000)},
		{name: "IMAP-IMAP", source: imapSrc, from: imapFrom, to: imapEnd(t), corpus: campaignCorpus,
			expect: ExpectFor(imap.store, imap.store), fault: streamFault(faultproxy.ToServer, "APPEND", 200000)},
		// Into a server with MULTIAPPEND, so the faults also break
		// batches of messages (IMAP-IMAP keeps one message a command).
		{name: "mbox-IMAP", source: mboxSrc, from: mboxFrom, to: imapEndWith(t, imapserver.Options{MultiAppend: true}), corpus: campaignCorpus,
			expect: ExpectFor(mbox.store, imap.store), fault: streamFault(faultproxy.ToServer, "APPEND", 200000)},
		{name: "POP3-mbox", corpus: pop3Corpus, to: mboxEnd(),
			source: func(t *testing.T, msgs []corpus.Message) string {
				var pm []pop3server.Message
				for _, m := range msgs {
					pm = append(pm, pop3server.Message{UID: m.Name, Body: m.Body})
				}
				srv, err := pop3server.Start(pop3server.Options{Messages: pm})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				return srv.Addr()
			},
			from:        func(addr string) string { return "pop3://alice@" + addr + "?tls=none" },
			expect:      pop3Expect,
			faultSource: true,
			// After the listing (UIDL ends with a lone dot), somewhere in
			// the RETR responses.
			fault: streamFault(faultproxy.ToClient, "\r\n.\r\n", 400000)},
	}
}

// campaignRun is one run of the binary.
type campaignRun struct {
	code     int
	signaled bool           // ended by a signal's default action
	signal   syscall.Signal // which, when signaled
	stdout   string
	stderr   string
	// finished: the run ended before it was signalled.
	finished bool
	// took is from the signal to the exit, ran from the start.
	took, ran time.Duration
}

// runBinary starts the binary with args. With sig != 0 it sends sig
// delay after the run's first line of output (a signal caught by the
// handler; SIGKILL: delay after the start), unless the run ended first,
// and waits for the exit, at most 60 s.
func runBinary(t *testing.T, args []string, sig syscall.Signal, delay time.Duration) campaignRun {
	t.Helper()
	cmd := exec.Command(mailferryBinary(t), args...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state"), "PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + os.TempDir(), "MAILFERRY_SOURCE_PASSWORD=secret", "MAILFERRY_DEST_PASSWORD=secret"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	firstLine := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		br := bufio.NewReader(pipe)
		line, err := br.ReadBytes('\n')
		stdout.Write(line)
		close(firstLine)
		if err == nil {
			stdout.ReadFrom(br)
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-copied
		exited <- cmd.Wait()
	}()
	var r campaignRun
	if sig == 0 {
		delay = 60 * time.Second
	}
	// Until the handler is installed, a signal would kill the process
	// by its default action, which no user can aim at anyway.
	gate := firstLine
	if sig == 0 || sig == syscall.SIGKILL {
		gate = make(chan struct{})
		close(gate)
	}
	select {
	case <-gate:
	case err = <-exited:
		r.finished = true
	}
	if !r.finished {
		select {
		case err = <-exited:
			r.finished = true
		case <-time.After(delay):
			if sig == 0 {
				cmd.Process.Kill()
				t.Fatalf("mailferry %q still running after %v", args, delay)
			}
			cmd.Process.Signal(sig)
			sent := time.Now()
			select {
			case err = <-exited:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				err = <-exited
			}
			r.took = time.Since(sent)
		}
	}
	r.ran = time.Since(start)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signaled, r.signal = true, ws.Signal()
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r campaignRun) String() string {
	return fmt.Sprintf("exit code %d (finished before the signal: %v, %v after it, %v in all)\n--- stdout (end):\n%s\n--- stderr:\n%s",
		r.code, r.finished, r.took, r.ran, lastLines(r.stdout, 3), r.stderr)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var campaignSummary = regexp.MustCompile(`^\{"type":"summary","copied":\d+,"skipped":\d+,"failed":\d+,`)

// campaign is one direction's state during a campaign.
type campaign struct {
	t    *testing.T
	d    direction
	r    *rand.Rand
	msgs []corpus.Message
	src  string // the source's address or path
}

func newCampaign(t *testing.T, d direction) *campaign {
	seed := crashSeed(t)
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	c := &campaign{t: t, d: d, r: rand.New(rand.NewPCG(uint64(seed), 0x63616d70)), msgs: d.corpus(seed)}
	c.src = d.source(t, c.msgs)
	return c
}

// dest is a fresh destination and the arguments of a copy into it.
func (c *campaign) dest(from string, extra ...string) (string, []string) {
	dir := c.t.TempDir()
	path := c.d.to.store.Path(dir)
	args := append([]string{"copy", from, c.d.to.endpoint(path), "--json", "--state", filepath.Join(dir, "copy.state")}, extra...)
	return path, args
}

// check reads the destination back: after a stopped run it may hold only
// complete, exact messages, none twice (complete false), after a finished
// one exactly the corpus.
func (c *campaign) check(path string, complete bool, what string) {
	c.t.Helper()
	got, err := ReadBack(c.d.to.store, path)
	if err != nil {
		c.t.Fatalf("%s: reading the destination back: %v", what, err)
	}
	if complete {
		if p := Diff(c.msgs, got, c.d.expect); len(p) > 0 {
			c.t.Fatalf("%s: the destination differs from the source:\n  %s", what, strings.Join(p, "\n  "))
		}
		return
	}
	if p, _ := DiffSubset(c.msgs, got, c.d.expect); len(p) > 0 {
		c.t.Fatalf("%s: the destination holds what it must not:\n  %s", what, strings.Join(p, "\n  "))
	}
}

// finish runs the copy undisturbed and checks the destination is complete.
func (c *campaign) finish(path string, args []string, what string) time.Duration {
	c.t.Helper()
	start := time.Now()
	r := runBinary(c.t, args, 0, 0)
	if r.code != 0 {
		c.t.Fatalf("%s: the re-run failed: %s", what, r)
	}
	took := time.Since(start)
	c.check(path, true, what)
	return took
}

// stopCampaign stops runs with signals drawn from sigs at random moments
// until want of them landed during a copy, each on a destination that runs
// continue into until one finishes; then the re-run completes it.
func stopCampaign(t *testing.T, d direction, sigs []syscall.Signal, want int) {
	c := newCampaign(t, d)
	// One undisturbed copy sets the scale of the random moments.
	path, args := c.dest(d.from(c.src))
	full := c.finish(path, args, "undisturbed copy")
	t.Logf("an undisturbed copy takes %v", full.Round(time.Millisecond))
	// On a loaded machine the exit itself slows as much as the copy: a
	// tenth of the undisturbed copy is still far from most signals, which
	// land anywhere in its first three quarters.
	race := max(exitRace, full/10)

	landed, finished, episodes := 0, 0, 0
	var slowest time.Duration
	bySig := map[syscall.Signal]int{}
	deadline := time.Now().Add(soak.Duration(4*time.Minute, 20*time.Minute))
	for landed < want && time.Now().Before(deadline) {
		episodes++
		path, args := c.dest(d.from(c.src))
		for run := 0; landed < want; run++ {
			sig := sigs[c.r.IntN(len(sigs))]
			delay := time.Duration(c.r.Int64N(int64(full*3/4) + 1))
			r := runBinary(t, args, sig, delay)
			what := fmt.Sprintf("episode %d, %v after %v", episodes, sig, delay)
			if !r.finished && !r.signaled && r.code == 0 && (sig == syscall.SIGKILL || r.took < race) {
				// The process had decided its exit code when the signal
				// came (a SIGKILL cannot be answered with 0 at all): a
				// signal racing the exit itself cannot be honoured, and
				// the run was complete. A handler that ignored signals
				// would still be caught: most signals land well before
				// the end of a copy.
				r.finished = true
			}
			// The signal came after the command had released its
			// handler, on the way to the exit: by design its default
			// action ends the process (a shell reports 128 + the
			// signal's number, never 0), and the summary shows the run
			// was complete.
			afterRelease := !r.finished && r.signaled && r.signal == sig && sig != syscall.SIGKILL &&
				r.took < race && campaignSummary.MatchString(lastLines(r.stdout, 1))
			if afterRelease {
				r.finished = true
			}
			if r.finished {
				if (r.code != 0 && !afterRelease) || !campaignSummary.MatchString(lastLines(r.stdout, 1)) {
					t.Fatalf("%s: the run ended before the signal, and not well: %s", what, r)
				}
				if run == 0 {
					// A whole copy: the moments to aim at are within it.
					full = min(full, r.ran)
				}
				finished++
				break
			}
			landed++
			bySig[sig]++
			slowest = max(slowest, r.took)
			if sig == syscall.SIGKILL {
				if !r.signaled {
					t.Fatalf("%s: not killed: %s", what, r)
				}
				// A killed write may leave a torn mbox tail, which the
				// next run sets aside; only the re-run is judged. An
				// in-process server may still be storing the last
				// APPEND it received when the kill comes (the bytes are
				// in its socket buffer): the next run, started at once,
				// would not see it yet and copy it again. Real re-runs
				// come later; give the server that moment.
				time.Sleep(500 * time.Millisecond)
				continue
			}
			if code := 128 + int(sig); r.code != code || r.signaled {
				t.Fatalf("%s: want exit code %d: %s", what, code, r)
			}
			if r.took > 5*time.Second {
				t.Errorf("%s: the run took %v to stop", what, r.took)
			}
			if !campaignSummary.MatchString(lastLines(r.stdout, 1)) {
				t.Errorf("%s: the last line is not the summary: %s", what, r)
			}
			c.check(path, false, what)
		}
		c.finish(path, args, fmt.Sprintf("episode %d", episodes))
	}
	t.Logf("%s: %d stops landed during a copy (%v), %d runs finished before their signal, %d episodes each completed by a re-run; slowest stop %v",
		d.name, landed, bySig, finished, episodes, slowest.Round(time.Millisecond))
	if landed < want {
		t.Fatalf("only %d of %d stops landed during a copy before the time ran out", landed, want)
	}
}

// faultCampaign copies through a proxy that breaks the stream one to
// three times, until want faults fired; every copy must finish by itself
// with the destination complete.
func faultCampaign(t *testing.T, d direction, want int) {
	c := newCampaign(t, d)
	target := c.src
	fired, runs := 0, 0
	deadline := time.Now().Add(soak.Duration(4*time.Minute, 30*time.Minute))
	for fired < want && time.Now().Before(deadline) {
		runs++
		var faults []faultproxy.Fault
		for range 1 + c.r.IntN(3) {
			faults = append(faults, d.fault(c.r))
		}
		from := d.from(c.src)
		var dest campaignEnd
		var proxy *faultproxy.Proxy
		var err error
		if d.faultSource {
			proxy, err = faultproxy.Start(target, faults...)
			if err != nil {
				t.Fatal(err)
			}
			from = d.from(proxy.Addr())
			dest = d.to
		} else {
			// A fresh server behind the proxy.
			addr := d.to.store.Path(t.TempDir())
			proxy, err = faultproxy.Start(addr, faults...)
			if err != nil {
				t.Fatal(err)
			}
			dest = campaignEnd{store: fixedPath(d.to.store, addr), endpoint: func(string) string { return d.to.endpoint(proxy.Addr()) }}
		}
		fc := *c
		fc.d.to = dest
		path, args := fc.dest(from, "--timeout", "2s")
		fc.finish(path, args, fmt.Sprintf("run %d with faults %+v", runs, faults))
		fired += proxy.Fired()
		proxy.Close()
	}
	t.Logf("%s: %d faults fired in %d copies, each of which completed by itself", d.name, fired, runs)
	if fired < want {
		t.Fatalf("only %d of %d faults fired before the time ran out", fired, want)
	}
}

// fixedPath is s with Path returning addr: a server already started.
func fixedPath(s Store, addr string) Store {
	s.Path = func(string) string { return addr }
	return s
}

// exitRace is the least time after a signal within which an exit with
// code 0 counts as the process ending on its own: the time from its last
// decision to the test seeing it gone (closing its files, the kernel's
// exit, the pipe's end) is a few milliseconds on a busy machine.
const exitRace = 25 * time.Millisecond

func TestCampaignInterrupt(t *testing.T) {
	for _, d := range directions(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			stopCampaign(t, d, []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, soak.Count(3, 24))
		})
	}
}

func TestCampaignKill(t *testing.T) {
	for _, d := range directions(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			stopCampaign(t, d, []syscall.Signal{syscall.SIGKILL}, soak.Count(2, 24))
		})
	}
}

func TestCampaignFaults(t *testing.T) {
	for _, d := range directions(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			faultCampaign(t, d, soak.Count(3, 54))
		})
	}
}
