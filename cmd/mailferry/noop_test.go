package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecot"
)

// mailferryTraced runs the binary as mailferryIn does, under strace, and
// returns how many times it asked the kernel to flush a file to disk.
func mailferryTraced(t *testing.T, env []string, args ...string) (result, int) {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "strace")
	r := runProgram(t, env, "strace", append([]string{"-f", "-qq", "-e", "signal=none", "-e", "trace=fsync,fdatasync,syncfs,sync_file_range,msync",
		"-o", trace, binary}, args...)...)
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("strace wrote no trace: %v\n%s", err, r)
	}
	syncs := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "sync") {
			syncs++
		}
	}
	return r, syncs
}

// A re-run with nothing to copy opens one connection to each server (the
// planners, which run side by side, open no more), flushes nothing to
// disk, and leaves the state file as it was; the job index still says
// when the job last ran.
func TestDovecotNoopRerunOneConnectionEachNoFlush(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("strace is not installed (install strace; .ci/run does)")
	}
	dana := dovecot.User{Name: "dana", Password: "dana-pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser, dana}})
	folders := []string{"INBOX", "Archive", "Lists/go", "Reisen/Übersicht", "Sent"}
	var msgs []testMessage
	for i := range 40 {
		msgs = append(msgs, message(folders[i%len(folders)], i, 1500))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	expectCode(t, copyIntoDovecot(t, s, "maildir:"+src), 0)

	srcProxy := startCountingProxy(t, s.IMAPAddr)
	dstProxy := startCountingProxy(t, s.IMAPAddr)
	env := testEnv(t, []string{"MAILFERRY_SOURCE_PASSWORD=" + dovecotUser.Password, "MAILFERRY_DEST_PASSWORD=" + dana.Password})
	stateDir := filepath.Join(t.TempDir(), "state")
	source := "imap://" + dovecotUser.Name + "@" + srcProxy.ln.Addr().String()
	maildir := filepath.Join(t.TempDir(), "backup")
	for _, tc := range []struct {
		name, dest string
		state      string // the state file
		dstProxy   *countingProxy
	}{
		{"maildir", "maildir:" + maildir, filepath.Join(maildir, "mailferry.state"), nil},
		{"imap", "imap://" + dana.Name + "@" + dstProxy.ln.Addr().String(), "", dstProxy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"copy", source, tc.dest, "--ca-file", s.CAFile, "--state-dir", stateDir, "--job-name", tc.name}
			if tc.state == "" {
				tc.state = filepath.Join(stateDir, tc.name+".state")
			}
			r, syncs := mailferryTraced(t, env, args...)
			expectCode(t, r, 0)
			if !strings.Contains(r.stdout, "copied 40 messages") || syncs == 0 {
				t.Fatalf("first copy: %d flushes to disk, want some\n%s", syncs, r)
			}
			state, err := os.ReadFile(tc.state)
			if err != nil {
				t.Fatal(err)
			}
			entry := readEntry(t, stateDir, tc.name)

			srcBefore, dstBefore := srcProxy.conns.Load(), dstProxy.conns.Load()
			r, syncs = mailferryTraced(t, env, args...)
			expectCode(t, r, 0)
			if !strings.Contains(r.stdout, "copied 0 messages") || !strings.Contains(r.stdout, "skipped 40") {
				t.Fatalf("re-run:\n%s", r)
			}
			if n := srcProxy.conns.Load() - srcBefore; n != 1 {
				t.Errorf("the re-run opened %d connections to the source, want 1", n)
			}
			wantDst := int64(0)
			if tc.dstProxy != nil {
				wantDst = 1
			}
			if n := dstProxy.conns.Load() - dstBefore; n != wantDst {
				t.Errorf("the re-run opened %d connections to the destination, want %d", n, wantDst)
			}
			if syncs != 0 {
				t.Errorf("the re-run flushed files to disk %d times, want none", syncs)
			}
			if again, err := os.ReadFile(tc.state); err != nil || string(again) != string(state) {
				t.Errorf("the re-run changed the state file (%v): %d bytes before, %d after", err, len(state), len(again))
			}
			if now := readEntry(t, stateDir, tc.name); !now.LastRun.After(entry.LastRun) || now.ExitCode != 0 || now.State != entry.State {
				t.Errorf("job index after the re-run: %+v; before: %+v (want a later last run, the same state file, exit code 0)", now, entry)
			}
		})
	}
}

// readEntry reads the job index entry of job.
func readEntry(t *testing.T, stateDir, job string) jobEntry {
	t.Helper()
	b, err := os.ReadFile(jobEntryPath(stateDir, job))
	if err != nil {
		t.Fatal(err)
	}
	var e jobEntry
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
