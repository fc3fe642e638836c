package conformance

import (
	"path/filepath"

	mboxsink "github.com/mailferry/mailferry/sink/mbox"
	mboxsource "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

func init() { localStores = append(localStores, MboxDir(), MboxFile()) }

// MboxDir is a directory of mboxrd files, one per folder (sink/mbox and
// source/mbox).
func MboxDir() Store {
	return Store{
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
		// Not a symbolic link: source/mbox reads a linked directory as
		// empty (it walks the link, not the directory).
		Respell: DotSpelling,
	}
}

// MboxFile is a single mboxrd file holding one folder, read back as INBOX.
func MboxFile() Store {
	s := MboxDir()
	s.Name = "mbox-file"
	s.Path = func(dir string) string { return filepath.Join(dir, "archive.mbox") }
	s.OneFolder = true
	return s
}
