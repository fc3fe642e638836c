package mbox

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// Google Takeout exports a Gmail account as one mbox file ("All mail
// Including Spam and Trash.mbox") holding every message once, with its
// labels in an X-Gmail-Labels header and its Gmail thread in X-GM-THRID. A
// file whose first message has X-Gmail-Labels is read as such: each label
// is a folder (formats.GmailPlacement), a message is listed in the folder
// of every label it has (or only its first with
// Options.DedupeAcrossFolders), and both headers, which Takeout added and
// Gmail never served, are removed from the message as the other mbox
// bookkeeping headers are. The thread ID has no meaning outside Gmail.

// takeoutFields are the header fields Takeout adds to every message.
var takeoutFields = []string{"X-Gmail-Labels", "X-GM-THRID"}

// takeoutFile is a Takeout file, scanned once: every message with the
// folders it goes into.
type takeoutFile struct {
	path    string
	folders []takeoutFolder
	msgs    []takeoutMsg
}

// takeoutFolder is one folder made from labels, with what it holds.
type takeoutFolder struct {
	formats.GmailFolder
	messages int
	bytes    int64
}

type takeoutMsg struct {
	entry
	flags   []string
	date    time.Time
	folders []string
}

// newReader reads an mbox file; a Takeout file's own headers are stripped.
func newReader(f io.ReaderAt, size int64, takeout bool) *formats.MboxReader {
	r := formats.NewMboxReader(f, size)
	if takeout {
		r.StripFields(takeoutFields...)
	}
	return r
}

// takeoutFlags are the flags of a message of a Takeout file, from its labels.
func takeoutFlags(m *formats.MboxMessage) []string {
	_, flags := formats.GmailPlacement(formats.ParseGmailLabels(m.Fields["x-gmail-labels"]))
	return flags
}

// openTakeout returns the scanned Takeout file p, opened with open, or nil
// when p is not one.
func openTakeout(ctx context.Context, p string, dedupe bool, open opener) (*takeoutFile, error) {
	f, size, err := open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	first, err := newReader(f, size, true).Next()
	if err != nil || first.Incomplete {
		return nil, nil // not Takeout; List reports what is wrong with it
	}
	if _, ok := first.Fields["x-gmail-labels"]; !ok {
		return nil, nil
	}
	tf := &takeoutFile{path: p}
	index := map[string]int{} // folder → index in tf.folders
	interned := map[string][]string{}
	r := newReader(f, size, true)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
		}
		e, err := hashed(p, m)
		if err != nil {
			return nil, err
		}
		tm := takeoutMsg{entry: e, date: m.Date}
		var folders []formats.GmailFolder
		if m.Incomplete {
			// Listed where unlabelled mail goes, so the run reports it.
			folders = []formats.GmailFolder{{Name: formats.GmailArchiveFolder, Role: `\Archive`}}
		} else {
			folders, tm.flags = formats.GmailPlacement(formats.ParseGmailLabels(m.Fields["x-gmail-labels"]))
			if dedupe {
				folders = folders[:1]
			}
		}
		names := make([]string, len(folders))
		for i, gf := range folders {
			names[i] = gf.Name
			j, ok := index[gf.Name]
			if !ok {
				j = len(tf.folders)
				index[gf.Name] = j
				tf.folders = append(tf.folders, takeoutFolder{GmailFolder: gf})
			}
			if tf.folders[j].Role == "" {
				tf.folders[j].Role = gf.Role // a user label named as a system folder
			}
			tf.folders[j].messages++
			tf.folders[j].bytes += tm.size
		}
		key := strings.Join(names, "\x00")
		if in, ok := interned[key]; ok {
			names = in
		} else {
			interned[key] = names
		}
		tm.folders = names
		tf.msgs = append(tf.msgs, tm)
	}
	return tf, nil
}

// folder returns what the scan found for folder.
func (tf *takeoutFile) folder(name string) (takeoutFolder, bool) {
	for _, f := range tf.folders {
		if f.Name == name {
			return f, true
		}
	}
	return takeoutFolder{}, false
}

// list returns the messages of one label folder, with IDs as for any mbox
// folder: the content hash, "#2", "#3"… for further identical copies in
// this folder. A message in several folders has the same ID in each, which
// is unique per folder.
func (tf *takeoutFile) list(folder string) ([]transfer.Message, map[string]entry) {
	idx := map[string]entry{}
	ids := idMaker{}
	var msgs []transfer.Message
	for _, m := range tf.msgs {
		if !contains(m.folders, folder) {
			continue
		}
		id := ids.id(m.entry)
		idx[id] = m.entry
		msgs = append(msgs, transfer.Message{Folder: folder, ID: id, Flags: m.flags, Date: m.date, Size: m.size})
	}
	return msgs, idx
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
