package dovecot

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dirPattern names server directories in the temporary directory.
const dirPattern = "mailferry-dovecot-"

// ownerFile holds the pid of the process that made a server directory.
const ownerFile = "owner.pid"

// sweepStale removes server directories left behind by processes that died
// without cleaning up (a test binary killed by a timeout). Their Dovecot is
// gone already: the kernel stops it when its parent dies.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being set up, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		os.RemoveAll(dir)
	}
}
