package dovecot

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// TokenServer is an OAuth2 authorization server in miniature, on
// 127.0.0.1: it issues bearer tokens, answers the token introspection
// requests (RFC 7662) of Dovecot's oauth2 passdb, and lets a test expire,
// revoke or refuse tokens. Pass IntrospectionURL as
// Options.OAuth2IntrospectionURL.
type TokenServer struct {
	srv *httptest.Server

	mu             sync.Mutex
	ttl            time.Duration
	tokens         map[string]*issuedToken
	issued         []string
	refuse         func(n int) bool // says which issue requests to refuse
	requests       int              // issue requests since refuse was set
	refused        int              // issue requests refused, in all
	introspections int
	inactive       int // introspections answered "not active"
}

type issuedToken struct {
	user    string
	ttl     time.Duration // 0: never expires
	expires time.Time     // set when first checked, if ttl > 0
	revoked bool
}

// StartTokenServer starts a token server that stops when the test ends.
func StartTokenServer(t testing.TB) *TokenServer {
	t.Helper()
	s := &TokenServer{tokens: make(map[string]*issuedToken)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /introspect", s.introspect)
	mux.HandleFunc("GET /token", s.issue)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// IntrospectionURL is where Dovecot checks tokens.
func (s *TokenServer) IntrospectionURL() string { return s.srv.URL + "/introspect" }

// IssueURL is where a token helper GETs a new token for user: the body of
// a 200 answer is the token; a request RefuseIssues refuses gets 503 with
// a one-line explanation.
func (s *TokenServer) IssueURL(user string) string {
	return s.srv.URL + "/token?user=" + url.QueryEscape(user)
}

// SetTTL makes tokens issued from now on expire d after Dovecot first
// checks them; 0 means they never expire. Counting from the first use
// rather than from issue keeps a slow test machine from expiring a token
// before the login it was fetched for, while a client that offers it again
// after d finds it expired, as it would a real token an hour old.
func (s *TokenServer) SetTTL(d time.Duration) {
	s.mu.Lock()
	s.ttl = d
	s.mu.Unlock()
}

// Issue returns a new token for user.
func (s *TokenServer) Issue(user string) string {
	b := make([]byte, 12)
	rand.Read(b)
	tok := "tok-" + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &issuedToken{user: user, ttl: s.ttl}
	s.issued = append(s.issued, tok)
	return tok
}

// Revoke makes tok inactive at once.
func (s *TokenServer) Revoke(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.tokens[tok]; it != nil {
		it.revoked = true
	}
}

// RefuseIssues makes the token server refuse the n-th request to IssueURL
// from now on (counting from 1) when refuse(n), as an identity provider
// does during an outage; nil refuses none.
func (s *TokenServer) RefuseIssues(refuse func(n int) bool) {
	s.mu.Lock()
	s.refuse, s.requests = refuse, 0
	s.mu.Unlock()
}

// Issued returns every token issued so far, oldest first.
func (s *TokenServer) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Refused is how many requests to IssueURL were refused.
func (s *TokenServer) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Introspections is how many tokens Dovecot has checked: one per login
// attempt with a token.
func (s *TokenServer) Introspections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.introspections
}

// Inactive is how many of the tokens Dovecot checked were not active
// (expired, revoked or unknown).
func (s *TokenServer) Inactive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inactive
}

func (s *TokenServer) issue(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	s.mu.Lock()
	s.requests++
	fail := s.refuse != nil && s.refuse(s.requests)
	if fail {
		s.refused++
	}
	s.mu.Unlock()
	if fail {
		http.Error(w, "identity provider unavailable", http.StatusServiceUnavailable)
		return
	}
	if user == "" {
		http.Error(w, "no user", http.StatusBadRequest)
		return
	}
	io.WriteString(w, s.Issue(user)+"\n")
}

// introspect answers as RFC 7662 says: {"active": false} for a token that
// is unknown, expired or revoked, else active with the user's name.
func (s *TokenServer) introspect(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	s.mu.Lock()
	s.introspections++
	it := s.tokens[tok]
	now := time.Now()
	if it != nil && it.ttl > 0 && it.expires.IsZero() {
		it.expires = now.Add(it.ttl)
	}
	active := it != nil && !it.revoked && (it.expires.IsZero() || now.Before(it.expires))
	if !active {
		s.inactive++
	}
	s.mu.Unlock()
	answer := map[string]any{"active": active}
	if active {
		answer["username"] = it.user
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// FetchToken GETs a token from issueURL (a TokenServer's IssueURL) and
// writes it to stdout, the way an OAuth2 token helper does; a refusal is
// written to stderr and returns an error. Test binaries run it as the
// helper command.
func FetchToken(issueURL string, stdout, stderr io.Writer) error {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(issueURL)
	if err != nil {
		fmt.Fprintf(stderr, "token helper: %v\n", err)
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		fmt.Fprintf(stderr, "token helper: %v\n", err)
		return err
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "token helper: %s: %s", resp.Status, body)
		return fmt.Errorf("token endpoint answered %s", resp.Status)
	}
	_, err = stdout.Write(body)
	return err
}
