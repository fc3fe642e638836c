package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	installed := &debug.BuildInfo{Main: debug.Module{Path: "github.com/mailferry/mailferry", Version: "v1.4.0"}}
	checkout := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "8b8dd64a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"dev", installed, "v1.4.0"},    // go install …@v1.4.0
		{"v2.0.0", installed, "v2.0.0"}, // -ldflags -X main.version wins
		{"dev", checkout, "dev (8b8dd64a1b2c, modified)"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := versionFrom(tc.ldflags, tc.bi, true); got != tc.want {
			t.Errorf("versionFrom(%q, %+v) = %q, want %q", tc.ldflags, tc.bi.Main, got, tc.want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	r := mailferry(t, nil, "--version")
	expectCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "mailferry version ") || strings.TrimSpace(strings.TrimPrefix(r.stdout, "mailferry version ")) == "" {
		t.Errorf("--version printed %q", r.stdout)
	}
}

func TestUnknownFlagSuggestion(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"copy", "--exlude", "x", "maildir:" + dir, "mbox:" + filepath.Join(dir, "b")}, "unknown option --exlude (did you mean --exclude?); see 'mailferry copy --help'"},
		{[]string{"copy", "maildir:" + dir, "mbox:" + filepath.Join(dir, "b"), "--dry-rn"}, "unknown option --dry-rn (did you mean --dry-run?)"},
		{[]string{"verify", "--mapp", "a=b", "maildir:" + dir, "mbox:" + dir}, "unknown option --mapp (did you mean --map?)"},
		{[]string{"--verison"}, "unknown option --verison (did you mean --version?); see 'mailferry --help'"},
		{[]string{"copy", "--zzzzzzzz", "a", "b"}, "unknown option --zzzzzzzz; see"},
	} {
		r := mailferry(t, nil, tc.args...)
		expectCode(t, r, 2)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("mailferry %q: stderr %q lacks %q", tc.args, r.stderr, tc.want)
		}
	}
	if got := flagProblem(errors.New("some other problem"), nil); got != "some other problem" {
		t.Errorf("flagProblem changed an unrelated error: %q", got)
	}
}

func TestFoldersTotalSingular(t *testing.T) {
	file := filepath.Join(t.TempDir(), "one.mbox")
	if err := os.WriteFile(file, []byte("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mailferry(t, nil, "folders", "mbox:"+file)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "total (1 folder) ") {
		t.Errorf("folders of one file:\n%s", r.stdout)
	}
}
