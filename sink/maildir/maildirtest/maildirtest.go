// Package maildirtest describes the Maildir store (sink/maildir written,
// source/maildir read back) to the conformance suite, for the tests of the
// store packages and of the stores copied to and from it. Tests only: the
// mailferry binary does not link it.
package maildirtest

import (
	"path/filepath"

	"github.com/mailferry/mailferry/internal/conformance/kind"
	maildirsink "github.com/mailferry/mailferry/sink/maildir"
	maildirsource "github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// Maildir is the Dovecot-compatible Maildir++ store.
func Maildir() kind.Store { return store("maildir", "") }

// MaildirFS is the Maildir store with nested folder directories.
func MaildirFS() kind.Store { return store("maildir-fs", "fs") }

func store(name, layout string) kind.Store {
	return kind.Store{
		Name: name,
		Path: func(dir string) string { return filepath.Join(dir, "Maildir") },
		NewSink: func(path string) (transfer.Sink, error) {
			return maildirsink.New(path, maildirsink.Options{Layout: layout})
		},
		OpenSource: func(path string) (transfer.Source, error) {
			return maildirsource.Open(path, maildirsource.Options{Layout: layout})
		},
	}
}
