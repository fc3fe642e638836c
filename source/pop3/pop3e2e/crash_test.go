package pop3e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/internal/soak"
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// childEnv carries a crashChild spec to the re-executed test binary.
const childEnv = "MAILFERRY_POP3E2E_CHILD"

// crashSpec is what a child run needs.
type crashSpec struct {
	Addr, User, Password string
	Maildir              string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

// crashChild is one `mailferry copy --delete-source pop3://… maildir:…`,
// run in a child process so the test can SIGKILL it.
func crashChild(specJSON string) int {
	var spec crashSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	dst, err := maildir.New(spec.Maildir, maildir.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	so := sourceOptions(spec.Addr, spec.User, spec.Password)
	// The previous, killed run may still hold the maildrop until the
	// server notices: [IN-USE] is temporary, so try again for a while.
	for attempt := 0; ; attempt++ {
		_, err = copyOnce(ctx, so, dst, dst.DefaultStatePath(), func(o *transfer.Options) {
			o.DeleteSource = true
			o.ChunkSize = 4
			o.Workers = 2
		})
		if err == nil || attempt >= 50 || (transfer.ClassOf(err) != transfer.Temporary && !errors.Is(err, transfer.ErrLocked)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestDeleteSourceKilled SIGKILLs `copy --delete-source` at seeded random
// points (random times, a random DELE, at QUIT) and runs it again until it
// finishes. After every kill, nothing may be gone from the server that the
// Maildir does not hold, and nothing may be in the Maildir twice; at the end
// the server is empty and the Maildir holds every message exactly once.
func TestDeleteSourceKilled(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MAILFERRY_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (set MAILFERRY_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	// The hostile corpus without its 3 MB attachment (the large-message
	// tests cover size), so the many short runs stay quick.
	var msgs []mail
	for _, m := range hostile(t) {
		if len(m.body) < 1<<20 {
			msgs = append(msgs, m)
		}
	}
	for i := range 20 {
		body := fmt.Sprintf("Received: by mx; Mon, 8 Jan 2024 10:%02d:00 +0000\r\nMessage-ID: <bulk%d@x>\r\nSubject: bulk %d\r\n\r\n", i, i, i)
		body += string(bytes.Repeat([]byte(fmt.Sprintf("line %d of a message to make the run take a while\r\n", i)), 100+rng.IntN(300)))
		msgs = append(msgs, mail{fmt.Sprintf("bulk%d", i), []byte(body)})
	}

	var (
		mu       sync.Mutex
		victim   *os.Process
		killAt   string // "DELE" or "QUIT"
		deleN    int    // kill at the deleN-th DELE
		deleSeen int
	)
	srv := startServer(t, pop3server.Options{
		Messages: serverMessages(msgs),
		OnCommand: func(cmd, arg string) {
			mu.Lock()
			defer mu.Unlock()
			if cmd == "DELE" {
				deleSeen++
			}
			if victim == nil || cmd != killAt {
				return
			}
			// Kill at the deleN-th DELE, or at a QUIT that applies
			// deletions (not the QUIT of a run with nothing to delete).
			if (cmd == "DELE" && deleSeen < deleN) || (cmd == "QUIT" && deleSeen == 0) {
				return
			}
			victim.Kill()
			victim = nil
		},
	})
	root := filepath.Join(t.TempDir(), "backup")
	spec, _ := json.Marshal(crashSpec{Addr: srv.Addr(), User: srv.User(), Password: srv.Password(), Maildir: root})

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	checkInvariant := func(round int) {
		t.Helper()
		onServer := map[string]int{}
		for _, m := range srv.Messages() {
			onServer[string(m.Body)]++
		}
		inStore := map[string]int{}
		for _, s := range readMaildirInbox(t, root) {
			inStore[string(s.body)]++
		}
		want := map[string]int{}
		for _, m := range msgs {
			want[string(local(m.body))]++
		}
		for _, m := range msgs {
			l := local(m.body)
			if inStore[string(l)] > want[string(l)] {
				t.Fatalf("round %d: message %s is in the Maildir %d times", round, m.name, inStore[string(l)])
			}
			if onServer[string(wire(m.body))]+inStore[string(l)] < want[string(l)] {
				t.Fatalf("round %d: message %s was deleted from the server but is not in the Maildir", round, m.name)
			}
		}
	}

	// Each round runs the copy once, usually killed at a chosen point. When
	// a run gets to the end, new mail arrives for the next rounds, so the
	// kills keep landing in the middle of real work.
	kills, finished, batch := 0, false, 0
	want := soak.Count(10, 24)
	for round := 0; round < soak.Count(60, 200) && !finished; round++ {
		cmd := start()
		mode := "run to the end"
		final := kills >= want
		if !final {
			switch rng.IntN(3) {
			case 0:
				d := time.Duration(rng.IntN(250)) * time.Millisecond
				mode = fmt.Sprintf("kill after %v", d)
				time.AfterFunc(d, func() { cmd.Process.Kill() })
			case 1:
				mu.Lock()
				killAt, deleN, deleSeen, victim = "DELE", 1+rng.IntN(len(srv.Messages())+1), 0, cmd.Process
				mode = fmt.Sprintf("kill at DELE #%d", deleN)
				mu.Unlock()
			case 2:
				mu.Lock()
				killAt, deleSeen, victim = "QUIT", 0, cmd.Process
				mode = "kill at a QUIT after DELE"
				mu.Unlock()
			}
		}
		err := cmd.Wait()
		mu.Lock()
		victim = nil
		mu.Unlock()
		var ee *exec.ExitError
		completed := false
		switch {
		case err == nil:
			completed = true
		case errors.As(err, &ee) && ee.ExitCode() == -1:
			kills++
		default:
			t.Fatalf("round %d (%s): child failed: %v\n%s", round, mode, err, cmd.Stderr.(*bytes.Buffer))
		}
		t.Logf("round %d: %s: completed=%v, %d in the Maildir, %d on the server", round, mode, completed,
			len(readMaildirInbox(t, root)), len(srv.Messages()))
		checkInvariant(round)
		switch {
		case completed && final && len(srv.Messages()) == 0:
			finished = true
		case completed && !final:
			batch++
			for i := range 10 {
				m := mail{fmt.Sprintf("batch%d-%d", batch, i), []byte(fmt.Sprintf(
					"Received: by mx; Tue, 9 Jan 2024 %02d:%02d:00 +0000\r\nSubject: batch %d\r\n\r\n%s",
					batch%24, i, batch, bytes.Repeat([]byte("more mail\r\n"), 100+rng.IntN(2000))))}
				msgs = append(msgs, m)
				srv.AddMessage(pop3server.Message{Body: m.body})
			}
		}
	}
	if !finished {
		t.Fatal("the copy never finished")
	}
	t.Logf("%d runs killed (at random moments, at a DELE, at QUIT) before the copy finished", kills)
	if kills < want {
		t.Errorf("only %d of %d runs were killed; the test proved less than it should", kills, want)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server holds %d messages, want 0", n)
	}
	checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
}
