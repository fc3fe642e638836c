package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/internal/syncbuffer"
)

// tokenHelperArg, as the first argument of the test binary, makes it an
// OAuth2 token helper: `mailferry.test oauth2-token-helper URL` prints a
// token from a dovecot.TokenServer's IssueURL, or fails as the server says.
const tokenHelperArg = "oauth2-token-helper"

// runAsTokenHelper is called first in TestMain: it does the helper's job
// and exits when the binary was started as one.
func runAsTokenHelper() {
	if len(os.Args) != 3 || os.Args[1] != tokenHelperArg {
		return
	}
	if err := dovecot.FetchToken(os.Args[2], os.Stdout, os.Stderr); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// oauth2Server is a Dovecot whose logins are OAuth2 tokens from its token
// server, holding mail for alice; bob's account starts empty.
type oauth2Server struct {
	srv  *dovecot.Server
	ts   *dovecot.TokenServer
	msgs []testMessage
}

// startOAuth2Dovecot starts Dovecot offering mechs (nil: XOAUTH2 and
// OAUTHBEARER) with 45 messages of 24 KB in three folders for alice.
func startOAuth2Dovecot(t *testing.T, mechs []string) *oauth2Server {
	t.Helper()
	ts := dovecot.StartTokenServer(t)
	srv := dovecot.Start(t, dovecot.Options{
		Users:                  []dovecot.User{{Name: "alice", Password: "password not used here"}, {Name: "bob", Password: "not used either"}},
		OAuth2IntrospectionURL: ts.IntrospectionURL(),
		OAuth2Mechanisms:       mechs,
	})
	var msgs []testMessage
	for i := range 45 {
		msgs = append(msgs, message([]string{"INBOX", "Sent", "Archive/2019"}[i%3], i, 24<<10))
	}
	writeMaildir(t, srv.MailDir("alice"), msgs)
	if err := srv.ChownMail("alice"); err != nil {
		t.Fatal(err)
	}
	return &oauth2Server{srv: srv, ts: ts, msgs: msgs}
}

// helper is the --source-oauth2-token-command that fetches alice's tokens.
func (o *oauth2Server) helper(t *testing.T) string { return o.helperFor(t, "alice") }

// helperFor is the token command that fetches user's tokens.
func (o *oauth2Server) helperFor(t *testing.T, user string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return shellQuote(exe) + " " + tokenHelperArg + " " + shellQuote(o.ts.IssueURL(user))
}

// copyVia runs mailferry copy from alice's account, reached at addr, into
// the Maildir dst with the state file state.
func (o *oauth2Server) copyVia(t *testing.T, addr, dst, state string, extra ...string) result {
	args := append([]string{"copy", "imaps://alice@" + addr, "maildir:" + dst, "--state", state,
		"--source-oauth2-token-command", o.helper(t), "--ca-file", o.srv.CAFile}, extra...)
	return mailferry(t, nil, args...)
}

// expectExactCopy checks that dst holds every message of the account
// once, with its content, and that mailferry verify agrees.
func (o *oauth2Server) expectExactCopy(t *testing.T, dst string) {
	t.Helper()
	got := messageFiles(t, dst)
	want := make([]string, 0, len(o.msgs))
	for _, m := range o.msgs {
		want = append(want, m.body)
	}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("destination holds %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("destination message %d differs from the source's", i)
		}
	}
	r := mailferry(t, nil, "verify", "imaps://alice@"+o.srv.IMAPSAddr, "maildir:"+dst,
		"--source-oauth2-token-command", o.helper(t), "--ca-file", o.srv.CAFile)
	expectCode(t, r, 0)
}

// expectNoToken fails if any token the server issued appears in the
// outputs or in any file under the directories.
func (o *oauth2Server) expectNoToken(t *testing.T, outputs []result, dirs ...string) {
	t.Helper()
	tokens := o.ts.Issued()
	if len(tokens) == 0 {
		t.Fatal("no token was issued")
	}
	texts := map[string]string{}
	for i, r := range outputs {
		texts[fmt.Sprintf("run %d stdout", i+1)] = r.stdout
		texts[fmt.Sprintf("run %d stderr", i+1)] = r.stderr
	}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Error(err)
				}
				texts[p] = string(b)
			}
			return nil
		})
	}
	for name, text := range texts {
		for _, tok := range tokens {
			if strings.Contains(text, tok) {
				t.Errorf("token %s appears in %s", tok, name)
			}
		}
	}
}

