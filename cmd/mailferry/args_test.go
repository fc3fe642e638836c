package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	isCommand, takesValue := flagTable(newApp(io.Discard, io.Discard))
	tests := []struct{ in, want string }{
		{"mf copy SRC DST", "mf copy -- SRC DST"},
		{"mf copy SRC DST --dry-run", "mf copy --dry-run -- SRC DST"},
		{"mf copy SRC --include ^INBOX$ DST -q", "mf copy --include ^INBOX$ -q -- SRC DST"},
		{"mf copy SRC DST --map Old=New --map=A=B --connections 2", "mf copy --map Old=New --map=A=B --connections 2 -- SRC DST"},
		{"mf -v copy SRC DST", "mf copy -v -- SRC DST"},
		{"mf --state /s copy SRC DST", "mf copy --state /s -- SRC DST"},
		{"mf copy --exclude -weird- SRC DST", "mf copy --exclude -weird- -- SRC DST"},
		{"mf copy SRC DST -- --odd-name", "mf copy -- SRC DST --odd-name"},
		{"mf copy - DST", "mf copy -- - DST"},
		{"mf folders maildir:x --json", "mf folders --json -- maildir:x"},
		{"mf demo", "mf demo"},
		{"mf --help", "mf --help"},
		{"mf copy --help", "mf copy --help"},
		{"mf help copy", "mf help -- copy"},
		{"mf copy demo copy", "mf copy -- demo copy"},
		{"mf copy SRC DST --source-password-file", "mf copy --source-password-file -- SRC DST"},
	}
	for _, tt := range tests {
		got := strings.Join(reorderArgs(strings.Fields(tt.in), isCommand, takesValue), " ")
		if got != tt.want {
			t.Errorf("reorderArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFlagTableKnowsValueFlags(t *testing.T) {
	_, takesValue := flagTable(newApp(io.Discard, io.Discard))
	for _, f := range []string{"include", "exclude", "map", "since", "before", "max-size", "keep-days", "connections", "state", "metrics-file", "source-password-file", "dest-password-command", "ca-file"} {
		if !takesValue(f) {
			t.Errorf("--%s should take a value", f)
		}
	}
	for _, f := range []string{"dry-run", "n", "delete-source", "json", "q", "quiet", "v", "verbose", "insecure-skip-verify", "probe", "help", "h"} {
		if takesValue(f) {
			t.Errorf("--%s should be boolean", f)
		}
	}
	if reflect.DeepEqual(takesValue, nil) {
		t.Fatal("no table")
	}
}

func TestReorderArgsHelpWins(t *testing.T) {
	isCommand, takesValue := flagTable(newApp(io.Discard, io.Discard))
	got := strings.Join(reorderArgs(strings.Fields("mf copy a b --help"), isCommand, takesValue), " ")
	if got != "mf copy --help" {
		t.Errorf("got %q", got)
	}
}
