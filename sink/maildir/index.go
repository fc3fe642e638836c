package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// maxIndexHeader is how much of a message's start is searched for its
// header block: the bound the transfer spool applies to the messages it
// keys, so both sides key the same bytes.
const maxIndexHeader = 256 << 10

// Index describes the messages in cur/ and new/ of folder as a source
// reading the folder would see them. Refs are "cur/NAME" or "new/NAME". The
// size with CRLF line ends comes from the W= field of the name (Dovecot and
// mailferry write it); without one the file is read to its end.
func (s *Sink) Index(ctx context.Context, name string) (transfer.FolderIndex, error) {
	var idx transfer.FolderIndex
	f, err := s.folder(name, false)
	if err != nil {
		return idx, err
	}
	idx.Identity = transfer.PathMailboxIdentity(f.dir)
	kw, err := readKeywords(f.dir)
	if err != nil {
		return idx, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
	}
	for _, sub := range []string{"cur", "new"} {
		dir := filepath.Join(f.dir, sub)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return idx, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return idx, err
			}
			parsed, err := formats.ParseMaildirName(e.Name())
			if err != nil || !e.Type().IsRegular() {
				continue
			}
			ref := sub + "/" + e.Name()
			m, err := indexFile(filepath.Join(dir, e.Name()), parsed.WireSize)
			if errors.Is(err, os.ErrNotExist) {
				continue // renamed or removed meanwhile
			}
			if err != nil {
				return idx, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
			}
			m.Ref = ref
			flags, _ := parsed.FlagsWith(&kw)
			m.Flags = formats.NormalizeFlags(flags)
			idx.Messages = append(idx.Messages, m)
		}
	}
	return idx, nil
}

// indexFile keys one message file, reading only its header when wire, its
// size with CRLF line ends, is known (>= 0).
func indexFile(path string, wire int64) (transfer.StoredMessage, error) {
	file, err := os.Open(path)
	if err != nil {
		return transfer.StoredMessage{}, err
	}
	defer file.Close()
	if wire < 0 {
		d := formats.NewDigester()
		var head headPrefix
		if _, err := io.Copy(io.MultiWriter(d, &head), file); err != nil {
			return transfer.StoredMessage{}, fmt.Errorf("read %s: %w", path, err)
		}
		return transfer.StoredMessage{Key: formats.IdentityKey(head.b), VirtualSize: d.VirtualSize()}, nil
	}
	// Read until the header block is complete, the bound is reached or the
	// file ends; HeaderEnd of a longer prefix finds the same blank line.
	var head headPrefix
	buf := make([]byte, 8<<10)
	for !head.done() {
		n, err := file.Read(buf)
		head.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return transfer.StoredMessage{}, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return transfer.StoredMessage{Key: formats.IdentityKey(head.b), VirtualSize: wire}, nil
}

// headPrefix keeps the first maxIndexHeader bytes written to it.
type headPrefix struct{ b []byte }

func (h *headPrefix) Write(p []byte) (int, error) {
	if room := maxIndexHeader - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// done reports whether the header block is complete or the bound reached.
func (h *headPrefix) done() bool {
	return len(h.b) >= maxIndexHeader || formats.HeaderEnd(h.b) < len(h.b)
}

// Digests reads the files refs name and returns their content digests.
func (s *Sink) Digests(ctx context.Context, name string, refs []string) (map[string]string, error) {
	f, err := s.folder(name, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(refs))
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sub, file, ok := strings.Cut(ref, "/")
		if !ok || (sub != "cur" && sub != "new") || strings.Contains(file, "/") {
			continue
		}
		digest, err := digestFile(filepath.Join(f.dir, sub, file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		out[ref] = digest
	}
	return out, nil
}

func digestFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	d := formats.NewDigester()
	if _, err := io.Copy(d, file); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return d.Sum(), nil
}
