//go:build !unix

package mbox

import (
	"context"
	"os"
	"time"
)

// lockFile does nothing where flock does not exist; one mailferry run per
// file is then up to the user (the state file's lock still guards a job).
func lockFile(ctx context.Context, f *os.File, wait time.Duration) error { return nil }
