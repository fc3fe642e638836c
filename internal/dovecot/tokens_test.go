package dovecot

import (
	"bufio"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// authenticate runs one AUTHENTICATE exchange by hand on the plaintext
// IMAP port, answering every challenge with cont (already base64), and
// returns the decoded challenges and the tagged reply.
func authenticate(t *testing.T, s *Server, mech, initial, cont string) (challenges []string, reply string) {
	t.Helper()
	c, err := net.Dial("tcp", s.IMAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if _, err := c.Write([]byte("a AUTHENTICATE " + mech + " " + base64.StdEncoding.EncodeToString([]byte(initial)) + "\r\n")); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("AUTHENTICATE %s: %v", mech, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "a ") {
			return challenges, line
		}
		if !strings.HasPrefix(line, "+ ") {
			continue
		}
		ch, err := base64.StdEncoding.DecodeString(line[2:])
		if err != nil {
			t.Fatalf("challenge %q: %v", line, err)
		}
		challenges = append(challenges, string(ch))
		if _, err := c.Write([]byte(cont + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("AUTHENTICATE %s: no tagged reply", mech)
	return nil, ""
}

func xoauth2(user, token string) string {
	return "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
}
func oauthBearer(user, token string) string {
	return "n,a=" + user + ",\x01auth=Bearer " + token + "\x01\x01"
}

// The oauth2 passdb logs in with tokens the token server calls active for
// the user, refuses revoked, expired and unknown ones and another user's,
// and asks the token server once per attempt. Passwords still work.
func TestOAuth2Passdb(t *testing.T) {
	ts := StartTokenServer(t)
	s := Start(t, Options{Users: []User{alice, {Name: "bob", Password: "bob pw"}}, OAuth2IntrospectionURL: ts.IntrospectionURL()})

	good := ts.Issue("alice")
	revoked := ts.Issue("alice")
	ts.Revoke(revoked)
	ts.SetTTL(300 * time.Millisecond)
	expiring := ts.Issue("alice")
	ts.SetTTL(0)
	bobs := ts.Issue("bob")

	for _, initial := range []string{xoauth2("alice", good), oauthBearer("alice", good)} {
		mech := "XOAUTH2"
		if strings.HasPrefix(initial, "n,") {
			mech = "OAUTHBEARER"
		}
		if _, reply := authenticate(t, s, mech, initial, "AQ=="); !strings.HasPrefix(reply, "a OK") {
			t.Errorf("%s with an active token: %s", mech, reply)
		}
	}
	if _, reply := authenticate(t, s, "XOAUTH2", xoauth2("alice", expiring), "AQ=="); !strings.HasPrefix(reply, "a OK") {
		t.Errorf("a token before it expires: %s", reply)
	}
	time.Sleep(400 * time.Millisecond)

	refused := []struct{ name, mech, initial string }{
		{"revoked", "XOAUTH2", xoauth2("alice", revoked)},
		{"revoked", "OAUTHBEARER", oauthBearer("alice", revoked)},
		{"expired", "XOAUTH2", xoauth2("alice", expiring)},
		{"unknown", "XOAUTH2", xoauth2("alice", "tok-never-issued")},
		{"another user's", "OAUTHBEARER", oauthBearer("alice", bobs)},
	}
	for _, tc := range refused {
		challenges, reply := authenticate(t, s, tc.mech, tc.initial, "AQ==")
		if !strings.HasPrefix(reply, "a NO [AUTHENTICATIONFAILED]") || len(challenges) != 1 || !strings.Contains(challenges[0], `"status"`) {
			t.Errorf("%s token over %s: challenges %q, reply %q; want one JSON error challenge, then NO", tc.name, tc.mech, challenges, reply)
		}
	}
	// What go-imap sends for an empty response is not a continuation
	// Dovecot accepts: the refusal becomes BAD.
	if _, reply := authenticate(t, s, "XOAUTH2", xoauth2("alice", revoked), "="); !strings.HasPrefix(reply, "a BAD") {
		t.Errorf(`"=" after the error challenge: %s, want BAD`, reply)
	}
	if want := 3 + len(refused) + 1; ts.Introspections() != want {
		t.Errorf("%d introspections for %d token logins", ts.Introspections(), want)
	}
	login(t, s, alice, viaIMAPS)
}

// A server that offers only XOAUTH2 does not announce OAUTHBEARER.
func TestOAuth2MechanismsOffered(t *testing.T) {
	ts := StartTokenServer(t)
	s := Start(t, Options{Users: []User{alice}, OAuth2IntrospectionURL: ts.IntrospectionURL(), OAuth2Mechanisms: []string{"xoauth2"}})
	c, err := net.Dial("tcp", s.IMAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greeting, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(greeting, "AUTH=XOAUTH2") || strings.Contains(greeting, "AUTH=OAUTHBEARER") {
		t.Errorf("greeting %q: want AUTH=XOAUTH2 without AUTH=OAUTHBEARER", greeting)
	}
}
