// Command fidelity checks that a store holds the benchmark corpus
// (sample.BenchMessage) exactly: every message once, in its folder, with
// its bytes, flags, keywords and arrival date. bench/run.sh runs it after
// every copy of every round, so a tool that is fast because it loses
// something shows as losing it.
//
//	fidelity -messages N -seed S [-huge] [-folder F] [-inbox] [-check LIST] maildir:DIR | mbox:FILE
//
// Messages are matched by Message-ID, which the corpus makes unique.
// Bytes are compared with LF line endings (the corpus is CRLF throughout,
// so nothing is lost by that); an mbox is read with one level of ">From "
// quoting removed, which undoes mboxo and mboxrd alike because the corpus
// has no line starting ">From ". -check names what to compare (default
// "folders,bytes,flags,keywords,dates"; POP3 copies carry only bytes). It
// prints one line and exits 0 when everything checked holds, 1 when
// something does not, 2 when the store cannot be read.
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/sample"
)

// want is what the store should hold of one corpus message.
type want struct {
	folder string
	digest [32]byte
	flags  []string // system flags, sorted
	kws    []string // keywords, sorted
	date   time.Time
	found  int
}

// stored is one message as a store holds it.
type stored struct {
	folder string
	body   []byte
	flags  []string // nil when the store cannot say (mbox)
	kws    []string
	date   time.Time // zero when the store cannot say
}

func main() {
	var o sample.BenchOptions
	flag.IntVar(&o.Messages, "messages", 10_000, "corpus size")
	flag.Int64Var(&o.Seed, "seed", 1, "corpus seed")
	flag.BoolVar(&o.Huge, "huge", true, "the corpus has the huge message")
	flag.StringVar(&o.Folder, "folder", "", "the corpus's one folder, if it has one")
	inbox := flag.Bool("inbox", false, "expect only the corpus's INBOX (a POP3 maildrop), in the store's INBOX")
	check := flag.String("check", "folders,bytes,flags,keywords,dates", "what to compare")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fidelity [options] maildir:DIR | mbox:FILE")
		os.Exit(2)
	}
	checks := map[string]bool{}
	for _, c := range strings.Split(*check, ",") {
		checks[c] = true
	}
	wants := expected(o, *inbox)
	var (
		msgs []stored
		err  error
	)
	switch kind, path, _ := strings.Cut(flag.Arg(0), ":"); kind {
	case "maildir":
		msgs, err = readMaildir(path)
	case "mbox":
		msgs, err = readMbox(path)
	default:
		err = fmt.Errorf("%q: not maildir:DIR or mbox:FILE", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fidelity:", err)
		os.Exit(2)
	}
	line, ok := compare(wants, msgs, checks)
	fmt.Println(line)
	if !ok {
		os.Exit(1)
	}
}

// expected makes the corpus one message at a time and keeps what the
// comparison needs.
func expected(o sample.BenchOptions, inboxOnly bool) map[string]*want {
	out := make(map[string]*want, o.Messages)
	for i := range o.Messages {
		m := sample.BenchMessage(o, i)
		if inboxOnly && m.Folder != "INBOX" {
			continue
		}
		w := &want{folder: m.Folder, digest: sha256.Sum256(formats.ToLF(m.Body)), date: m.Date}
		for _, f := range m.Flags {
			if strings.HasPrefix(f, `\`) {
				w.flags = append(w.flags, f)
			} else {
				w.kws = append(w.kws, f)
			}
		}
		sort.Strings(w.flags)
		sort.Strings(w.kws)
		out[sample.BenchMessageID(o, i)] = w
	}
	return out
}

// compare counts, per property, the messages that differ, and says so in
// one line ("2000 of 2000 messages; folders ok; bytes ok; flags ok;
// keywords 143 differ; dates ok").
func compare(wants map[string]*want, msgs []stored, checks map[string]bool) (string, bool) {
	bad := map[string]int{}
	unknown := 0
	for _, m := range msgs {
		w := wants[formats.MessageID(m.body[:formats.HeaderEnd(m.body)])]
		if w == nil {
			unknown++
			continue
		}
		w.found++
		if w.found > 1 {
			continue
		}
		if m.folder != w.folder {
			bad["folders"]++
		}
		if sha256.Sum256(formats.ToLF(m.body)) != w.digest {
			bad["bytes"]++
		}
		if !slices.Equal(m.flags, w.flags) {
			bad["flags"]++
		}
		if !slices.Equal(m.kws, w.kws) {
			bad["keywords"]++
		}
		if m.date.Unix() != w.date.Unix() {
			bad["dates"]++
		}
	}
	found, doubled := 0, 0
	for _, w := range wants {
		if w.found > 0 {
			found++
		}
		doubled += max(w.found-1, 0)
	}
	ok := found == len(wants) && doubled == 0 && unknown == 0
	parts := []string{fmt.Sprintf("%d of %d messages", found, len(wants))}
	if doubled > 0 {
		parts = append(parts, fmt.Sprintf("%d doubled", doubled))
	}
	if unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d not of the corpus", unknown))
	}
	for _, c := range []string{"folders", "bytes", "flags", "keywords", "dates"} {
		if !checks[c] {
			continue
		}
		if bad[c] == 0 {
			parts = append(parts, c+" ok")
		} else {
			parts = append(parts, fmt.Sprintf("%s %d differ", c, bad[c]))
			ok = false
		}
	}
	return strings.Join(parts, "; "), ok
}

// unquoteFrom removes one '>' from lines that start with ">From " after
// any number of '>'s.
func unquoteFrom(b []byte) []byte {
	if !bytes.Contains(b, []byte(">From ")) {
		return b
	}
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		if t := bytes.TrimLeft(line, ">"); len(t) < len(line) && bytes.HasPrefix(t, []byte("From ")) {
			line = line[1:]
		}
		out.Write(line)
	}
	return out.Bytes()
}
