package mboxserve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/sink/mbox"
	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// stored is one message handed to the sink.
type stored struct {
	name   string
	folder string
	flags  []string // as the mbox keeps them
	date   time.Time
	body   []byte
}

// files is where the sink puts each corpus folder: the layout Dovecot's
// mbox driver reads. Archive holds messages and a subfolder, which an mbox
// directory cannot hold under one name, so the subfolder goes into
// Archive.sbd (documented in the README).
var files = map[string]string{
	"INBOX":        "INBOX",
	"Archive":      "Archive",
	"Archive/2019": "Archive.sbd/2019",
	"Entwürfe":     "Entw&APw-rfe",
	"日本語/テスト":      "&ZeVnLIqe-/&MMYwuTDI-",
	"a.b":          "a.b",
	`back\slash`:   `back\slash`,
}

// writeArchive writes the hostile corpus (the Content-Length liar
// included) into dir with sink/mbox and returns the messages per file.
func writeArchive(t *testing.T, dir string) map[string][]stored {
	t.Helper()
	msgs, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := mbox.New(dir, mbox.Options{Warn: func(w string) { t.Errorf("sink warning: %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]stored{}
	ctx := context.Background()
	for i, m := range msgs {
		keep, _ := formats.SplitMboxFlags(m.Flags)
		tm := transfer.Message{Folder: m.Folder, ID: fmt.Sprint(i), Flags: keep, Date: m.Date, Size: int64(len(m.Body))}
		if err := s.Put(ctx, tm, bytes.NewReader(m.Body)); err != nil {
			t.Fatalf("Put %s: %v", m.Name, err)
		}
		file, ok := files[m.Folder]
		if !ok {
			t.Fatalf("corpus folder %q has no expected file; add it to files", m.Folder)
		}
		out[file] = append(out[file], stored{m.Name, m.Folder, keep, m.Date.UTC().Truncate(time.Second), m.Body})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(msgs, func(m corpus.Message) bool { return m.Name == "content-length-liar.eml" }) {
		t.Fatal("the corpus lacks the Content-Length liar")
	}
	return out
}

// storeHeaders are the fields the README says a message's own copy of is
// renamed with an X-Original- prefix.
var storeHeaders = []string{"status", "x-status", "x-keywords", "content-length", "x-uid", "x-imap", "x-imapbase",
	"x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys", "x-mailferry-frame"}

// foreignView is the message as the README says other programs read it:
// its own store headers renamed, every ^>*From line with one more '>', and
// a final line feed. Written from the README, not from the writer's code.
func foreignView(body []byte) []byte {
	var out []byte
	inHeader := true
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if inHeader && (string(line) == "\n" || string(line) == "\r\n") {
			inHeader = false
		}
		if inHeader && line[0] != ' ' && line[0] != '\t' {
			if name, _, ok := bytes.Cut(line, []byte(":")); ok {
				n := strings.ToLower(strings.TrimRight(string(name), " \t"))
				for strings.HasPrefix(n, "x-original-") {
					n = n[len("x-original-"):]
				}
				if slices.Contains(storeHeaders, n) {
					line = append([]byte("X-Original-"), line...)
				}
			}
		}
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			line = append([]byte(">"), line...)
		}
		out = append(out, line...)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// flagLines splits the flag header lines mailferry wrote (X-IMAPbase,
// Status, X-Status, X-Keywords, in the header) from a message as a reader
// gives it.
func flagLines(msg []byte) (rest []byte, fields map[string]string) {
	fields = map[string]string{}
	inHeader := true
	for _, line := range bytes.SplitAfter(msg, []byte("\n")) {
		if inHeader && (string(line) == "\n" || string(line) == "\r\n") {
			inHeader = false
		}
		if inHeader {
			found := false
			for _, f := range []string{"X-IMAPbase", "Status", "X-Status", "X-Keywords"} {
				if v, ok := bytes.CutPrefix(line, []byte(f+": ")); ok {
					fields[f] = string(bytes.TrimRight(v, "\r\n"))
					found = true
				}
			}
			if found {
				continue
			}
		}
		rest = append(rest, line...)
	}
	return rest, fields
}

// wantFields are the flag headers the README says a message carries.
func wantFields(flags []string) map[string]string {
	f := map[string]string{"Status": "O"}
	var xs string
	var kw []string
	flags = formats.NormalizeFlags(flags)
	for _, x := range []struct{ flag, letter string }{{`\Answered`, "A"}, {`\Flagged`, "F"}, {`\Draft`, "T"}, {`\Deleted`, "D"}} {
		if slices.Contains(flags, x.flag) {
			xs += x.letter
		}
	}
	for _, fl := range flags {
		if fl == `\Seen` {
			f["Status"] = "RO"
		} else if !formats.IsSystemFlag(fl) {
			kw = append(kw, fl)
		}
	}
	if xs != "" {
		f["X-Status"] = xs
	}
	if len(kw) > 0 {
		f["X-Keywords"] = strings.Join(kw, " ")
	}
	return f
}

// checkMessage compares message i of a file as a reader gave it with what
// was stored: the bytes after the flag headers, and the flag headers. The
// first message of a file also carries the X-IMAPbase header the README
// describes, listing every keyword of the file's messages.
func checkMessage(t *testing.T, reader, file string, i int, got []byte, want stored, all []stored) {
	t.Helper()
	rest, fields := flagLines(got)
	if w := foreignView(want.body); !bytes.Equal(rest, w) {
		t.Errorf("%s: %s message %d (%s): bytes differ\n got %.300q\nwant %.300q", reader, file, i, want.name, rest, w)
	}
	base, hasBase := fields["X-IMAPbase"]
	delete(fields, "X-IMAPbase")
	if hasBase != (i == 0) {
		t.Errorf("%s: %s message %d (%s): X-IMAPbase %q; want one in the first message only", reader, file, i, want.name, base)
	}
	if i == 0 {
		var kws []string
		for _, m := range all {
			for _, f := range m.flags {
				if !formats.IsSystemFlag(f) && !slices.Contains(kws, f) {
					kws = append(kws, f)
				}
			}
		}
		parts := strings.Fields(base)
		if len(parts) < 2 || len(parts[1]) != 10 || !slices.Equal(parts[2:], kws) || strings.TrimRight(base, " ") == base {
			t.Errorf("%s: %s: X-IMAPbase %q; want UIDVALIDITY, a 10-digit last UID, the keywords %q and room after them", reader, file, base, kws)
		}
	}
	if w := wantFields(want.flags); !maps(fields, w) {
		t.Errorf("%s: %s message %d (%s): flag headers %q, want %q", reader, file, i, want.name, fields, w)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// need returns the path of a program the test runs; it fails (never skips)
// when it is missing: .ci/run installs it.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (Debian/Ubuntu: apt-get install %s; .ci/run installs it): %v", name, name, err)
	}
	return p
}

// TestPythonMailboxReadsArchive: Python's mailbox module finds every
// message in every file, byte for byte after the flag headers, with the
// flags mailferry wrote.
func TestPythonMailboxReadsArchive(t *testing.T) {
	t.Parallel()
	python := need(t, "python3")
	dir := filepath.Join(t.TempDir(), "mail")
	want := writeArchive(t, dir)
	args := []string{filepath.Join("testdata", "read_mbox.py")}
	for file := range want {
		args = append(args, filepath.Join(dir, filepath.FromSlash(file)))
	}
	cmd := exec.Command(python, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 read_mbox.py: %v", err)
	}
	var got map[string][]struct {
		Bytes    string `json:"bytes"`
		Flags    string `json:"flags"`
		Keywords string `json:"keywords"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output: %v", err)
	}
	total := 0
	for file, msgs := range want {
		g := got[filepath.Join(dir, filepath.FromSlash(file))]
		if len(g) != len(msgs) {
			t.Errorf("python: %s holds %d messages, want %d", file, len(g), len(msgs))
			continue
		}
		for i, m := range msgs {
			b, err := base64.StdEncoding.DecodeString(g[i].Bytes)
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, "python", file, i, b, m, msgs)
			// mboxMessage's own reading of Status and X-Status.
			w := wantFields(m.flags)
			if letters(g[i].Flags) != letters(w["Status"]+w["X-Status"]) || g[i].Keywords != w["X-Keywords"] {
				t.Errorf("python: %s message %d (%s): flags %q keywords %q, want %q %q", file, i, m.name, g[i].Flags, g[i].Keywords, w["Status"]+w["X-Status"], w["X-Keywords"])
			}
		}
		total += len(g)
	}
	t.Logf("python3 mailbox read %d messages in %d files", total, len(want))
}

func letters(s string) string {
	b := []byte(s)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// muttSep separates the messages mutt pipes out.
const muttSep = "\n==MAILFERRY-MUTT-SEP==\n"

// TestMuttReadsArchive: mutt, run headless on a terminal that script(1)
// provides, tags every message of each file and pipes each one out raw:
// every message is there once (the Content-Length liar does not become two),
// byte for byte after the flag headers.
func TestMuttReadsArchive(t *testing.T) {
	t.Parallel()
	mutt := need(t, "mutt")
	script := need(t, "script")
	work := t.TempDir()
	dir := filepath.Join(work, "mail")
	want := writeArchive(t, dir)
	total := 0
	for file, msgs := range want {
		got := muttMessages(t, mutt, script, work, filepath.Join(dir, filepath.FromSlash(file)))
		if len(got) != len(msgs) {
			t.Errorf("mutt: %s holds %d messages, want %d", file, len(got), len(msgs))
			continue
		}
		for i, m := range msgs {
			from, rest, _ := bytes.Cut(got[i], []byte("\n"))
			if !bytes.HasPrefix(from, []byte("From ")) {
				t.Errorf("mutt: %s message %d does not start with its From_ line: %.80q", file, i, got[i])
				continue
			}
			checkMessage(t, "mutt", file, i, muttHeaderEnd(rest, m.body), m, msgs)
		}
		total += len(got)
	}
	t.Logf("mutt read %d messages in %d files", total, len(want))
}

// muttHeaderEnd undoes the one change mutt's raw copy makes: it ends every
// header with a blank line "\n", even when the message's blank line is
// "\r\n" or it has none. That is how mutt copies, not how it reads, so the
// test puts the original back.
func muttHeaderEnd(got, orig []byte) []byte {
	blank := bytes.HasPrefix(orig, []byte("\n")) || bytes.HasPrefix(orig, []byte("\r\n")) ||
		bytes.Contains(orig, []byte("\n\n")) || bytes.Contains(orig, []byte("\n\r\n"))
	if !blank && bytes.HasSuffix(got, []byte("\n\n")) {
		return got[:len(got)-1]
	}
	end := formats.HeaderEnd(orig)
	if end < 2 || string(orig[end-2:end]) != "\r\n" || bytes.Equal(orig[end-4:end], []byte("\r\n\r\n")) == false {
		return got
	}
	i := bytes.Index(got, []byte("\n\n"))
	if i < 0 {
		return got
	}
	return append(append(append([]byte{}, got[:i+1]...), "\r\n"...), got[i+2:]...)
}

// muttMessages runs mutt on one mbox file and returns the messages it sees,
// each as mutt copies it raw (From_ line, header, body).
func muttMessages(t *testing.T, mutt, script, work, file string) [][]byte {
	t.Helper()
	out := filepath.Join(work, "mutt-out")
	os.Remove(out)
	home := t.TempDir()
	rc := filepath.Join(work, "muttrc")
	// Every folder setting points at existing places, so mutt asks no
	// question that would eat the keys pushed below.
	conf := strings.Join([]string{
		"set folder=" + work,
		"set spoolfile=" + file,
		"set mbox=" + filepath.Join(work, "mutt-mbox"),
		"set postponed=" + filepath.Join(work, "mutt-postponed"),
		`set record=""`,
		"set move=no",
		"set read_only=yes",
		"set mbox_type=mbox",
		"set sort=mailbox-order",
		"set wait_key=no",
		"set pipe_split=yes",
		"set pipe_decode=no",
		`set pipe_sep="` + strings.ReplaceAll(muttSep, "\n", `\n`) + `"`,
		`push "<tag-pattern>~A<enter><tag-prefix><pipe-message>cat >> ` + shellQuote(out) + `<enter><exit>"`,
	}, "\n") + "\n"
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// script(1) runs the command through a shell: the file names (with
	// '&' and '\' in them) are quoted.
	cmd := exec.CommandContext(ctx, script, "-qec", fmt.Sprintf("%s -n -F %s -f %s", shellQuote(mutt), shellQuote(rc), shellQuote(file)), os.DevNull)
	cmd.Env = []string{"HOME=" + home, "TERM=xterm", "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mutt on %s: %v\n%.500q", file, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("mutt on %s piped nothing: %v", file, err)
	}
	if !bytes.HasSuffix(data, []byte(muttSep)) {
		t.Fatalf("mutt output for %s does not end with the separator: %.200q", file, data[max(len(data)-200, 0):])
	}
	parts := bytes.Split(data[:len(data)-len(muttSep)], []byte(muttSep))
	return parts
}

// TestDovecotServesArchive: Dovecot's mbox driver, configured as the README
// says (mail_location = mbox:DIR:INBOX=DIR/INBOX), lists the folders under
// their names, and serves every message with its bytes, system flags and
// arrival date, and the keywords: the X-IMAPbase header of each file's
// first message lists them, as Dovecot needs. It hides the flag headers
// itself, so BODY[] is what other readers see without them, in network
// form.
func TestDovecotServesArchive(t *testing.T) {
	t.Parallel()
	user := dovecot.User{Name: "backup", Password: "pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}, Mbox: true})
	want := writeArchive(t, s.MboxDir(user.Name))
	written := map[string][]byte{}
	for file := range want {
		b, err := os.ReadFile(filepath.Join(s.MboxDir(user.Name), filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		written[file] = b
	}
	if err := s.ChownMail(user.Name); err != nil {
		t.Fatal(err)
	}
	c := s.Login(t, user)
	selectable := dovecot.Selectable(t, c)
	var wantNames []string
	for folder, file := range files {
		name := folder
		if file == "Archive.sbd/2019" {
			name = file // the README's exception
		}
		wantNames = append(wantNames, name)
	}
	sort.Strings(wantNames)
	if !slices.Equal(selectable, wantNames) {
		t.Errorf("Dovecot lists %q, want %q (no state file, no .mailferry.lock)", selectable, wantNames)
	}
	total := 0
	for folder, file := range files {
		name := folder
		if file == "Archive.sbd/2019" {
			name = file
		}
		msgs := want[file]
		if _, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Errorf("EXAMINE %q: %v", name, err)
			continue
		}
		section := &imap.FetchItemBodySection{Peek: true}
		got, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		if err != nil {
			t.Errorf("FETCH %q: %v", name, err)
			continue
		}
		if len(got) != len(msgs) {
			t.Errorf("dovecot: %q holds %d messages, want %d", name, len(got), len(msgs))
			continue
		}
		for i, m := range msgs {
			if w := dovecotBody(foreignView(m.body)); !bytes.Equal(got[i].FindBodySection(section), w) {
				t.Errorf("dovecot: %q message %d (%s): BODY[] differs\n got %.300q\nwant %.300q", name, i, m.name, got[i].FindBodySection(section), w)
			}
			var flags []string
			for _, f := range got[i].Flags {
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			wantFlags := m.flags
			if !slices.Equal(formats.NormalizeFlags(flags), formats.NormalizeFlags(wantFlags)) {
				t.Errorf("dovecot: %q message %d (%s): FLAGS %q, want %q", name, i, m.name, flags, wantFlags)
			}
			if got[i].InternalDate.Unix() != m.date.Unix() {
				t.Errorf("dovecot: %q message %d (%s): INTERNALDATE %v, want %v", name, i, m.name, got[i].InternalDate, m.date)
			}
		}
		total += len(got)
	}
	t.Logf("dovecot served %d messages in %d folders", total, len(files))
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}

	// Dovecot rewrites the files it serves (adding its X-UID headers);
	// they still hold every message with its flags and keywords, and
	// mailferry's reader gives them back exactly, but for one change
	// Dovecot makes: the blank line after a CRLF header becomes LF.
	for file, msgs := range want {
		p := filepath.Join(s.MboxDir(user.Name), filepath.FromSlash(file))
		if b, err := os.ReadFile(p); err == nil && !bytes.Equal(b, written[file]) {
			t.Logf("dovecot rewrote %s", file)
		}
		got := readBack(t, p)
		if len(got) != len(msgs) {
			t.Errorf("after dovecot: %s holds %d messages, want %d", file, len(got), len(msgs))
			continue
		}
		for i, m := range msgs {
			body := m.body
			if len(body) > 0 && body[len(body)-1] != '\n' {
				body = append(append([]byte{}, body...), '\n')
			}
			lfBlank := bytes.Replace(body, []byte("\r\n\r\n"), []byte("\r\n\n"), 1)
			if !(bytes.Equal(got[i].body, body) || bytes.Equal(got[i].body, lfBlank)) || !slices.Equal(got[i].flags, formats.NormalizeFlags(m.flags)) {
				t.Errorf("after dovecot: %s message %d (%s): flags %q, want %q; bytes\n got %.400q\nwant %.400q", file, i, m.name, got[i].flags, m.flags, got[i].body, body)
			}
		}
	}
}

// TestDovecotShowsKeywordsOfALaterRun: a run into an archive that Dovecot
// has served (and rewritten) adds a message with a keyword the file did
// not have; the X-IMAPbase list takes it in place, and Dovecot shows it.
func TestDovecotShowsKeywordsOfALaterRun(t *testing.T) {
	t.Parallel()
	user := dovecot.User{Name: "later", Password: "pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}, Mbox: true})
	dir := s.MboxDir(user.Name)
	add := func(id, subject string, flags []string) {
		t.Helper()
		sink, err := mbox.New(dir, mbox.Options{Warn: func(w string) { t.Errorf("sink warning: %s", w) }})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte("Subject: " + subject + "\n\nx\n")
		m := transfer.Message{Folder: "INBOX", ID: id, Flags: flags, Date: time.Unix(1700000000, 0), Size: int64(len(body))}
		if err := sink.Put(context.Background(), m, bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if err := sink.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.ChownMail(user.Name); err != nil {
			t.Fatal(err)
		}
	}
	flags := func() [][]string {
		t.Helper()
		c := s.Login(t, user)
		defer func() { c.Logout().Wait() }()
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("EXAMINE INBOX: %v", err)
		}
		got, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
		if err != nil {
			t.Fatalf("FETCH: %v", err)
		}
		var out [][]string
		for _, m := range got {
			var fl []string
			for _, f := range m.Flags {
				if f != `\Recent` {
					fl = append(fl, string(f))
				}
			}
			out = append(out, formats.NormalizeFlags(fl))
		}
		return out
	}
	add("1", "first", []string{`\Seen`, "Work"})
	if got := flags(); len(got) != 1 || !slices.Equal(got[0], []string{"Work", `\Seen`}) {
		t.Fatalf("first run: Dovecot shows %q", got)
	}
	add("2", "later", []string{"Later", "$Forwarded"})
	want := [][]string{{"Work", `\Seen`}, {"$Forwarded", "Later"}}
	if got := flags(); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("after a later run: Dovecot shows %q, want %q", got, want)
	}
}

// readBack reads an mbox file with mailferry's source, in file order.
func readBack(t *testing.T, path string) []stored {
	t.Helper()
	src, err := srcmbox.Open(path, srcmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	list, err := src.List(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	err = src.Fetch(context.Background(), "INBOX", list, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		out = append(out, stored{flags: m.Flags, body: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dovecotBody is what Dovecot serves for a message in an mbox file: CRLF
// line endings and NUL as 0x80.
func dovecotBody(b []byte) []byte {
	return bytes.ReplaceAll(formats.ToCRLF(b), []byte{0}, []byte{0x80})
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
