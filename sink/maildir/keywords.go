package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mailferry/mailferry/formats"
)

// Dovecot updates dovecot-keywords under a dot-lock: it creates
// "dovecot-keywords.lock" exclusively, writes the new table into it and
// renames it over the file. Doing the same keeps a running Dovecot and
// mailferry from losing each other's keywords.
const (
	keywordsLockSuffix = ".lock"
	// keywordsLockWait bounds how long Put waits for another writer.
	keywordsLockWait = 10 * time.Second
	// keywordsLockStale is when a lock is taken for the leftover of a
	// crashed writer; Dovecot holds it only for one small write.
	keywordsLockStale = 2 * time.Minute
	// keywordsLockOrphaned is when a lock that nobody holds an flock on is
	// taken for the leftover of a mailferry run that was killed: mailferry
	// holds an flock on its lock file for as long as it writes, the kernel
	// drops it with the process, and this age covers a Dovecot (which takes
	// no flock) in the middle of its one small write.
	keywordsLockOrphaned = time.Second
)

// keywordLetters returns the letters of keywords in this folder, assigning
// free letters (and updating dovecot-keywords durably before any message
// uses them) to new ones. Keywords for which no letter is left are returned
// in dropped.
func (f *folder) keywordLetters(keywords []string) (letters []byte, dropped []string, err error) {
	f.kwMu.Lock()
	defer f.kwMu.Unlock()
	if !f.kwLoaded {
		kw, err := readKeywords(f.dir)
		if err != nil {
			return nil, nil, err
		}
		f.kw, f.kwLoaded = kw, true
	}
	var missing []string
	for _, k := range keywords {
		if l, ok := f.kw.Letter(k); ok {
			letters = append(letters, l)
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return letters, nil, nil
	}
	kw, err := f.updateKeywords(missing)
	if err != nil {
		return nil, nil, err
	}
	f.kw = kw
	for _, k := range missing {
		if l, ok := f.kw.Letter(k); ok {
			letters = append(letters, l)
		} else {
			dropped = append(dropped, k)
		}
	}
	return letters, dropped, nil
}

// readKeywords reads the folder's table; a missing file is an empty table.
func readKeywords(dir string) (formats.MaildirKeywords, error) {
	data, err := os.ReadFile(filepath.Join(dir, formats.MaildirKeywordsFile))
	if errors.Is(err, os.ErrNotExist) {
		return formats.MaildirKeywords{}, nil
	}
	if err != nil {
		return formats.MaildirKeywords{}, fmt.Errorf("read keywords: %w", err)
	}
	kw, _ := formats.ParseMaildirKeywords(data)
	return kw, nil
}

// updateKeywords adds keywords to the file under Dovecot's dot-lock, starting
// from the file as it is now (another program may have added some), and
// returns the table written.
func (f *folder) updateKeywords(add []string) (formats.MaildirKeywords, error) {
	path := filepath.Join(f.dir, formats.MaildirKeywordsFile)
	lockPath := path + keywordsLockSuffix
	lock, err := takeLock(lockPath)
	if err != nil {
		return formats.MaildirKeywords{}, err
	}
	committed := false
	defer func() {
		if !committed {
			lock.Close()
			os.Remove(lockPath)
		}
	}()
	kw, err := readKeywords(f.dir)
	if err != nil {
		return kw, err
	}
	changed := false
	for _, k := range add {
		if _, added, _ := kw.Add(k); added {
			changed = true
		}
	}
	if !changed {
		return kw, nil
	}
	if err := replaceFromLock(lock, lockPath, path, kw.Marshal()); err != nil {
		return kw, err
	}
	committed = true
	return kw, syncDir(f.dir)
}

// replaceFromLock writes data into the lock file taken with takeLock,
// makes it durable and renames it over path, as Dovecot replaces its own
// files: a reader sees the old file or the new one, never half of one.
// The caller fsyncs the directory.
func replaceFromLock(lock *os.File, lockPath, path string, data []byte) error {
	if _, err := lock.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", lockPath, err)
	}
	if err := lock.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", lockPath, err)
	}
	if err := lock.Close(); err != nil {
		return fmt.Errorf("close %s: %w", lockPath, err)
	}
	if err := os.Rename(lockPath, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", lockPath, path, err)
	}
	return nil
}

// takeLock creates lockPath exclusively, waiting for another holder and
// breaking a stale lock.
func takeLock(lockPath string) (*os.File, error) {
	deadline := time.Now().Add(keywordsLockWait)
	delay := 5 * time.Millisecond
	for {
		lock, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if err == nil {
			if err := holdFileLock(lock); err != nil {
				lock.Close()
				os.Remove(lockPath)
				return nil, fmt.Errorf("lock keywords: %s: %w", lockPath, err)
			}
			return lock, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock keywords: %w", err)
		}
		if st, serr := os.Stat(lockPath); serr == nil {
			age := time.Since(st.ModTime())
			if age > keywordsLockStale || (age > keywordsLockOrphaned && orphanedLock(lockPath)) {
				os.Remove(lockPath)
				continue
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock keywords: %s is held by another program for more than %s", lockPath, keywordsLockWait)
		}
		time.Sleep(delay)
		delay = min(2*delay, 200*time.Millisecond)
	}
}
