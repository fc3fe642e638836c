package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/formats"
)

// maildirFlags are the Maildir info letters of the system flags.
var maildirFlags = map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}

// passed is the keyword the info letter 'P' stands for (as Dovecot and
// mutt read it).
const passed = "$Forwarded"

// readMaildir reads every folder under root: root itself is INBOX, and any
// directory below it with a cur/ is a folder named by its path, in any of
// the layouts the tools write (Maildir++ ".A.B", "A.B", nested "A/B"),
// levels decoded from Dovecot's listescape (\2e) and modified UTF-7.
// Keywords are the lowercase info letters, named by the folder's
// dovecot-keywords file. The arrival date is the file's mtime.
func readMaildir(root string) ([]stored, error) {
	var out []stored
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if fi, err := os.Stat(filepath.Join(path, "cur")); err != nil || !fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		folder, err := folderName(rel)
		if err != nil {
			return err
		}
		msgs, err := readFolder(path, folder)
		out = append(out, msgs...)
		return err
	})
	return out, err
}

func folderName(rel string) (string, error) {
	if rel == "." {
		return "INBOX", nil
	}
	rel = strings.TrimPrefix(filepath.ToSlash(rel), ".")
	var levels []string
	for _, l := range strings.FieldsFunc(rel, func(r rune) bool { return r == '.' || r == '/' }) {
		l = unescapeList(l)
		if dec, err := formats.DecodeMUTF7(l); err == nil {
			l = dec
		}
		levels = append(levels, l)
	}
	name := strings.Join(levels, "/")
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	return name, nil
}

// unescapeList undoes Dovecot's listescape: \hh is the byte 0xhh.
func unescapeList(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readFolder(dir, folder string) ([]stored, error) {
	kwNames, err := keywordNames(dir)
	if err != nil {
		return nil, err
	}
	var out []stored
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, sub, e.Name())
			body, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			fi, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			m := stored{folder: folder, body: dropHeaders(body, maildirStoreHeaders), date: fi.ModTime(), flags: []string{}, kws: []string{}}
			if i := strings.LastIndex(e.Name(), ":2,"); i >= 0 {
				for _, c := range []byte(e.Name()[i+3:]) {
					switch {
					case maildirFlags[c] != "":
						m.flags = append(m.flags, maildirFlags[c])
					case c == 'P':
						m.kws = append(m.kws, passed)
					case c >= 'a' && c <= 'z':
						name, ok := kwNames[int(c-'a')]
						if !ok {
							name = fmt.Sprintf("unnamed-%c", c)
						}
						m.kws = append(m.kws, name)
					}
				}
			}
			sort.Strings(m.flags)
			sort.Strings(m.kws)
			if len(m.flags) == 0 {
				m.flags = nil
			}
			if len(m.kws) == 0 {
				m.kws = nil
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// keywordNames reads dovecot-keywords ("N name" per line), if there is one.
func keywordNames(dir string) (map[int]string, error) {
	out := map[int]string{}
	f, err := os.Open(filepath.Join(dir, "dovecot-keywords"))
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		num, name, ok := strings.Cut(sc.Text(), " ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			out[n] = name
		}
	}
	return out, sc.Err()
}
