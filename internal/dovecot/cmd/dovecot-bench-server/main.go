// Command dovecot-bench-server starts a private Dovecot on 127.0.0.1 (see
// package dovecot), fills one account with a generated corpus, prints how to
// reach it as shell variable assignments, and serves until it is
// interrupted, its parent exits, or -lifetime passes. bench/ scripts use it
// to time mailferry and mbsync against the same server.
//
// Accounts: "src" holds the corpus; "mbsync" and "mailferry" start empty,
// as destinations of IMAP-to-IMAP runs. All share one password.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
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
	n := flag.Int("messages", 2000, "number of messages in the corpus")
	avg := flag.Int("avg-size", 40_000, "average message size in bytes")
	maxSize := flag.Int("max-size", 1<<20, "largest message in bytes; larger generated ones are left out")
	seed := flag.Int64("seed", 1, "corpus seed")
	conns := flag.Int("connections", 4, "IMAP connections used to load the corpus")
	lifetime := flag.Duration("lifetime", time.Hour, "stop after this long even if nobody says so")
	flag.Parse()
	if err := run(*n, *avg, *maxSize, *seed, *conns, *lifetime); err != nil {
		fmt.Fprintln(os.Stderr, "dovecot-bench-server:", err)
		os.Exit(1)
	}
}

func run(n, avg, maxSize int, seed int64, conns int, lifetime time.Duration) error {
	if n < 1 || avg < 1 || maxSize < 1 || conns < 1 {
		return errors.New("-messages, -avg-size, -max-size and -connections must be positive")
	}
	msgs := corpus(n, avg, maxSize, seed)
	users := []dovecot.User{{Name: "src", Password: password}, {Name: "mbsync", Password: password}, {Name: "mailferry", Password: password}}
	s, err := dovecot.Launch(dovecot.Options{Users: users})
	if err != nil {
		return err
	}
	defer s.Close()

	start := time.Now()
	if err := load(s, "src", msgs, conns); err != nil {
		return fmt.Errorf("loading the corpus: %w", err)
	}
	loadTime := time.Since(start)

	var total, largest int64
	folders := map[string]int{}
	for _, m := range msgs {
		total += int64(len(m.Body))
		largest = max(largest, int64(len(m.Body)))
		folders[m.Folder]++
	}
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
		"DST_USERS='mbsync mailferry'",
		"PASSWORD=" + password,
		fmt.Sprintf("MESSAGES=%d", len(msgs)),
		fmt.Sprintf("BYTES=%d", total),
		fmt.Sprintf("LARGEST=%d", largest),
		fmt.Sprintf("FOLDERS=%d", len(folders)),
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

// corpus returns n generated messages no larger than maxSize.
func corpus(n, avg, maxSize int, seed int64) []sample.Message {
	var out []sample.Message
	for round := int64(0); len(out) < n; round++ {
		for _, m := range sample.Generate(n+n/10+1, seed+round*1_000_003, avg) {
			if len(m.Body) <= maxSize && len(out) < n {
				out = append(out, m)
			}
		}
	}
	return out
}

// load APPENDs msgs to user's folders over several connections.
func load(s *dovecot.Server, user string, msgs []sample.Message, conns int) error {
	folders := map[string]bool{}
	for _, m := range msgs {
		folders[m.Folder] = true
	}
	names := make([]string, 0, len(folders))
	for f := range folders {
		names = append(names, f)
	}
	sort.Strings(names)

	clients := make([]*imapclient.Client, conns)
	for i := range clients {
		c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Login(user, password).Wait(); err != nil {
			return err
		}
		clients[i] = c
	}
	for _, f := range names {
		if f == "INBOX" {
			continue
		}
		if err := clients[0].Create(f, nil).Wait(); err != nil {
			return fmt.Errorf("CREATE %s: %w", f, err)
		}
	}

	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for j := i; j < len(msgs); j += conns {
				m := msgs[j]
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
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	for _, c := range clients {
		c.Logout().Wait()
	}
	// Files APPENDed by Dovecot already belong to the mail user; this only
	// matters if something else wrote there.
	if err := s.ChownMail(user); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
