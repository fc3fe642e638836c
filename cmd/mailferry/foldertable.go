package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailferry/mailferry/transfer"
)

// writeFolderTable prints what a copy did with each source folder, one
// row per folder, names escaped as every line built from store data is:
//
//	FOLDER       DESTINATION    COPIED  SKIPPED  FILTERED  FAILED        SIZE
//	INBOX        INBOX              15        0         0       0    11.1 KiB
//	Sent Items   Sent                6        0         0       0     1.9 KiB
func writeFolderTable(w io.Writer, folders []transfer.FolderSummary) {
	type row struct{ from, to string }
	rows := make([]row, len(folders))
	fromW, toW := len("FOLDER"), len("DESTINATION")
	for i, f := range folders {
		rows[i] = row{safeText(f.Folder), safeText(f.Dest)}
		fromW = max(fromW, utf8.RuneCountInString(rows[i].from))
		toW = max(toW, utf8.RuneCountInString(rows[i].to))
	}
	line := func(from, to, copied, skipped, filtered, failed, size string) {
		fmt.Fprintf(w, "%s  %s  %6s  %7s  %8s  %6s  %10s\n", padRight(from, fromW), padRight(to, toW), copied, skipped, filtered, failed, size)
	}
	line("FOLDER", "DESTINATION", "COPIED", "SKIPPED", "FILTERED", "FAILED", "SIZE")
	for i, f := range folders {
		line(rows[i].from, rows[i].to, strconv.Itoa(f.Copied), strconv.Itoa(f.Skipped), strconv.Itoa(f.Filtered), strconv.Itoa(f.Failed), formatBytes(f.Bytes))
	}
}

// padRight fills s with spaces to n runes.
func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

// folderTableRows picks the rows the summary shows. A run of one folder
// gets no table (the summary line says it all), unless it failed; with
// -q, only the folders that failed, and only when some did: a quiet run
// that went well prints nothing.
func folderTableRows(folders []transfer.FolderSummary, quiet bool) []transfer.FolderSummary {
	failed := 0
	for _, f := range folders {
		failed += f.Failed
	}
	switch {
	case quiet && failed == 0:
		return nil
	case quiet:
		var out []transfer.FolderSummary
		for _, f := range folders {
			if f.Failed > 0 {
				out = append(out, f)
			}
		}
		return out
	case len(folders) < 2 && failed == 0:
		return nil
	}
	return folders
}
