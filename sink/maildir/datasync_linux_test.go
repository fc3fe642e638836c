package maildir

import "testing"

func TestSyncfsReportsErrors(t *testing.T) {
	for release, want := range map[string]bool{
		"6.18.44-fc-v657": true, "6.1.0-18-amd64": true, "5.8.0": true, "5.10.209": true, "10.0": true,
		"5.7.19": false, "4.19.0-26-amd64": false, "5": false, "5.": false, "": false, "x.9": false,
	} {
		if got := syncfsReportsErrors(release); got != want {
			t.Errorf("syncfsReportsErrors(%q) = %v, want %v", release, got, want)
		}
	}
}

// On this kernel (5.8 or later, as in CI) and the test's file system
// (ext4 or tmpfs), a batch is made durable by syncfs: Put closes its
// files, and the Maildir's tmp/ directories share one descriptor.
func TestSyncfsUsedOnTrustedFileSystems(t *testing.T) {
	if !syncfsReportsErrors(kernelRelease()) {
		t.Fatalf("kernel %s: syncfs would not report writeback errors; the tests expect Linux 5.8 or later", kernelRelease())
	}
	s, ok := newDataSyncer().(*syncfsSyncer)
	if !ok {
		t.Fatalf("newDataSyncer() = %T, want *syncfsSyncer", newDataSyncer())
	}
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b, a} {
		keepOpen, err := s.prepare(dir)
		if err != nil || keepOpen {
			t.Fatalf("prepare(%s) = %v, %v; want syncfs", dir, keepOpen, err)
		}
	}
	if len(s.dirs) != 2 || len(s.fds) != 1 || s.dirs[a] != s.dirs[b] {
		t.Errorf("two directories of one file system: dirs %v, descriptors %v", s.dirs, s.fds)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.prepare(t.TempDir() + "/missing"); err == nil {
		t.Error("prepare of a missing directory succeeded")
	}
}
