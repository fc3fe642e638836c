package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func TestCreateExclusiveWritesAndRefusesAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "msg")
	f, err := CreateExclusive(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("Subject: x\n\nbody\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "Subject: x\n\nbody\n" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", info.Mode().Perm())
		}
	}
	if _, err := CreateExclusive(path, 0o600); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create: %v, want an error for an existing file", err)
	}
}

func TestOpenInReadsAFileAndRefusesALink(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "msg"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("msg", filepath.Join(dir, "link")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := OpenIn(d, "msg")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := f.Read(buf)
	f.Close()
	if string(buf[:n]) != "hello" || f.Name() != filepath.Join(dir, "msg") {
		t.Fatalf("read %q from %s", buf[:n], f.Name())
	}
	if _, err := OpenIn(d, "link"); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("opening a link: %v, want ELOOP", err)
	}
	if _, err := OpenIn(d, "gone"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening a missing file: %v, want ErrNotExist", err)
	}
}

func TestRenameReplacesTheTarget(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "tmp-msg"), filepath.Join(dir, "cur-msg")
	if err := os.WriteFile(from, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(to); string(got) != "new" {
		t.Fatalf("target holds %q", got)
	}
	if _, err := os.Stat(from); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("source still there: %v", err)
	}
	if err := Rename(from, to); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("renaming a missing file: %v", err)
	}
}
