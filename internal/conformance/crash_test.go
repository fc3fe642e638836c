package conformance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/internal/soak"
)

// The crash tests re-execute this test binary as a child that runs one copy
// (TestCrashChild) and SIGKILL it at random moments, then let a last run
// finish and check that nothing was lost or duplicated.
const (
	crashEnv      = "MAILFERRY_CRASH_CHILD"
	crashFromEnv  = "MAILFERRY_CRASH_FROM"
	crashToEnv    = "MAILFERRY_CRASH_TO"
	crashStoreEnv = "MAILFERRY_CRASH_STORE"
	crashStateEnv = "MAILFERRY_CRASH_STATE"
	crashSeedEnv  = "MAILFERRY_CRASH_SEED" // set it to replay a failing schedule
)

// TestCrashChild is the child process of the crash tests: it copies the
// Maildir at $MAILFERRY_CRASH_FROM into the store named $MAILFERRY_CRASH_STORE
// at $MAILFERRY_CRASH_TO and prints READY before and DONE after the copy.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashEnv) != "1" {
		t.Skip("child process of TestCrash*; runs only when they start it")
	}
	to, ok := StoreByName(os.Getenv(crashStoreEnv))
	if !ok {
		t.Fatalf("unknown store %q", os.Getenv(crashStoreEnv))
	}
	fmt.Println("READY")
	sum, err := CopyOnce(Maildir(), os.Getenv(crashFromEnv), to, os.Getenv(crashToEnv), os.Getenv(crashStateEnv))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("DONE copied=%d skipped=%d failed=%d\n", sum.Copied, sum.Skipped, sum.Failed)
}

// crashCorpus is 400 generated messages in seven folders plus three large
// ones (1–1.6 MB), so kills land inside big writes too.
func crashCorpus(seed int64) []corpus.Message {
	msgs := FromSample(sample.Generate(400, seed, 4000))
	for i, folder := range []string{"INBOX", "Archive/2023", "Entwürfe"} {
		msgs = append(msgs, corpus.Message{
			Name:   fmt.Sprintf("large-%d", i),
			Folder: folder,
			Flags:  []string{`\Seen`, "Invoice"},
			Date:   time.Date(2020+i, 3, 4, 5, 6, 7, 0, time.UTC),
			Body:   corpus.Attachment(1<<20+i*300000, uint64(seed)+uint64(i)),
		})
	}
	return msgs
}

func crashSeed(t *testing.T) int64 {
	if s := os.Getenv(crashSeedEnv); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
		return n
	}
	return time.Now().UnixNano() % 1000000
}

func TestCrashMaildirToMaildir(t *testing.T) {
	t.Parallel()
	crashTest(t, Maildir())
}

