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
func MboxFile() Store {
	s := MboxDir()
	s.Name = "mbox-file"
	s.Path = func(dir string) string { return filepath.Join(dir, "archive.mbox") }
	s.OneFolder = true
	return s
}
