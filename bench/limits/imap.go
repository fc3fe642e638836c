package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// imapConn is a logged-in IMAP connection.
type imapConn struct {
	c    *tls.Conn
	r    *bufio.Reader
	last string // the last line read, for errors
}

func imapLogin(o options) (*imapConn, error) {
	c, r, err := dial(o)
	if err != nil {
		return nil, err
	}
	ic := &imapConn{c: c, r: r}
	if _, err := readLine(r); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Fprintf(c, "l LOGIN %s %s\r\n", quote(o.user), quote(o.password))
	if _, _, err := ic.untilTagged("l"); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

func quote(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }

// untilTagged reads responses up to the one tagged tag, skipping literals;
// it returns the untagged lines (literals removed), and how many literal
// bytes went by.
func (ic *imapConn) untilTagged(tag string) ([]string, int64, error) {
	var (
		lines []string
		bytes int64
	)
	for {
		line, err := readLine(ic.r)
		if err != nil {
			return nil, 0, fmt.Errorf("%w (waiting for %s after %q)", err, tag, ic.last)
		}
		ic.last = line
		// A literal: {n}, then n bytes, then the rest of the response.
		for strings.HasSuffix(line, "}") {
			open := strings.LastIndexByte(line, '{')
			if open < 0 {
				break
			}
			n, err := strconv.ParseInt(line[open+1:len(line)-1], 10, 64)
			if err != nil {
				break
			}
			if _, err := io.CopyN(io.Discard, ic.r, n); err != nil {
				return nil, 0, fmt.Errorf("%w (in a literal of %d bytes after %q)", err, n, line)
			}
			bytes += n
			rest, err := readLine(ic.r)
			if err != nil {
				return nil, 0, fmt.Errorf("%w (after a literal, after %q)", err, line)
			}
			line = line[:open] + rest
		}
		if t, status, ok := strings.Cut(line, " "); ok && t == tag {
			if !strings.HasPrefix(status, "OK") {
				return nil, 0, fmt.Errorf("server: %s", line)
			}
			return lines, bytes, nil
		}
		lines = append(lines, line)
	}
}

// fetchAll reads every message of every folder, the folders spread over
// o.connections connections, each sending all its commands at once.
func fetchAll(o options) (int64, int64, error) {
	first, err := imapLogin(o)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(first.c, "L LIST \"\" \"*\"\r\n")
	lines, _, err := first.untilTagged("L")
	if err != nil {
		return 0, 0, err
	}
	var folders []string
	for _, l := range lines {
		// * LIST (attrs) "/" name
		if !strings.HasPrefix(l, "* LIST ") || strings.Contains(l, `\Noselect`) || strings.Contains(l, `\NonExistent`) {
			continue
		}
		rest := l[strings.IndexByte(l, ')')+2:]
		_, name, _ := strings.Cut(rest, " ")
		folders = append(folders, name) // sent back exactly as listed
	}
	conns := []*imapConn{first}
	for len(conns) < min(o.connections, len(folders)) {
		ic, err := imapLogin(o)
		if err != nil {
			return 0, 0, err
		}
		conns = append(conns, ic)
	}
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		msgs, total int64
		firstErr    error
	)
	for k, ic := range conns {
		wg.Go(func() {
			defer ic.c.Close()
			var mine []string
			for i := k; i < len(folders); i += len(conns) {
				mine = append(mine, folders[i])
			}
			w := bufio.NewWriter(ic.c)
			for i, f := range mine {
				fmt.Fprintf(w, "s%d EXAMINE %s\r\nf%d UID FETCH 1:* (BODY.PEEK[])\r\n", i, f, i)
			}
			// No LOGOUT behind the last FETCH: with one, the last answers
			// were now and then lost (EOF before them).
			err := w.Flush()
			var n, b int64
			for i := 0; err == nil && i < len(mine); i++ {
				if _, _, err = ic.untilTagged(fmt.Sprintf("s%d", i)); err != nil {
					break
				}
				var lines []string
				var lb int64
				lines, lb, err = ic.untilTagged(fmt.Sprintf("f%d", i))
				for _, l := range lines {
					if strings.Contains(l, " FETCH ") {
						n++
					}
				}
				b += lb
			}
			mu.Lock()
			defer mu.Unlock()
			msgs += n
			total += b
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return msgs, total, firstErr
}

// appendAll APPENDs every message file under o.maildir (a Maildir++ tree)
// to the folder of the same name, with LITERAL+. Folders are spread over
// o.connections connections so that each carries about as many bytes and
// no two append to one folder at once (which Dovecot serialises).
func appendAll(o options) (int64, int64, error) {
	byFolder := map[string][]string{}
	sizes := map[string]int64{}
	err := filepath.WalkDir(o.maildir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		if !d.Type().IsRegular() || (filepath.Base(dir) != "cur" && filepath.Base(dir) != "new") {
			return nil
		}
		rel, err := filepath.Rel(o.maildir, filepath.Dir(dir))
		if err != nil {
			return err
		}
		folder := imapName(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		byFolder[folder] = append(byFolder[folder], path)
		sizes[folder] += fi.Size()
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	folders := make([]string, 0, len(byFolder))
	for f := range byFolder {
		folders = append(folders, f)
	}
	sort.Slice(folders, func(i, j int) bool { return sizes[folders[i]] > sizes[folders[j]] })
	n := max(min(o.connections, len(folders)), 1)
	share := make([][]string, n) // folders per connection, largest first to the lightest
	load := make([]int64, n)
	for _, f := range folders {
		k := 0
		for i := range load {
			if load[i] < load[k] {
				k = i
			}
		}
		share[k] = append(share[k], f)
		load[k] += sizes[f]
	}
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		msgs, total int64
		firstErr    error
	)
	for k := range n {
		wg.Go(func() {
			m, b, err := appendFolders(o, share[k], byFolder)
			mu.Lock()
			defer mu.Unlock()
			msgs += m
			total += b
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return msgs, total, firstErr
}

// imapName is the IMAP name ("/"-separated, modified UTF-7 as on disk) of
// the Maildir++ folder directory rel.
func imapName(rel string) string {
	if rel == "." {
		return "INBOX"
	}
	return strings.ReplaceAll(strings.TrimPrefix(rel, "."), ".", "/")
}

// appendFolders sends, on one connection, a CREATE for each folder but
// INBOX and its files as APPEND commands of o.batch messages each (more
// than one: MULTIAPPEND, RFC 3502), without waiting: a writer sends, the
// reader counts the tagged answers.
func appendFolders(o options, folders []string, files map[string][]string) (int64, int64, error) {
	ic, err := imapLogin(o)
	if err != nil {
		return 0, 0, err
	}
	defer ic.c.Close()
	var tags []string
	written := make(chan error, 1)
	var total int64
	type job struct {
		folder string
		paths  []string // none: CREATE
	}
	var jobs []job
	batch := max(o.batch, 1)
	for _, f := range folders {
		if f != "INBOX" {
			tags = append(tags, fmt.Sprintf("c%d", len(tags)))
			jobs = append(jobs, job{folder: f})
		}
		paths := files[f]
		for len(paths) > 0 {
			n := min(batch, len(paths))
			tags = append(tags, fmt.Sprintf("a%d", len(tags)))
			jobs = append(jobs, job{folder: f, paths: paths[:n]})
			paths = paths[n:]
		}
	}
	go func() {
		w := bufio.NewWriterSize(ic.c, 256<<10)
		for i, j := range jobs {
			if len(j.paths) == 0 {
				fmt.Fprintf(w, "%s CREATE %s\r\n", tags[i], quote(j.folder))
				continue
			}
			fmt.Fprintf(w, "%s APPEND %s", tags[i], quote(j.folder))
			for _, path := range j.paths {
				n, err := appendLiteral(w, path)
				if err != nil {
					written <- err
					return
				}
				total += n
			}
			w.WriteString("\r\n")
		}
		written <- w.Flush()
	}()
	appended := int64(0)
	for i, tag := range tags {
		if _, _, err := ic.untilTagged(tag); err != nil {
			// Dovecot may remember a folder of an earlier round whose
			// files were removed: it is there to append to.
			if len(jobs[i].paths) == 0 && strings.Contains(err.Error(), "[ALREADYEXISTS]") {
				continue
			}
			return appended, 0, err
		}
		appended += int64(len(jobs[i].paths))
	}
	if err := <-written; err != nil {
		return appended, 0, err
	}
	return appended, total, nil
}

// appendLiteral writes " {size+}" CRLF and the file at path, one message
// of an APPEND command.
func appendLiteral(w *bufio.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(w, " {%d+}\r\n", fi.Size())
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
