package conformance

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/transfer"
)

func TestMalformedStateIsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := transfer.OpenJournal(dir)
	if err == nil {
		t.Fatalf("OpenJournal(%s) on a directory succeeded", dir)
	}
	if !strings.Contains(err.Error(), dir) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("OpenJournal on a directory: %q (%v); want a fatal error naming it", err, transfer.ClassOf(err))
	}
}
