package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTempDirHonoured: with --temp-dir, the spool files of large messages
// appear in that directory while the copy runs, none in the system's
// temporary directory, and none is left after the run.
func TestTempDirHonoured(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	var msgs []testMessage
	for i := range 4 {
		// 5 MiB: larger than the 2 MiB a body may keep of the run's
		// 8 MiB of spool memory.
		m := message("INBOX", i, 0)
		m.body += strings.Repeat("a line of a message too large for memory\n", 5<<20/41)
		msgs = append(msgs, m)
	}
	writeMaildir(t, src, msgs)
	spool, sysTemp := t.TempDir(), t.TempDir()
	dst := filepath.Join(t.TempDir(), "archive")

	cmd := exec.Command(binary, "copy", "maildir:"+src, "mbox:"+dst, "--temp-dir", spool, "--connections", "1", "-q")
	cmd.Env = testEnv(t, []string{"TMPDIR=" + sysTemp})
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Watch both directories until the run ends.
	seen := map[string]bool{}
	var mu sync.Mutex
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, dir := range []string{spool, sysTemp} {
				entries, _ := os.ReadDir(dir)
				mu.Lock()
				for _, e := range entries {
					seen[filepath.Join(dir, e.Name())] = true
				}
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-watched
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	inSpool := 0
	for f := range seen {
		if filepath.Dir(f) != spool || !strings.HasPrefix(filepath.Base(f), "mailferry-spool-") {
			t.Errorf("temporary file %s outside --temp-dir %s", f, spool)
			continue
		}
		inSpool++
	}
	if inSpool == 0 {
		t.Errorf("no spool file appeared in --temp-dir %s during the run", spool)
	}
	for _, dir := range []string{spool, sysTemp} {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s holds %d file(s) after the run", dir, len(left))
		}
	}
	r := mailferry(t, nil, "verify", "maildir:"+src, "mbox:"+dst, "--temp-dir", spool, "-q")
	expectCode(t, r, 0)
}

func TestTempDirUsageErrors(t *testing.T) {
	src, _ := smallMaildir(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(t.TempDir(), "missing"), "does not exist"},
		{file, "not a directory"},
	} {
		for _, verb := range []string{"copy", "verify"} {
			r := mailferry(t, nil, verb, "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "d"), "--temp-dir", tc.dir)
			expectCode(t, r, 2)
			if !strings.Contains(r.stderr, "--temp-dir "+tc.dir+": "+tc.want) {
				t.Errorf("%s --temp-dir %s:\n%s", verb, tc.dir, r)
			}
		}
	}
}
