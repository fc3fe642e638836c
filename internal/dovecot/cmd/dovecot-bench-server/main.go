// Command dovecot-bench-server starts a private Dovecot on 127.0.0.1 (see
// package dovecot), fills one account with a generated corpus, prints how to
// reach it as shell variable assignments, and serves until it is
// interrupted, its parent exits, or -lifetime passes. bench/ scripts use it
// to time mailferry and mbsync against the same server.
//
// The corpus is sample.BenchMessage's, made one message at a time while it
// is loaded, so a corpus of any size costs no more memory than its largest
// message. With -direct the corpus is written into the account's Maildir
// by mailferry's Maildir sink instead of APPENDed (Dovecot syncs every
// APPEND, which for the scaling runs' 100,000 messages takes far longer than
// the runs themselves), and Dovecot indexes it before the server is ready.
// Accounts: "src" holds the corpus; "mbsync", "mailferry" and
// "limits" start empty, as destinations of IMAP-to-IMAP runs and of the raw
// APPEND. All share one password.
package main

import (
	"bytes"
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
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/transfer"
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
	direct := flag.Bool("direct", false, "write the corpus into the Maildir directly instead of APPENDing it")
	flag.Parse()
	if err := run(o, *conns, *lifetime, *direct); err != nil {
		fmt.Fprintln(os.Stderr, "dovecot-bench-server:", err)
		os.Exit(1)
	}
}

func run(o sample.BenchOptions, conns int, lifetime time.Duration, direct bool) error {
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
	fill := load
	if direct {
		fill = write
	}
	st, err := fill(s, "src", o, conns)
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

// write stores the corpus in user's Maildir with the Maildir sink, from
// conns goroutines, and then has Dovecot index every folder by listing it
// as mailferry does (UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)),
// so that the first timed run does not pay for it.
func write(s *dovecot.Server, user string, o sample.BenchOptions, conns int) (loaded, error) {
	var st loaded
	sink, err := maildir.New(s.MailDir(user), maildir.Options{})
	if err != nil {
		return st, err
	}
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs = make(chan error, conns)
	)
	for i := range conns {
		wg.Go(func() {
			for j := i; j < o.Messages; j += conns {
				m := sample.BenchMessage(o, j)
				n := int64(len(m.Body))
				msg := transfer.Message{Folder: m.Folder, Flags: m.Flags, Date: m.Date, Size: n, CRLF: true}
				if err := sink.Put(ctx, msg, bytes.NewReader(m.Body)); err != nil {
					errs <- fmt.Errorf("message %d: %w", j, err)
					return
				}
				mu.Lock()
				st.add(m.Folder, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return st, err
	}
	if f, ok := any(sink).(transfer.Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return st, err
		}
	}
	if err := sink.Close(); err != nil {
		return st, err
	}
	if err := s.ChownMail(user); err != nil {
		return st, err
	}
	c, err := login(s, user)
	if err != nil {
		return st, err
	}
	defer c.Close()
	for _, f := range sample.BenchFolders(o) {
		if _, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return st, fmt.Errorf("SELECT %s: %w", f, err)
		}
		fetch := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}},
			&imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true})
		for fetch.Next() != nil {
		}
		if err := fetch.Close(); err != nil {
			return st, fmt.Errorf("indexing %s: %w", f, err)
		}
	}
	return st, c.Logout().Wait()
}

// login connects to s over IMAPS as user; the caller closes the client.
func login(s *dovecot.Server, user string) (*imapclient.Client, error) {
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// add counts one stored message of folder.
func (st *loaded) add(folder string, n int64) {
	st.bytes += n
	st.largest = max(st.largest, n)
	if folder == "INBOX" {
		st.inbox++
		st.inboxBytes += n
	}
}

// load APPENDs the corpus of o to user's folders over several connections,
// each connection making the messages it stores.
func load(s *dovecot.Server, user string, o sample.BenchOptions, conns int) (loaded, error) {
	var st loaded
	clients := make([]*imapclient.Client, conns)
	for i := range clients {
		c, err := login(s, user)
		if err != nil {
			return st, err
		}
		defer c.Close()
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
				mu.Lock()
				st.add(m.Folder, int64(len(m.Body)))
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
