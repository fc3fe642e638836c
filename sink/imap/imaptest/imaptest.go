// Package imaptest describes IMAP stores to the conformance suite: the
// in-process server (internal/imapserver) and a real Dovecot
// (internal/dovecot), written through sink/imap and read back through
// source/imap, for the tests of the store packages and of the stores copied
// to and from them. Tests only: the mailferry binary does not link it.
package imaptest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/conformance/kind"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	sinkimap "github.com/mailferry/mailferry/sink/imap"
	sourceimap "github.com/mailferry/mailferry/source/imap"
	"github.com/mailferry/mailferry/transfer"
)

// IMAP returns a store kind backed by in-process IMAP servers
// (internal/imapserver) on 127.0.0.1: every Path call starts a fresh server
// configured by opts with one user, "alice", and returns its address; the
// servers stop when t ends. Sources and sinks log in over plaintext.
func IMAP(t testing.TB, opts imapserver.Options) kind.Store {
	var mu sync.Mutex
	opts.Users = []imapserver.User{{Name: "alice", Password: "secret"}}
	conn := func(addr string) imapconn.Options {
		return imapconn.Options{
			Addr:     addr,
			Security: account.SecurityNone,
			Credentials: account.Credentials{
				User:     "alice",
				Password: account.StaticPassword("secret"),
			},
			Timeout: 30 * time.Second,
		}
	}
	return kind.Store{
		Name: "imap",
		Path: func(string) string {
			mu.Lock()
			defer mu.Unlock()
			srv, err := imapserver.Start(opts)
			if err != nil {
				t.Fatalf("start IMAP server: %v", err)
			}
			t.Cleanup(func() { srv.Close() })
			return srv.Addr()
		},
		NewSink: func(addr string) (transfer.Sink, error) {
			return sinkimap.New(context.Background(), conn(addr))
		},
		OpenSource: func(addr string) (transfer.Source, error) {
			return sourceimap.New(context.Background(), conn(addr))
		},
		Respell: kind.LocalhostSpelling,
		CRLF:    true,
	}
}

// Dovecot returns a store kind backed by real Dovecot servers
// (internal/dovecot) on 127.0.0.1: every Path call starts one configured by
// opts with one user, "alice", and returns its IMAP address. The test is
// skipped when Dovecot is not installed, unless MAILFERRY_REQUIRE_DOVECOT=1.
func Dovecot(t testing.TB, opts dovecot.Options) kind.Store {
	var mu sync.Mutex
	opts.Users = []dovecot.User{{Name: "alice", Password: "secret"}}
	s := IMAP(t, imapserver.Options{})
	s.Name = "dovecot"
	s.Body = dovecotBody
	if opts.Separator == "." {
		s.FolderName = func(f string) string { return strings.ReplaceAll(f, ".", "_") }
	}
	s.Path = func(string) string {
		mu.Lock()
		defer mu.Unlock()
		return dovecot.Start(t, opts).IMAPAddr
	}
	return s
}

// dovecotBody is what Dovecot makes of a message it is given in network
// form: it stores LF (so a CR before CRLF is lost when it converts back) and
// replaces NUL bytes with 0x80.
func dovecotBody(b []byte) []byte {
	b = formats.ToCRLF(formats.ToLF(b))
	if bytes.IndexByte(b, 0) >= 0 {
		b = bytes.ReplaceAll(b, []byte{0}, []byte{0x80})
	}
	return b
}
