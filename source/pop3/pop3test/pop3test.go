// Package pop3test describes a POP3 maildrop on the in-process server
// (internal/pop3server), read through source/pop3, to the conformance
// suite as a source-only store. Tests only: the mailferry binary does not
// link it.
package pop3test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/conformance/kind"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/pop3server"
	sourcepop3 "github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// POP3 returns a source-only store kind backed by in-process POP3 servers
// (internal/pop3server) on 127.0.0.1: every Path call starts a fresh server
// with an empty maildrop for "alice" and returns its address, Add puts
// messages into that maildrop, and the servers stop when t ends. It holds
// one folder, INBOX, in network form.
func POP3(t testing.TB) kind.Store {
	var mu sync.Mutex
	servers := make(map[string]*pop3server.Server)
	server := func(addr string) (*pop3server.Server, error) {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := servers[addr]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("no POP3 server at %s", addr)
	}
	return kind.Store{
		Name: "pop3",
		Path: func(string) string {
			srv, err := pop3server.Start(pop3server.Options{User: "alice", Password: "secret"})
			if err != nil {
				t.Fatalf("start POP3 server: %v", err)
			}
			t.Cleanup(func() { srv.Close() })
			mu.Lock()
			defer mu.Unlock()
			servers[srv.Addr()] = srv
			return srv.Addr()
		},
		Add: func(addr string, msgs []corpus.Message) error {
			srv, err := server(addr)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				srv.AddMessage(pop3server.Message{Body: m.Body})
			}
			return nil
		},
		OpenSource: func(addr string) (transfer.Source, error) {
			return sourcepop3.New(context.Background(), sourcepop3.Options{
				Addr:     addr,
				Security: account.SecurityNone,
				Credentials: account.Credentials{
					User:     "alice",
					Password: account.StaticPassword("secret"),
				},
				Timeout: 30 * time.Second,
			})
		},
		Respell:   kind.LocalhostSpelling,
		OneFolder: true,
		CRLF:      true,
	}
}
