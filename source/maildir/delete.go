package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailferry/mailferry/transfer"
)

// Delete removes the files of msgs (--delete-source), finding renamed files
// again by their IDs; a message already gone counts as deleted. The
// directories are fsync'd afterwards so the removals are durable.
func (s *Source) Delete(ctx context.Context, folder string, msgs []transfer.Message) error {
	rescanned := false
	opened := &openDirs{s: s}
	defer opened.close()
	dirs := map[string]bool{}
	var errs []error
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, _, err := s.open(folder, m, opened, &rescanned)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if f == nil {
			continue // already gone
		}
		p := f.Name()
		f.Close()
		if err := s.fsroot.Remove(s.rel(p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, transfer.FatalError(fmt.Errorf("maildir %s: folder %q, message %s: delete: %w", s.root, folder, m.ID, err)))
			continue
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			errs = append(errs, transfer.FatalError(fmt.Errorf("maildir %s: %w", s.root, err)))
		}
	}
	return errors.Join(errs...)
}

// syncDir fsyncs a directory, making removals in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