func crashTest(t *testing.T, to Store) {
	seed := crashSeed(t)
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0x6b696c6c))
	msgs := crashCorpus(seed)

	start := time.Now()
	from := Maildir()
	srcPath := from.Path(t.TempDir())
	sink, err := from.NewSink(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := Fill(context.Background(), sink, msgs); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	dstPath := to.Path(t.TempDir())
	state, err := StatePath(to, dstPath, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	t.Logf("source filled in %v", time.Since(start))
	start = time.Now()

	// Time one undisturbed copy into a scratch store, so the kills spread
	// over a copy whatever the store's speed (a buffered mbox copy takes
	// milliseconds, a Maildir one with an fsync per message much longer).
	scratch := to.Path(t.TempDir())
	scratchState, err := StatePath(to, scratch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	finishedAlone, full, err := runAndKill(t, srcPath, to, scratch, scratchState, spool, time.Minute)
	if err != nil || !finishedAlone {
		t.Fatalf("undisturbed child copy: finished %v, %v", finishedAlone, err)
	}
	t.Logf("an undisturbed copy takes %v", full)

	kills := soak.Count(4+r.IntN(3), 24)
	deadline := time.Now().Add(soak.Duration(12*time.Second, 10*time.Minute))
	interrupted, finished := 0, 0
	for k := 0; interrupted < kills && time.Now().Before(deadline); k++ {
		delay := full/50 + time.Duration(r.Int64N(int64(full/4)+1))
		done, _, err := runAndKill(t, srcPath, to, dstPath, state, spool, delay)
		if err != nil {
			t.Fatalf("kill %d: %v", k+1, err)
		}
		if done {
			finished++
		} else {
			interrupted++
		}
	}
	t.Logf("%s: %d copies killed mid-run, %d finished before the kill, in %v", to.Name, interrupted, finished, time.Since(start))
	start = time.Now()
	if interrupted == 0 {
		t.Fatal("no kill landed during a copy; the test proved nothing")
	}
	if soak.Enabled() && interrupted < kills {
		t.Fatalf("only %d of %d kills landed during a copy before the time ran out", interrupted, kills)
	}

	sum, err := CopyOnce(from, srcPath, to, dstPath, state)
	if err != nil {
		t.Fatalf("final run: %v", err)
	}
	if sum.Failed != 0 || sum.Copied+sum.Skipped != len(msgs) {
		t.Errorf("final run: copied %d, skipped %d, failed %d (%v); want %d in all", sum.Copied, sum.Skipped,
			sum.Failed, sum.Failures, len(msgs))
	}
	t.Logf("final run in %v: copied %d, skipped %d", time.Since(start), sum.Copied, sum.Skipped)
	CheckStore(t, to, dstPath, msgs, Expect{})
	if n := countTmp(dstPath); n > 0 {
		t.Logf("%d leftover files in tmp/ directories (not visible as messages)", n)
	}

	// One more run after the crashes copies nothing.
	sum, err = CopyOnce(from, srcPath, to, dstPath, state)
	if err != nil || sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Errorf("run after recovery: copied %d, skipped %d, err %v; want 0 copied", sum.Copied, sum.Skipped, err)
	}
}

// runAndKill starts a child copy, waits until it is about to run, lets it
// work for delay and SIGKILLs it. It reports whether the child finished
// first, and how long its copy took if it did.
func runAndKill(t *testing.T, srcPath string, to Store, dstPath, state, spool string, delay time.Duration) (bool, time.Duration, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashEnv+"=1", crashFromEnv+"="+srcPath, crashToEnv+"="+dstPath,
		crashStoreEnv+"="+to.Name, crashStateEnv+"="+state, "TMPDIR="+spool)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, 0, err
	}
	if err := cmd.Start(); err != nil {
		return false, 0, err
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	eof := make(chan struct{})
	var output strings.Builder
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			output.WriteString(line + "\n")
			switch {
			case line == "READY":
				close(ready)
			case strings.HasPrefix(line, "DONE"):
				close(done)
			}
		}
	}()
	select {
	case <-ready:
	case <-eof:
	case <-time.After(30 * time.Second):
	}
	finished := false
	var took time.Duration
	select {
	case <-ready:
		start := time.Now()
		select {
		case <-done:
			finished = true
			took = time.Since(start)
		case <-time.After(delay):
		}
	default:
	}
	cmd.Process.Kill()
	<-eof
	waitErr := cmd.Wait()
	select {
	case <-ready:
	default:
		return false, 0, fmt.Errorf("child never got ready: %v\n%s%s", waitErr, output.String(), stderr.String())
	}
	if !finished {
		// A child that exited on its own before the kill must have succeeded.
		if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && !ws.Signaled() && waitErr != nil {
			return false, 0, fmt.Errorf("child failed: %v\n%s%s", waitErr, output.String(), stderr.String())
		}
	}
	return finished, took, nil
}

// countTmp counts files under tmp/ directories below root.
func countTmp(root string) int {
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			n++
		}
		return nil
	})
	return n
}

// A run killed while it held Dovecot's dovecot-keywords.lock leaves the lock
// file behind. The next run must still store messages with keywords (the
// writer is gone; Dovecot holds that lock only for one small write) instead
// of failing.
func TestCrashLeftoverKeywordsLock(t *testing.T) {
	t.Parallel()
	msgs := []corpus.Message{{
		Name: "keyword", Folder: "INBOX", Flags: []string{`\Seen`, "Urgent"},
		Date: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Body: []byte("Subject: keyword after a crash\nMessage-ID: <kw@example.com>\n\nbody\n"),
	}}
	src := Maildir().Path(t.TempDir())
	sink, err := Maildir().NewSink(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := Fill(context.Background(), sink, msgs); err != nil {
		t.Fatal(err)
	}
	sink.Close()

	dst := Maildir().Path(t.TempDir())
	sink, err = Maildir().NewSink(dst)
	if err != nil {
		t.Fatal(err)
	}
	sink.Close()
	// What a writer killed between creating the lock and renaming it leaves.
	if err := os.WriteFile(filepath.Join(dst, "dovecot-keywords.lock"), []byte("0 Old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := CopyOnce(Maildir(), src, Maildir(), dst, "")
	if err != nil || sum.Copied != 1 {
		t.Fatalf("copy after a crash left dovecot-keywords.lock: copied %d, err %v (after %v)", sum.Copied, err, time.Since(start))
	}
	CheckStore(t, Maildir(), dst, msgs, Expect{})
}
