// Command mailferry copies mail between stores (IMAP, POP3, mbox, Maildir)
// and loses nothing: provider migrations, scheduled backups, and old POP3
// archives brought back onto IMAP. Run `mailferry --help` or `mailferry demo`.
package main

import (
	"os"
)

func main() {
	applyMemoryLimit()
	stop := startProfiles(os.Stderr)
	code := run(os.Args)
	stop()
	os.Exit(code)
}
