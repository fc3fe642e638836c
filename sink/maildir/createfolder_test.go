package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMessageCountReadsLargeFoldersInBatches: every message file of cur/
// and new/ counts, across more entries than one batch of the directory
// reads; hidden files and directories do not; a folder that does not exist
// holds 0.
func TestMessageCountReadsLargeFoldersInBatches(t *testing.T) {
	s, root := newSink(t, Options{})
	if _, err := s.CreateFolder(ctx, "Big"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".Big")
	for i := range 2500 {
		sub := "cur"
		if i%10 == 0 {
			sub = "new"
		}
		name := fmt.Sprintf("1700000000.M%dP1.host,S=10:2,S", i)
		if err := os.WriteFile(filepath.Join(dir, sub, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cur", ".hidden"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cur", "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MessageCount(ctx, "Big"); err != nil || n != 2500 {
		t.Errorf("MessageCount(Big) = %d, %v; want 2500", n, err)
	}
	if n, err := s.MessageCount(ctx, "Missing"); err != nil || n != 0 {
		t.Errorf("MessageCount(Missing) = %d, %v; want 0", n, err)
	}
}
