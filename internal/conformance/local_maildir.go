package conformance

import (
	"path/filepath"

	maildirsink "github.com/mailferry/mailferry/sink/maildir"
	maildirsource "github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

func init() { localStores = append(localStores, Maildir(), MaildirFS()) }

// Maildir is the Dovecot-compatible Maildir++ store (sink/maildir and
// source/maildir).
func Maildir() Store { return maildirStore("maildir", "") }

// MaildirFS is the Maildir store with nested folder directories.
func MaildirFS() Store { return maildirStore("maildir-fs", "fs") }

func maildirStore(name, layout string) Store {
	return Store{
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
