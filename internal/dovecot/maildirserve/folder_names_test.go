package maildirserve

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/dovecot"
)

// TestFolderPathsMatchDovecot has Dovecot create folders over IMAP and
// checks that formats.MaildirFolderPath names the directory Dovecot made
// and that formats.MaildirFolderName reads it back to the same name.
func TestFolderPathsMatchDovecot(t *testing.T) {
	t.Parallel()
	user := dovecot.User{Name: "names", Password: "pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}})
	c := s.Login(t, user)
	for _, name := range []string{
		"Archive", "Archive/2019", "Archive/a.b/c", "a.b", `back\slash`, `a\2eb`, ".hidden", "./x", "../x",
		"~home", "x/~y", "~a/~b/c~", "INBOX/Sub", "Entwürfe", "台北/日本語", "a&b", "Ä.ö", "p%q", "sp ace", "a*b",
	} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Errorf("CREATE %q: %v", name, err)
			continue
		}
		rel, err := formats.MaildirFolderPath(name, "")
		if err != nil {
			t.Errorf("MaildirFolderPath(%q): %v", name, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(s.MailDir(user.Name), rel, "cur")); err != nil {
			var made []string
			entries, _ := os.ReadDir(s.MailDir(user.Name))
			for _, e := range entries {
				if e.IsDir() && e.Name()[0] == '.' {
					made = append(made, e.Name())
				}
			}
			t.Errorf("folder %q: MaildirFolderPath gives %q, but Dovecot made no such directory; it has %q", name, rel, made)
			continue
		}
		if back, err := formats.MaildirFolderName(rel, ""); err != nil || back != name {
			t.Errorf("MaildirFolderName(%q) = %q, %v; want %q", rel, back, err, name)
		}
	}
}
