package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestQuickstart runs every command of docs/quickstart.md, block by block
// as a user pastes it, against the demo's in-process servers: the lines
// that set the account variables and passwords are replaced by the demo's
// accounts, everything else runs as written, and must exit 0.
func TestQuickstart(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "quickstart.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("docs/quickstart.md has %d sh blocks, want one per job and more", len(blocks))
	}
	setting := regexp.MustCompile(`^(OLD|NEW|POP|BACKUP|ARCHIVE)=|^export MAILFERRY_`)
	env := testEnv(t, nil)
	dir := filepath.Join(t.TempDir(), "demo")
	runDemo(t, env, dir, func(out string) {
		url := func(label string) string {
			m := regexp.MustCompile(`(?m)^  ` + label + ` +(\S+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("demo output names no %s server:\n%s", label, out)
			}
			return m[1]
		}
		pw, err := os.ReadFile(filepath.Join(dir, "demo-password"))
		if err != nil {
			t.Fatal(err)
		}
		password := strings.TrimSpace(string(pw))
		accounts := append(env[:len(env):len(env)],
			"PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"OLD="+url("old provider"), "NEW="+url("new provider"), "POP="+url("POP3"),
			"BACKUP="+filepath.Join(t.TempDir(), "backup"), "ARCHIVE="+filepath.Join(dir, "old-archive.mbox"),
			"MAILFERRY_SOURCE_PASSWORD="+password, "MAILFERRY_DEST_PASSWORD="+password)
		ran := 0
		for _, b := range blocks {
			var script []string
			for _, line := range strings.Split(b[1], "\n") {
				if setting.MatchString(line) {
					continue
				}
				script = append(script, line)
				if strings.HasPrefix(line, "mailferry ") {
					ran++
				}
			}
			cmd := exec.Command("sh", "-ec", strings.Join(script, "\n"))
			cmd.Env = accounts
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("quickstart block\n%s\nfailed: %v\n%s", strings.Join(script, "\n"), err, b)
			}
		}
		if ran < 10 {
			t.Errorf("ran %d quickstart commands, want every one (10 or more)", ran)
		}
	})
}
