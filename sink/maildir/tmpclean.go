package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mailferry/mailferry/internal/plural"
)

// tmpMaxAge is the Maildir rule (maildir(5); Dovecot applies the same): a
// file in tmp/ that nobody has touched for 36 hours belongs to a delivery
// that will never finish, such as one of a killed run.
const tmpMaxAge = 36 * time.Hour

// sweepTmp removes the files in the folder's tmp/ that are older than
// tmpMaxAge and says how many it removed. Only regular files are removed:
// links and directories there are not a delivery's. A folder without tmp/
// has nothing to sweep; a file that cannot be removed is left to the next
// run, with a warning.
func (s *Sink) sweepTmp(f *folder) {
	dir := filepath.Join(f.dir, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := s.now().Add(-tmpMaxAge)
	removed := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !untouchedSince(info, cutoff) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				s.warn(fmt.Sprintf("maildir %s: folder %q: could not remove %s, left in tmp/ by an interrupted delivery: %v", s.root, f.name, p, err))
			}
			continue
		}
		removed++
	}
	if removed > 0 {
		s.warn(fmt.Sprintf("maildir %s: folder %q: removed %s older than 36 hours from tmp/, left there by interrupted deliveries",
			s.root, f.name, plural.Count(removed, "file")))
	}
}
