package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.FlagSetter = (*Sink)(nil)

// SetFlags gives messages new flags the Maildir way: by renaming each file
// to a name with the new ":2," letters (into cur/, where a message with info
// belongs), then fsyncing cur/. Keywords get letters as on delivery. A file
// that is gone (another program moved it) is skipped.
func (s *Sink) SetFlags(ctx context.Context, name string, changes []transfer.FlagChange) error {
	f, err := s.folder(name, false)
	if err != nil {
		return err
	}
	moved := false
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub, file, ok := strings.Cut(c.Ref, "/")
		if !ok || (sub != "cur" && sub != "new") || strings.Contains(file, "/") {
			return transfer.FatalError(fmt.Errorf("maildir %s: folder %q: %q names no message", s.root, name, c.Ref))
		}
		parsed, err := formats.ParseMaildirName(file)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		letters, err := s.flagLetters(f, transfer.Message{Folder: name, ID: parsed.Unique, Flags: c.Flags})
		if err != nil {
			return err
		}
		to := filepath.Join(f.dir, "cur", formats.MaildirFilename(parsed.Unique, -1, -1, letters))
		from := filepath.Join(f.dir, sub, file)
		if from == to {
			continue
		}
		if err := os.Rename(from, to); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		moved = true
	}
	if !moved {
		return nil
	}
	if err := syncDir(filepath.Join(f.dir, "cur")); err != nil {
		return fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
	}
	return nil
}

var _ transfer.StoredDeleter = (*Sink)(nil)

// DeleteStored removes the files refs name, then fsyncs their directories.
// A file that is gone already is skipped.
func (s *Sink) DeleteStored(ctx context.Context, name string, refs []string) error {
	f, err := s.folder(name, false)
	if err != nil {
		return err
	}
	dirs := make(map[string]bool)
	for _, ref := range refs {
		sub, file, ok := strings.Cut(ref, "/")
		if !ok || (sub != "cur" && sub != "new") || strings.Contains(file, "/") {
			return transfer.FatalError(fmt.Errorf("maildir %s: folder %q: %q names no message", s.root, name, ref))
		}
		err := os.Remove(filepath.Join(f.dir, sub, file))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		dirs[filepath.Join(f.dir, sub)] = true
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
	}
	return nil
}
