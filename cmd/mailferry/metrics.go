package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// runMetrics is what --metrics-file records about one run.
type runMetrics struct {
	Summary  transfer.Summary
	ExitCode int
	End      time.Time
}

const lastSuccessMetric = "mailferry_last_success_timestamp_seconds"

// writeMetrics writes m to path in the Prometheus text format, for
// node_exporter's textfile collector. The file is replaced atomically
// (temporary file, fsync, rename), so a scrape never sees half of it. The
// last-success timestamp is carried over from the previous file when this run
// did not succeed, so an alert on its age fires after repeated failures.
func writeMetrics(path string, m runMetrics) error {
	lastSuccess := 0.0
	if m.ExitCode == exitOK {
		lastSuccess = float64(m.End.UnixNano()) / 1e9
	} else if old, err := os.ReadFile(path); err == nil {
		lastSuccess = readMetric(old, lastSuccessMetric)
	}
	var b bytes.Buffer
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'f', -1, 64))
	}
	s := m.Summary
	gauge("mailferry_messages_copied", "Messages copied by the last run.", float64(s.Copied))
	gauge("mailferry_messages_skipped", "Messages skipped by the last run (already at the destination or filtered).", float64(s.Skipped))
	gauge("mailferry_messages_failed", "Messages that failed in the last run.", float64(s.Failed))
	gauge("mailferry_bytes_copied", "Bytes copied by the last run.", float64(s.Bytes))
	gauge("mailferry_duration_seconds", "Duration of the last run in seconds.", s.Seconds)
	gauge("mailferry_last_run_timestamp_seconds", "Unix time the last run ended.", float64(m.End.UnixNano())/1e9)
	gauge(lastSuccessMetric, "Unix time the last successful run (exit code 0) ended; 0 if none is known.", lastSuccess)
	gauge("mailferry_exit_code", "Exit code of the last run: 0 done, 1 failed, 2 usage error, 3 some messages failed, 130 interrupted (SIGINT), 143 stopped (SIGTERM).", float64(m.ExitCode))
	return writeFileAtomic(path, b.Bytes(), 0o644)
}

// readMetric returns the value of an unlabelled metric in a Prometheus text
// file, or 0.
func readMetric(text []byte, name string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				return v
			}
		}
	}
	return 0
}

// writeFileAtomic replaces path with data: a reader sees the old content or
// the new, never a mix, and after a crash the file is whole.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
