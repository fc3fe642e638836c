//go:build !linux

package maildir

// newDataSyncer returns the portable syncer: without syncfs(2), each file
// of a batch is fsync'd, several at once.
func newDataSyncer() dataSyncer { return fsyncEach{} }