// longRun copies the account while tokens live 500 ms from their first
// use and the proxy cuts four connections once each has passed 150 KB to
// the client: each reconnect waits at least a second, so the token of the
// connection it replaces has expired. Every connection must log in with a
// fresh token of its own, no expired token may be offered, and every
// message arrives exactly once.
func (o *oauth2Server) longRun(t *testing.T) {
	const ttl = 500 * time.Millisecond
	o.ts.SetTTL(ttl)
	defer o.ts.SetTTL(0)
	proxy, err := faultproxy.Start(o.srv.IMAPSAddr, faultproxy.Fault{Dir: faultproxy.ToClient, After: 150 << 10, Action: faultproxy.Cut, Times: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	issued, checked, inactive := len(o.ts.Issued()), o.ts.Introspections(), o.ts.Inactive()
	dir := t.TempDir()
	dst, state := filepath.Join(dir, "Maildir"), filepath.Join(dir, "copy.state")
	start := time.Now()
	r := o.copyVia(t, proxy.Addr(), dst, state, "--json", "--metrics-file", filepath.Join(dir, "mailferry.prom"))
	elapsed := time.Since(start)
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != len(o.msgs) || s.Failed != 0 {
		t.Errorf("summary %+v, want %d copied", s, len(o.msgs))
	}
	tokens, logins := len(o.ts.Issued())-issued, o.ts.Introspections()-checked
	t.Logf("%v: %d connections, %d cut, %d tokens issued, %d token logins", elapsed.Round(time.Millisecond), proxy.Accepted(), proxy.Fired(), tokens, logins)
	if proxy.Fired() != 4 {
		t.Errorf("the proxy cut %d connections, want 4", proxy.Fired())
	}
	if elapsed < 2*ttl {
		t.Errorf("the run took %v: too short for tokens to expire during it", elapsed)
	}
	if tokens != proxy.Accepted() || logins != proxy.Accepted() {
		t.Errorf("%d connections, %d tokens issued, %d token logins: want one fresh token per connection", proxy.Accepted(), tokens, logins)
	}
	if n := o.ts.Inactive() - inactive; n != 0 {
		t.Errorf("%d expired tokens offered to the server", n)
	}
	if !strings.Contains(r.stdout, `"type":"retry"`) {
		t.Errorf("no retry reported although connections were cut:\n%s", r)
	}
	o.expectExactCopy(t, dst)
	o.expectNoToken(t, []result{r}, dir)
}

// Over XOAUTH2 alone: a long run with expiring tokens and cut connections,
// and a revoked token, which must be reported as the server's NO.
func TestOAuth2DovecotXOAUTH2(t *testing.T) {
	t.Parallel()
	o := startOAuth2Dovecot(t, []string{"xoauth2"})
	t.Run("long run", o.longRun)
	t.Run("revoked token", func(t *testing.T) {
		tok := o.ts.Issue("alice")
		o.ts.Revoke(tok)
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := mailferry(t, nil, "folders", "imaps://alice@"+o.srv.IMAPSAddr, "--ca-file", o.srv.CAFile,
			"--source-oauth2-token-command", "cat "+shellQuote(file))
		expectCode(t, r, exitFailed)
		for _, want := range []string{`login as user "alice" with XOAUTH2 failed`, "NO [AUTHENTICATIONFAILED]", "invalid_token", "check the user name and password (or token)"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		if strings.Contains(r.stderr, "BAD") || strings.Contains(r.stderr, "base64") {
			t.Errorf("the refusal is reported as BAD:\n%s", r)
		}
		o.expectNoToken(t, []result{r})
	})
}

// Over OAUTHBEARER (preferred when both are offered): the long run, a
// token helper failing at the start, once on a reconnect, and on every
// reconnect.
func TestOAuth2DovecotOAUTHBEARER(t *testing.T) {
	t.Parallel()
	o := startOAuth2Dovecot(t, nil)
	t.Run("long run", o.longRun)

	// The same with Dovecot as the destination: the sink's connections
	// are cut while they APPEND, and reconnect with fresh tokens.
	t.Run("long run to the server", func(t *testing.T) {
		o.ts.SetTTL(500 * time.Millisecond)
		defer o.ts.SetTTL(0)
		proxy, err := faultproxy.Start(o.srv.IMAPSAddr, faultproxy.Fault{Dir: faultproxy.ToServer, After: 150 << 10, Action: faultproxy.Cut, Times: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		dir := t.TempDir()
		src := filepath.Join(dir, "src")
		writeMaildir(t, src, o.msgs)
		issued, checked, inactive := len(o.ts.Issued()), o.ts.Introspections(), o.ts.Inactive()
		r := mailferry(t, nil, "copy", "maildir:"+src, "imaps://bob@"+proxy.Addr(), "--state", filepath.Join(dir, "copy.state"),
			"--dest-oauth2-token-command", o.helperFor(t, "bob"), "--ca-file", o.srv.CAFile, "--json")
		expectCode(t, r, 0)
		if s := lastSummary(t, r.stdout); s.Copied != len(o.msgs) || s.Failed != 0 {
			t.Errorf("summary %+v, want %d copied", s, len(o.msgs))
		}
		tokens, logins := len(o.ts.Issued())-issued, o.ts.Introspections()-checked
		t.Logf("%d connections, %d cut, %d tokens issued, %d token logins", proxy.Accepted(), proxy.Fired(), tokens, logins)
		if proxy.Fired() != 4 || tokens != proxy.Accepted() || logins != proxy.Accepted() || o.ts.Inactive() != inactive {
			t.Errorf("%d cuts, %d connections, %d tokens, %d logins, %d expired tokens offered: want 4 cuts and one fresh token per connection",
				proxy.Fired(), proxy.Accepted(), tokens, logins, o.ts.Inactive()-inactive)
		}
		v := mailferry(t, nil, "verify", "maildir:"+src, "imaps://bob@"+o.srv.IMAPSAddr, "--json",
			"--dest-oauth2-token-command", o.helperFor(t, "bob"), "--ca-file", o.srv.CAFile)
		expectCode(t, v, 0)
		if s := lastVerifySummary(t, v); s.Checked != len(o.msgs) || s.Missing != 0 || s.Extra != 0 {
			t.Errorf("verify: %+v, want %d checked, none missing or extra", s, len(o.msgs))
		}
		o.expectNoToken(t, []result{r, v}, dir)
	})

	t.Run("helper fails at the start", func(t *testing.T) {
		start := time.Now()
		r := mailferry(t, nil, "copy", "imaps://alice@"+o.srv.IMAPSAddr, "maildir:"+filepath.Join(t.TempDir(), "d"),
			"--ca-file", o.srv.CAFile, "--source-oauth2-token-command", "echo no refresh token stored >&2; exit 4")
		expectCode(t, r, exitFailed)
		want := `getting an OAuth2 token: --source-oauth2-token-command: "echo no refresh token stored >&2; exit 4" failed: exit status 4`
		if !strings.Contains(r.stderr, want) || !strings.HasPrefix(r.stderr, "no refresh token stored\n") {
			t.Errorf("stderr lacks the helper's own line, then %q:\n%s", want, r)
		}
		if strings.Contains(r.stderr, "trying again") || time.Since(start) > 5*time.Second {
			t.Errorf("a token command failing on the first connection was retried:\n%s", r)
		}
	})

	// One connection, cut once: its reconnect asks the helper, which the
	// token server refuses once; the helper is asked again and the copy
	// finishes exactly.
	t.Run("helper fails once on a reconnect", func(t *testing.T) {
		o.ts.RefuseIssues(func(n int) bool { return n == 2 })
		defer o.ts.RefuseIssues(nil)
		proxy, err := faultproxy.Start(o.srv.IMAPSAddr, faultproxy.Fault{Dir: faultproxy.ToClient, After: 150 << 10, Action: faultproxy.Cut, Times: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		issued := len(o.ts.Issued())
		dir := t.TempDir()
		dst, state := filepath.Join(dir, "Maildir"), filepath.Join(dir, "copy.state")
		r := o.copyVia(t, proxy.Addr(), dst, state, "--connections", "1")
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "copied "+plural.Count(len(o.msgs), "message")) {
			t.Errorf("want %d copied:\n%s", len(o.msgs), r)
		}
		if n := strings.Count(r.stderr, "identity provider unavailable"); n != 1 {
			t.Errorf("the helper's stderr is shown %d times, want once:\n%s", n, r)
		}
		if !strings.Contains(r.stderr, "--source-oauth2-token-command (getting a token for a new connection):") || !strings.Contains(r.stderr, "trying again in 1s") {
			t.Errorf("no warning that the token command is tried again:\n%s", r)
		}
		if tokens := len(o.ts.Issued()) - issued; tokens != 2 || proxy.Accepted() != 2 {
			t.Errorf("%d connections and %d tokens, want 2 of each", proxy.Accepted(), tokens)
		}
		o.expectExactCopy(t, dst)
		o.expectNoToken(t, []result{r}, dir)
	})

	// The provider goes away as the proxy cuts every connection: the
	// connections all need a token at once, but one of them retries (a
	// bounded number of times, one warning each) while the others wait for
	// it; the run stops with exit 1 naming the option, showing the
	// helper's complaint once. Once the provider is back, the same command
	// copies the rest, and nothing twice.
	t.Run("helper always fails on a reconnect", func(t *testing.T) {
		proxy, err := faultproxy.Start(o.srv.IMAPSAddr, faultproxy.Fault{Dir: faultproxy.ToClient, After: 100 << 10, Action: faultproxy.Cut, Times: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		o.ts.RefuseIssues(func(int) bool { return proxy.Fired() > 0 })
		defer o.ts.RefuseIssues(nil)
		dir := t.TempDir()
		dst, state := filepath.Join(dir, "Maildir"), filepath.Join(dir, "copy.state")
		issued, refused := len(o.ts.Issued()), o.ts.Refused()
		start := time.Now()
		r1 := o.copyVia(t, proxy.Addr(), dst, state)
		elapsed := time.Since(start)
		expectCode(t, r1, exitFailed)
		want := "getting an OAuth2 token: --source-oauth2-token-command, on reconnecting: " + fmt.Sprintf("%q", o.helper(t)) + " failed: exit status 1 (tried 5 times in "
		if !strings.Contains(r1.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r1)
		}
		if n := strings.Count(r1.stderr, "identity provider unavailable"); n != 1 {
			t.Errorf("the helper's stderr is shown %d times, want once:\n%s", n, r1)
		}
		warnings, tokens, refusals := strings.Count(r1.stderr, "trying again in"), len(o.ts.Issued())-issued, o.ts.Refused()-refused
		t.Logf("gave up after %v: %d connections, %d cut, %d tokens, %d refused token requests, %d warnings",
			elapsed.Round(time.Millisecond), proxy.Accepted(), proxy.Fired(), tokens, refusals, warnings)
		if warnings != len(openRetryDelays) || tokens != proxy.Accepted() {
			t.Errorf("%d warnings and %d tokens for %d connections, want %d warnings and one token per connection", warnings, tokens, proxy.Accepted(), len(openRetryDelays))
		}
		// One caller retries; each other connection may have tried once
		// before it saw the outage.
		if maxRefusals := len(openRetryDelays) + proxy.Fired(); refusals < len(openRetryDelays)+1 || refusals > maxRefusals {
			t.Errorf("%d token requests refused, want %d to %d", refusals, len(openRetryDelays)+1, maxRefusals)
		}
		copied := len(messageFiles(t, dst))
		if copied == 0 || copied == len(o.msgs) {
			t.Errorf("%d messages copied before the stop, want some but not all", copied)
		}

		// The same command again (the proxy's cuts are used up).
		o.ts.RefuseIssues(nil)
		r2 := o.copyVia(t, proxy.Addr(), dst, state)
		expectCode(t, r2, 0)
		if !strings.Contains(r2.stdout, "copied "+plural.Count(len(o.msgs)-copied, "message")) {
			t.Errorf("the second run should copy the %d left:\n%s", len(o.msgs)-copied, r2)
		}
		o.expectExactCopy(t, dst)
		o.expectNoToken(t, []result{r1, r2}, dir)
	})
}

// A token command that prints nothing on a reconnect is treated like one
// that fails: tried again, and the run finishes.
func TestOAuth2EmptyTokenOnReconnect(t *testing.T) {
	t.Parallel()
	srv, err := imapserver.Start(imapserver.Options{
		Users:        []imapserver.User{{Name: "alice", Password: "unused-pw"}},
		OAuth2Tokens: map[string]string{"alice": "tok-123"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var msgs []testMessage
	for i := range 12 {
		m := message("INBOX", i, 24<<10)
		msgs = append(msgs, m)
		if err := srv.AddMessage("alice", "INBOX", nil, time.Unix(1700000000+int64(i), 0), []byte(strings.ReplaceAll(m.body, "\n", "\r\n"))); err != nil {
			t.Fatal(err)
		}
	}
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToClient, After: 100 << 10, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	// The second run of the command (the first reconnect) prints nothing.
	cmd := "n=$(cat " + count + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + count + "; [ $n -eq 2 ] || echo tok-123"
	r := mailferry(t, nil, "copy", "imap://alice@"+proxy.Addr()+"?tls=none", "maildir:"+filepath.Join(dir, "Maildir"),
		"--connections", "1", "--source-oauth2-token-command", cmd)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied "+plural.Count(len(msgs), "message")) || !strings.Contains(r.stderr, "printed nothing; trying again in 1s") {
		t.Errorf("want all %d copied after one retry of the token command:\n%s", len(msgs), r)
	}
	if b, _ := os.ReadFile(count); strings.TrimSpace(string(b)) != "3" || proxy.Accepted() != 2 {
		t.Errorf("the token command ran %s times for %d connections, want 3 for 2", strings.TrimSpace(string(b)), proxy.Accepted())
	}
	if got := messageFiles(t, filepath.Join(dir, "Maildir")); len(got) != len(msgs) {
		t.Errorf("%d messages at the destination, want %d", len(got), len(msgs))
	}
}

// Connections that need a token during an outage share one caller's
// retries: the command runs about once per attempt, not once per
// connection and attempt; they all fail with its error, or all get their
// own token once it works again. Not parallel: it shortens the delays.
func TestTokenCommandOutageSharedByConnections(t *testing.T) {
	saved := openRetryDelays
	openRetryDelays = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	t.Cleanup(func() { openRetryDelays = saved })

	dir := t.TempDir()
	runs, ok := filepath.Join(dir, "runs"), filepath.Join(dir, "ok")
	script := "echo run >> " + runs + "; if [ -e " + ok + " ]; then echo tok-$$; else echo provider down >&2; exit 1; fi"
	var stderr syncbuffer.Buffer
	var mu sync.Mutex
	var warnings []string
	tc := &tokenCommand{flag: "--source-oauth2-token-command", cmdline: script, stderr: &stderr}
	up := func(on bool) {
		if on {
			os.WriteFile(ok, nil, 0o644)
		} else {
			os.Remove(ok)
		}
	}
	countRuns := func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run")
	}
	// concurrently gets n tokens at once and returns the tokens and errors.
	concurrently := func(n int) (toks []string, errs []error) {
		var wg sync.WaitGroup
		var rmu sync.Mutex
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := tc.Token(context.Background())
				rmu.Lock()
				defer rmu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else {
					toks = append(toks, tok)
				}
			}()
		}
		wg.Wait()
		return toks, errs
	}

	up(true)
	if _, err := tc.Token(context.Background()); err != nil {
		t.Fatalf("first token: %v", err)
	}

	// The provider is down for good.
	up(false)
	tc.warn = func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() }
	before := countRuns()
	toks, errs := concurrently(4)
	if len(toks) != 0 || len(errs) != 4 {
		t.Fatalf("%d tokens, %d errors during an outage; want 4 errors", len(toks), len(errs))
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "--source-oauth2-token-command, on reconnecting:") || !strings.Contains(err.Error(), "(tried 5 times in") {
			t.Errorf("error %q", err)
		}
	}
	if n := countRuns() - before; n < 5 || n > 5+3 {
		t.Errorf("the command ran %d times for 4 connections in an outage, want 5 (plus at most one each for the others)", n)
	}
	if len(warnings) != 4 {
		t.Errorf("%d warnings, want 4:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	if n := strings.Count(stderr.String(), "--source-oauth2-token-command: provider down"); n != 1 {
		t.Errorf("the command's stderr shown %d times, want once:\n%s", n, stderr.String())
	}

	// Back for one connection, down again, and back during the retries:
	// everyone gets a token of its own.
	up(true)
	if _, err := tc.Token(context.Background()); err != nil {
		t.Fatalf("token after the outage: %v", err)
	}
	up(false)
	warnings = nil
	tc.warn = func(s string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, s)
		if len(warnings) == 2 {
			up(true)
		}
	}
	toks, errs = concurrently(4)
	if len(toks) != 4 || len(errs) != 0 {
		t.Fatalf("%d tokens, errors %v after the provider came back; want 4 tokens", len(toks), errs)
	}
	if seen := map[string]bool{toks[0]: true, toks[1]: true, toks[2]: true, toks[3]: true}; len(seen) != 4 {
		t.Errorf("tokens %q: want one of its own for each connection", toks)
	}
	if len(warnings) != 2 {
		t.Errorf("%d warnings, want 2", len(warnings))
	}
	if n := strings.Count(stderr.String(), "provider down"); n != 2 {
		t.Errorf("the command's stderr shown %d times for two outages, want twice:\n%s", n, stderr.String())
	}
}
