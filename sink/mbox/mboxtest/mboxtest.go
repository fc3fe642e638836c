// Package mboxtest describes the mbox stores (sink/mbox written,
// source/mbox read back) to the conformance suite, for the tests of the
// store packages and of the stores copied to and from them. Tests only: the
// mailferry binary does not link it.
package mboxtest

import (
	"path/filepath"

	"github.com/mailferry/mailferry/internal/conformance/kind"
	mboxsink "github.com/mailferry/mailferry/sink/mbox"
	mboxsource "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// MboxDir is a directory of mboxrd files, one per folder.
func MboxDir() kind.Store {
	return kind.Store{
		Name: "mbox-dir",
		// The one thing an mbox file cannot keep: a message without a
		// final line feed gets one.
		Body: func(b []byte) []byte {
			if len(b) > 0 && b[len(b)-1] != '\n' {
				return append(append([]byte{}, b...), '\n')
			}
			return b
		},
		Path: func(dir string) string { return filepath.Join(dir, "mail") },
		NewSink: func(path string) (transfer.Sink, error) {
			return mboxsink.New(path, mboxsink.Options{})
		},
		OpenSource: func(path string) (transfer.Source, error) {
			return mboxsource.Open(path, mboxsource.Options{})
		},
	}
}

// MboxFile is a single mboxrd file holding one folder, read back as INBOX.
func MboxFile() kind.Store {
	s := MboxDir()
	s.Name = "mbox-file"
	s.Path = func(dir string) string { return filepath.Join(dir, "archive.mbox") }
	s.OneFolder = true
	return s
}
