package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.Subscriber = (*Sink)(nil)

// SetSubscribed adds folder to, or removes it from, Dovecot's
// subscriptions file at the root (created when the first folder is
// subscribed), when the folder exists. The file is replaced under its
// ".lock" as Dovecot does, so Dovecot serving the Maildir shows the
// subscriptions the source had.
func (s *Sink) SetSubscribed(ctx context.Context, name string, subscribed bool) (bool, error) {
	f, err := s.folder(name, false)
	if err != nil || !f.exists() {
		return false, err
	}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	path := filepath.Join(s.root, formats.MaildirSubscriptionsFile)
	lockPath := path + keywordsLockSuffix
	lock, err := takeLock(lockPath)
	if err != nil {
		return false, fsError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	committed := false
	defer func() {
		if !committed {
			lock.Close()
			os.Remove(lockPath)
		}
	}()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fsError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	sep := byte('.')
	if isFS(s.opts.Layout) {
		sep = '/'
	}
	names, ok := formats.ParseMaildirSubscriptions(b, sep)
	if !ok {
		return false, fmt.Errorf("maildir %s: %s is not in the format Dovecot 2.3 writes; it is left as it is", s.root, formats.MaildirSubscriptionsFile)
	}
	i := slices.Index(names, name)
	switch {
	case subscribed && i >= 0, !subscribed && i < 0:
		return false, nil
	case subscribed:
		names = append(names, name)
	default:
		names = slices.Delete(names, i, i+1)
	}
	if err := replaceFromLock(lock, lockPath, path, formats.FormatMaildirSubscriptions(names)); err != nil {
		return false, fsError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	committed = true
	return true, fsError(syncDir(s.root))
}
