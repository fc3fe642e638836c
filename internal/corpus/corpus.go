// Package corpus loads mailferry's hostile test corpus: messages whose bytes,
// folders, flags and dates break careless mail stores (From_ lines, missing
// final newlines, CRLF and bare CR, 8-bit and NUL bytes, huge headers, a
// 3 MB attachment, folder names with dots, backslashes and non-ASCII
// letters, every flag, dates from 1998 to 2026 in many zones).
//
// The corpus lives in testdata/hostile at the module root: one file per
// message with its exact bytes, and manifest.json giving each message's
// folder, flags and arrival date. Large messages are generated
// deterministically instead of being committed.
package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// Message is one corpus message as a store should hold it.
type Message struct {
	// Name is the manifest entry's file (or generator) name, plus "#2",
	// "#3"… for further copies of the same file, so test failures can say
	// which case broke.
	Name string
	// Folder is the UTF-8, "/"-separated folder name ("INBOX" for the inbox).
	Folder string
	// Flags are IMAP flags and keywords as the manifest gives them.
	Flags []string
	// Date is the arrival time (INTERNALDATE).
	Date time.Time
	// Body is the exact message, in local form as stored on disk.
	Body []byte
	// Note says what makes the message hostile.
	Note string
}

// entry is one manifest.json record.
type entry struct {
	File     string   `json:"file"`
	Generate string   `json:"generate"`
	Folder   string   `json:"folder"`
	Flags    []string `json:"flags"`
	Date     string   `json:"date"`
	Note     string   `json:"note"`
}

type manifest struct {
	Messages []entry `json:"messages"`
}

// Dir returns the directory holding the hostile corpus: testdata/hostile at
// the module root. It looks next to this source file first (works for any
// test binary built from this checkout) and then upwards from the working
// directory for go.mod.
func Dir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "hostile")
		if fileExists(filepath.Join(dir, "manifest.json")) {
			return filepath.Clean(dir), nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("corpus: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			dir := filepath.Join(d, "testdata", "hostile")
			if fileExists(filepath.Join(dir, "manifest.json")) {
				return dir, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("corpus: testdata/hostile/manifest.json not found above " + wd)
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// Load returns the hostile corpus in manifest order.
func Load() ([]Message, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// LoadDir reads a corpus from dir/manifest.json and the files it names.
func LoadDir(dir string) ([]Message, error) {
	path := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var man manifest
	if err := json.Unmarshal(data, &man); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", path, err)
	}
	copies := make(map[string]int)
	msgs := make([]Message, 0, len(man.Messages))
	for i, e := range man.Messages {
		m, err := e.load(dir)
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: entry %d: %w", path, i+1, err)
		}
		copies[m.Name]++
		if n := copies[m.Name]; n > 1 {
			m.Name = fmt.Sprintf("%s#%d", m.Name, n)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func (e entry) load(dir string) (Message, error) {
	if e.Folder == "" {
		return Message{}, errors.New("no folder")
	}
	date, err := time.Parse(time.RFC3339, e.Date)
	if err != nil {
		return Message{}, fmt.Errorf("date: %w", err)
	}
	m := Message{Folder: e.Folder, Flags: append([]string(nil), e.Flags...), Date: date, Note: e.Note}
	switch {
	case e.File != "" && e.Generate != "":
		return Message{}, errors.New("both file and generate")
	case e.File != "":
		m.Name = e.File
		m.Body, err = os.ReadFile(filepath.Join(dir, e.File))
		if err != nil {
			return Message{}, err
		}
	case e.Generate != "":
		gen, ok := generators[e.Generate]
		if !ok {
			return Message{}, fmt.Errorf("unknown generator %q", e.Generate)
		}
		m.Name = e.Generate
		m.Body = gen()
	default:
		return Message{}, errors.New("neither file nor generate")
	}
	return m, nil
}

// Folders returns the distinct folders of msgs, sorted.
func Folders(msgs []Message) []string {
	set := make(map[string]bool)
	for _, m := range msgs {
		set[m.Folder] = true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// InFolder returns copies of msgs all placed in folder, for stores that
// hold a single folder (one mbox file).
func InFolder(msgs []Message, folder string) []Message {
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		m.Folder = folder
		out[i] = m
	}
	return out
}

// Without returns msgs minus those whose Name is in names.
func Without(msgs []Message, names ...string) []Message {
	drop := make(map[string]bool, len(names))
	for _, n := range names {
		drop[n] = true
	}
	var out []Message
	for _, m := range msgs {
		if !drop[m.Name] {
			out = append(out, m)
		}
	}
	return out
}
