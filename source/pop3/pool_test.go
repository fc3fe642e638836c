package pop3

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/transfer"
)

// numbered returns n distinct bodies.
func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Subject: message %d\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n.line %d\r\n", i, i)
	}
	return out
}

// checkFetched fails t unless every chunk's Fetch succeeded and delivered
// each listed message as bodies has it, and no other.
func checkFetched(t *testing.T, list []transfer.Message, bodies []string, got map[string]string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Fetch of chunk %d: %v", i, err)
		}
	}
	if len(got) != len(bodies) {
		t.Fatalf("%d messages fetched, want %d", len(got), len(bodies))
	}
	for i, m := range list {
		if got[m.ID] != want(bodies[i]) {
			t.Errorf("message %s: %q, want %q", m.ID, got[m.ID], want(bodies[i]))
		}
	}
}

// fetchChunks fetches chunks with one Fetch call each, all at once, as a
// run does with its connections. With meet set, each call waits in its
// first delivery until every call has delivered one (or 300 ms have
// passed), so the calls overlap. It returns the bodies by message ID.
func fetchChunks(t *testing.T, src *Source, chunks [][]transfer.Message, meet bool) (map[string]string, []error) {
	t.Helper()
	var (
		mu     sync.Mutex
		bodies = map[string]string{}
		errs   = make([]error, len(chunks))
		wg     sync.WaitGroup
		met    sync.WaitGroup
	)
	met.Add(len(chunks))
	for i, chunk := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = src.Fetch(context.Background(), Inbox, chunk, func(m transfer.Message, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				mu.Lock()
				bodies[m.ID] = string(b)
				mu.Unlock()
				if meet && first {
					first = false
					met.Done()
					done := make(chan struct{})
					go func() { met.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(300 * time.Millisecond):
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	return bodies, errs
}

func split(list []transfer.Message, n int) [][]transfer.Message {
	var out [][]transfer.Message
	size := (len(list) + n - 1) / n
	for start := 0; start < len(list); start += size {
		out = append(out, list[start:min(start+size, len(list))])
	}
	return out
}

// commands records the commands each session of a server sent, by
// session in the order they logged in.
type commands struct {
	mu   sync.Mutex
	cmds []string
}

func (c *commands) record(cmd, arg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds = append(c.cmds, strings.TrimSpace(cmd+" "+arg))
}

func (c *commands) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.cmds {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// On a server that lets sessions share the maildrop, concurrent Fetches
// run on sessions of their own, each message arrives once with its exact
// bytes, and Delete deletes exactly what it is given, once, with every
// session ending in QUIT.
func TestSessionsShareMaildrop(t *testing.T) {
	bodies := numbered(40)
	var cmds commands
	srv := startServer(t, pop3server.Options{SharedMaildrop: true, Messages: messages(bodies...), OnCommand: cmds.record})
	src := newSource(t, sessions(options(srv), 4))
	if got := src.MaxFetchers(); got != maxSessions {
		t.Fatalf("MaxFetchers = %d, want %d", got, maxSessions)
	}
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := fetchChunks(t, src, split(list, 3), true)
	checkFetched(t, list, bodies, got, errs)
	if n := srv.Sessions(); n != 3 {
		t.Errorf("server saw %d sessions, want 3 (one per concurrent Fetch)", n)
	}
	if n := cmds.count("RETR"); n != len(bodies) {
		t.Errorf("%d RETRs for %d messages", n, len(bodies))
	}

	// Delete every other message: exactly those go, each DELEd once.
	var del []transfer.Message
	var keep []string
	for i, m := range list {
		if i%2 == 0 {
			del = append(del, m)
		} else {
			keep = append(keep, m.ID)
		}
	}
	if err := src.Delete(context.Background(), Inbox, del); err != nil {
		t.Fatal(err)
	}
	if n := cmds.count("DELE"); n != len(del) {
		t.Errorf("%d DELEs for %d messages", n, len(del))
	}
	var left []string
	for _, m := range srv.Messages() {
		left = append(left, m.UID)
	}
	sort.Strings(left)
	sort.Strings(keep)
	if strings.Join(left, ",") != strings.Join(keep, ",") {
		t.Fatalf("server holds %v, want %v", left, keep)
	}
	// The idle sessions ended with the deleting one: every session that
	// logged in has sent QUIT.
	if q := cmds.count("QUIT"); q != 3 {
		t.Errorf("%d QUITs for 3 sessions", q)
	}
	// A later call logs in afresh and sees what is left.
	after, err := src.List(context.Background(), Inbox)
	if err != nil || len(after) != len(keep) {
		t.Fatalf("List after Delete: %d messages, %v; want %d", len(after), err, len(keep))
	}
}

// A server that locks the maildrop refuses a second session ([IN-USE]):
// the concurrent Fetches then take turns on the one session, and every
// message arrives.
func TestSecondSessionRefusedSharesOne(t *testing.T) {
	bodies := numbered(30)
	srv := startServer(t, pop3server.Options{Messages: messages(bodies...)})
	src := newSource(t, sessions(options(srv), 4))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := fetchChunks(t, src, split(list, 3), false)
	checkFetched(t, list, bodies, got, errs)
	// The first session, and at most one refused attempt at a second:
	// once refused, the source asks no more.
	if n := srv.Sessions(); n > 2 {
		t.Errorf("server saw %d sessions, want the first and at most one refused", n)
	}
	if n := src.pool.limit; n != 1 {
		t.Errorf("pool limit %d after a refusal, want 1", n)
	}
}

// A second session that lists the maildrop differently (mail arrived since
// the first logged in) is not used: the first one fetches everything it
// was asked for.
func TestNewSessionListingDiffers(t *testing.T) {
	bodies := numbered(20)
	srv := startServer(t, pop3server.Options{SharedMaildrop: true, Messages: messages(bodies...)})
	src := newSource(t, sessions(options(srv), 4))
	list, err := src.List(context.Background(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	srv.AddMessage(pop3server.Message{Body: []byte("Subject: new\r\n\r\nnew\r\n")})
	got, errs := fetchChunks(t, src, split(list, 2), true)
	checkFetched(t, list, bodies, got, errs)
	if n := src.pool.limit; n != 1 {
		t.Errorf("pool limit %d after a session listed differently, want 1", n)
	}
}

// A server without UIDL gets one session: every further one would read
// every header again to identify the messages.
func TestNoUIDLOneSession(t *testing.T) {
	srv := startServer(t, pop3server.Options{NoUIDL: true, SharedMaildrop: true, Messages: messages(numbered(3)...)})
	src := newSource(t, sessions(options(srv), 4))
	if got := src.MaxFetchers(); got != 1 {
		t.Fatalf("MaxFetchers = %d without UIDL, want 1", got)
	}
}

// sessions is opts with up to n sessions.
func sessions(opts Options, n int) Options {
	opts.Sessions = n
	return opts
}
