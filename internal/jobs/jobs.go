// Package jobs reads the jobs file of `mailferry run`: named jobs, each a
// source, a destination and options spelled as the copy command's flags,
// with defaults shared by all of them; an accounts CSV that expands one job
// into a job per row; and the stable assignment of jobs to shards.
//
// The package knows no option by name: the caller describes the options a
// job may set (Keys, derived from the copy command's own flags), and gets
// back each job's options as text with the file and line they came from,
// so that a value the caller later rejects can still be traced to its line.
package jobs

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mailferry/mailferry/internal/spelling"
)

// Kind is the type of an option's value.
type Kind int

// The kinds of option values, as the command line has them.
const (
	String   Kind = iota // one text value
	List                 // repeatable: a YAML list, or one value
	Bool                 // true or false
	Int                  // a whole number
	Float                // a number
	Duration             // a Go duration: 30s, 2m, 1h30m
)

func (k Kind) String() string {
	switch k {
	case List:
		return "a list of strings"
	case Bool:
		return "true or false"
	case Int:
		return "a whole number"
	case Float:
		return "a number"
	case Duration:
		return "a duration such as 30s or 2m"
	}
	return "a string"
}

// Keys are the options a job may set, by name, with the kind of value each
// takes.
type Keys map[string]Kind

// Keys a job has besides its options.
const (
	KeyName           = "name"
	KeySource         = "source"
	KeyDestination    = "destination"
	KeyAccounts       = "accounts"
	KeySourcePassword = "source-password" // inline, accepted with a warning
	KeyDestPassword   = "dest-password"
)

// Where is a place in a file.
type Where struct {
	File string
	Line int
}

func (w Where) String() string {
	if w.Line == 0 {
		return w.File
	}
	return fmt.Sprintf("%s:%d", w.File, w.Line)
}

// Option is one option of a job: its key, its value (several for a List,
// "true" or "false" for a Bool) and where it was given.
type Option struct {
	Key    string
	Values []string
	Where  Where
}

// Job is one copy to run.
type Job struct {
	// Name identifies the job: in --job, in output, in shard assignment
	// and locks. A job expanded from an accounts file is named
	// TEMPLATE/ROW (its row's name, else its source or destination user).
	Name string
	// Template is the name of the job an accounts file expanded, "" for a
	// job written out in the jobs file.
	Template string
	// Where is the job's entry in the jobs file, or its accounts row.
	Where Where
	// Source and Destination are the endpoints, as the copy command takes
	// them.
	Source, Destination Option
	// Options are the job's options merged over the defaults, sorted by key.
	Options []Option
	// SourcePassword and DestPassword are inline passwords (discouraged;
	// each gives a warning when the file is read).
	SourcePassword, DestPassword string
}

// Option returns the job's option key.
func (j *Job) Option(key string) (Option, bool) {
	for _, o := range j.Options {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// Error is a problem in a jobs or accounts file, located to a line and,
// where there is one, a job and key.
type Error struct {
	Where Where
	Job   string
	Key   string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Where.String())
	b.WriteString(": ")
	if e.Job != "" {
		fmt.Fprintf(&b, "job %q: ", e.Job)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors is how many problems one reading of a file reports: enough to
// fix several at once, few enough to read.
const maxErrors = 20

// problems collects the errors found in a file.
type problems struct{ list []error }

func (p *problems) add(w Where, job, key, format string, args ...any) {
	if len(p.list) < maxErrors {
		p.list = append(p.list, &Error{Where: w, Job: job, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) err() error { return errors.Join(p.list...) }

// validName reports whether s can name a job: it is used in --job, in
// file names (through a hash) and in labels, so it is kept to letters,
// digits and a few marks, and cannot look like an option.
func validName(s string) bool {
	if s == "" || len(s) > 200 || !alnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !alnum(s[i]) && !strings.ContainsRune("._@+=/-", rune(s[i])) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// suggest returns the known key closest to key, when it is close enough to
// be a typo.
func suggest(key string, known []string) string { return spelling.Closest(key, known, 3) }

// names lists the names of keys in order, with extra (the job's own keys).
func (k Keys) names(extra ...string) []string {
	out := append([]string(nil), extra...)
	for name := range k {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Select returns the jobs named by names: a job's own name, or the name of
// the template an accounts file expanded (all its rows). No names selects
// every job. A name that selects nothing is an error listing the names.
func Select(all []Job, names []string) ([]Job, error) {
	if len(names) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = false
	}
	var out []Job
	for _, j := range all {
		hit := false
		for _, n := range []string{j.Name, j.Template} {
			if _, ok := want[n]; ok && n != "" {
				want[n] = true
				hit = true
			}
		}
		if hit {
			out = append(out, j)
		}
	}
	var missing []string
	for _, n := range names {
		if !want[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--job %s: no such job (the jobs are %s)", strings.Join(missing, ", "), listNames(all))
	}
	return out, nil
}

// listNames names the jobs (the templates of expanded ones) for a message,
// at most ten of them.
func listNames(all []Job) string {
	seen := map[string]bool{}
	var names []string
	for _, j := range all {
		n := j.Name
		if j.Template != "" {
			n = j.Template
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}
