// Command dovecot-bench-server starts a private Dovecot on 127.0.0.1 (see
// package dovecot), fills one account with a generated corpus, prints how to
// reach it as shell variable assignments, and serves until it is
// interrupted, its parent exits, or -lifetime passes. bench/ scripts use it
// to time mailferry and mbsync against the same server.
//
// The corpus is sample.BenchMessage's, made one message at a time while it
// is loaded, so a corpus of any size costs no more memory than its largest
// message. Accounts: "src" holds the corpus; "mbsync", "mailferry" and
// "limits" start empty, as destinations of IMAP-to-IMAP runs and of the raw
// APPEND. All share one password.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/sample"
)

const password = "bench-pw"

func main() {
	var o sample.BenchOptions
	flag.IntVar(&o.Messages, "messages", 10_000, "number of messages in the corpus")
	flag.Int64Var(&o.Seed, "seed", 1, "corpus seed")
	flag.BoolVar(&o.Huge, "huge", true, fmt.Sprintf("make one INBOX message %d MiB", sample.HugeSize>>20))
	flag.StringVar(&o.Folder, "folder", "", "put every message in this one folder")
	conns := flag.Int("connections", 4, "IMAP connections used to load the corpus")
	lifetime := flag.Duration("lifetime", 2*time.Hour, "stop after this long even if nobody says so")
	flag.Parse()
	if err := run(o, *conns, *lifetime); err != nil {
		fmt.Fprintln(os.Stderr, "dovecot-bench-server:", err)
		os.Exit(1)
	}
}

func run(o sample.BenchOptions, conns int, lifetime time.Duration) error {
	if o.Messages < 1 || conns < 1 {
		return errors.New("-messages and -connections must be positive")
	}
	users := []dovecot.User{{Name: "src", Password: password}, {Name: "mbsync", Password: password},
		{Name: "mailferry", Password: password}, {Name: "limits", Password: password}}
	// POP3 runs must not mark the corpus seen for the IMAP runs after them.
	s, err := dovecot.Launch(dovecot.Options{Users: users, POP3KeepsFlags: true})
	if err != nil {
		return err
	}
	defer s.Close()

	start := time.Now()
	st, err := load(s, "src", o, conns)
	if err != nil {
		return fmt.Errorf("loading the corpus: %w", err)
	}
	loadTime := time.Since(start)
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	out := []string{
		"HOST=127.0.0.1",
		"IMAP_PORT=" + port(s.IMAPAddr),
		"IMAPS_PORT=" + port(s.IMAPSAddr),
		"POP3_PORT=" + port(s.POP3Addr),
		"POP3S_PORT=" + port(s.POP3SAddr),
		"CA_FILE=" + s.CAFile,
		"SRC_USER=src",
		"SRC_MAILDIR=" + s.MailDir("src"),
		"DST_USERS='mbsync mailferry limits'",
		"PASSWORD=" + password,
		fmt.Sprintf("MESSAGES=%d", o.Messages),
		fmt.Sprintf("BYTES=%d", st.bytes),
		fmt.Sprintf("INBOX_MESSAGES=%d", st.inbox),
		fmt.Sprintf("INBOX_BYTES=%d", st.inboxBytes),
		fmt.Sprintf("LARGEST=%d", st.largest),
		fmt.Sprintf("FOLDERS=%d", len(sample.BenchFolders(o))),
		fmt.Sprintf("LOAD_SECONDS=%.2f", loadTime.Seconds()),
		fmt.Sprintf("SERVER_PID=%d", os.Getpid()),
		"READY=1",
	}
	fmt.Println(strings.Join(out, "\n"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	parent := os.Getppid()
	deadline := time.After(lifetime)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			fmt.Fprintln(os.Stderr, "dovecot-bench-server: lifetime over, stopping")
			return nil
		case <-tick.C:
			if os.Getppid() != parent {
				return nil // the script that started us is gone
			}
		}
	}
}

// loaded counts what load stored.
type loaded struct {
	bytes, largest    int64
	inbox, inboxBytes int64
}

// load APPENDs the corpus of o to user's folders over several connections,
// each connection making the messages it stores.
func load(s *dovecot.Server, user string, o sample.BenchOptions, conns int) (loaded, error) {
	var st loaded
	clients := make([]*imapclient.Client, conns)
	for i := range clients {
		c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
		if err != nil {
			return st, err
		}
		defer c.Close()
		if err := c.Login(user, password).Wait(); err != nil {
			return st, err
		}
		clients[i] = c
	}
	for _, f := range sample.BenchFolders(o) {
		if f == "INBOX" {
			continue
		}
		if err := clients[0].Create(f, nil).Wait(); err != nil {
			return st, fmt.Errorf("CREATE %s: %w", f, err)
		}
	}

	errs := make(chan error, conns)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for i, c := range clients {
		wg.Go(func() {
			for j := i; j < o.Messages; j += conns {
				m := sample.BenchMessage(o, j)
				flags := make([]imap.Flag, 0, len(m.Flags))
				for _, f := range m.Flags {
					flags = append(flags, imap.Flag(f))
				}
				cmd := c.Append(m.Folder, int64(len(m.Body)), &imap.AppendOptions{Flags: flags, Time: m.Date})
				if _, err := cmd.Write(m.Body); err != nil {
					errs <- err
					return
				}
				if err := cmd.Close(); err != nil {
					errs <- err
					return
				}
				if _, err := cmd.Wait(); err != nil {
					errs <- fmt.Errorf("APPEND to %s: %w", m.Folder, err)
					return
				}
				n := int64(len(m.Body))
				mu.Lock()
				st.bytes += n
				st.largest = max(st.largest, n)
				if m.Folder == "INBOX" {
					st.inbox++
					st.inboxBytes += n
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return st, err
	}
	for _, c := range clients {
		c.Logout().Wait()
	}
	// Files APPENDed by Dovecot already belong to the mail user; this only
	// matters if something else wrote there.
	if err := s.ChownMail(user); err != nil && !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	return st, nil
}
