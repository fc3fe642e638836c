package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mailferry/mailferry/formats"
)

// maxFingerprintHeader is how much of a message's start is searched for its
// header block: the same bound the transfer spool applies when it
// fingerprints a message on its way in, so both sides hash the same bytes.
const maxFingerprintHeader = 256 << 10

// Fingerprints counts the messages in cur/ and new/ of folder by
// formats.Fingerprint, computed as a source reading the folder would see
// them: the stored header and the mtime as the date.
func (s *Sink) Fingerprints(ctx context.Context, name string) (map[string]int, error) {
	f, err := s.folder(name, false)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int)
	for _, sub := range []string{"cur", "new"} {
		dir := filepath.Join(f.dir, sub)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if _, err := formats.ParseMaildirName(e.Name()); err != nil || !e.Type().IsRegular() {
				continue
			}
			keys, err := fingerprintFile(filepath.Join(dir, e.Name()))
			if errors.Is(err, os.ErrNotExist) {
				continue // renamed or removed meanwhile
			}
			if err != nil {
				return nil, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
			}
			for _, k := range keys {
				counts[k]++
			}
		}
	}
	return counts, nil
}

// fingerprintFile fingerprints one message file, reading only its header.
func fingerprintFile(path string) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, err
	}
	// Read until the header block is complete, the bound is reached or the
	// file ends; HeaderEnd of a longer prefix finds the same blank line.
	buf := make([]byte, 0, 8<<10)
	eof := false
	for !eof && len(buf) < maxFingerprintHeader && formats.HeaderEnd(buf) == len(buf) {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), maxFingerprintHeader))
			copy(grown, buf)
			buf = grown
		}
		n, err := file.Read(buf[len(buf):min(cap(buf), maxFingerprintHeader)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	head := buf[:formats.HeaderEnd(buf)]
	return formats.FingerprintKeys(head, st.ModTime()), nil
}
