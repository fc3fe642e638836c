package main

import (
	"io"
	"log/slog"
	"os"
)

// openLogFile opens the --log-file at path for appending: one record a
// line with its time, as log/slog's text handler writes them
// (time=… level=WARN msg=warning job=… message=…), or its JSON handler with
// --json. Every record names the job, so the jobs of one run, or of many,
// can share a file. Each record is one write to a file opened with
// O_APPEND, so records of concurrent jobs do not interleave.
func openLogFile(path string, jsonLines bool, job string) (*slog.Logger, io.Closer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, usageErrorf("--log-file %s: %v", path, err)
	}
	var h slog.Handler
	if jsonLines {
		h = slog.NewJSONHandler(f, nil)
	} else {
		h = slog.NewTextHandler(f, nil)
	}
	return slog.New(h).With("job", job), f, nil
}
