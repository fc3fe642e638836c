package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfilesFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	t.Setenv(cpuProfileEnv, cpu)
	t.Setenv(memProfileEnv, mem)
	var stderr bytes.Buffer
	stop := startProfiles(&stderr)
	for i := 0; i < 1e6; i++ {
		_ = strings.Repeat("x", i%7)
	}
	stop()
	for _, path := range []string{cpu, mem} {
		b, err := os.ReadFile(path)
		// A profile is gzip-compressed protobuf.
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, %v; want a gzip-compressed profile", path, len(b), err)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}

	t.Setenv(cpuProfileEnv, filepath.Join(dir, "missing", "cpu.pprof"))
	t.Setenv(memProfileEnv, "")
	stderr.Reset()
	startProfiles(&stderr)()
	if !strings.Contains(stderr.String(), "MAILFERRY_CPUPROFILE="+filepath.Join(dir, "missing", "cpu.pprof")) {
		t.Errorf("an unwritable profile path gave %q", stderr.String())
	}
}
