package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mailferry/mailferry/internal/plural"
)

// runOutput is where the jobs of a run print: each job's lines carry its
// name (a prefix, or with --json a "job" field), whole lines at a time,
// so jobs side by side do not mix within a line.
type runOutput struct {
	json, quiet    bool
	stdout, stderr io.Writer
	mu             *sync.Mutex // one line at a time over all jobs
}

func newRunOutput(jsonLines, quiet bool, stdout, stderr io.Writer) runOutput {
	return runOutput{json: jsonLines, quiet: quiet, stdout: stdout, stderr: stderr, mu: &sync.Mutex{}}
}

// forJob returns the stdout and stderr of job name.
func (r runOutput) forJob(name string) (stdout, stderr *lineWriter) {
	prefix := []byte("[" + safeText(name) + "] ")
	stdout = &lineWriter{out: r.mu, w: r.stdout, prefix: prefix}
	if r.json {
		field, _ := json.Marshal(name)
		stdout.jsonField = append(append([]byte(`"job":`), field...), ',')
	}
	stderr = &lineWriter{out: r.mu, w: r.stderr, prefix: prefix}
	return stdout, stderr
}

// lineWriter passes whole lines on to w, each marked with its job. It is
// safe for concurrent use.
type lineWriter struct {
	out       *sync.Mutex
	w         io.Writer
	prefix    []byte // before a text line
	jsonField []byte // inserted into a JSON line, after its {

	mu  sync.Mutex
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i+1])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// Flush passes on a last line without its line end.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(append(l.buf, '\n'))
		l.buf = nil
	}
}

func (l *lineWriter) emit(line []byte) {
	var out []byte
	if l.jsonField != nil && len(line) > 2 && line[0] == '{' {
		out = append(append([]byte{'{'}, l.jsonField...), line[1:]...)
		if line[1] == '}' { // {} has no field to put a comma before
			out = append(append([]byte{'{'}, bytes.TrimSuffix(l.jsonField, []byte{','})...), line[1:]...)
		}
	} else {
		out = append(append([]byte(nil), l.prefix...), line...)
	}
	l.out.Lock()
	defer l.out.Unlock()
	_, _ = l.w.Write(out)
}

// status names an outcome in a word or two.
func (o jobOutcome) status() string {
	if !o.Started {
		return "not started"
	}
	switch o.Code {
	case exitOK:
		return "done"
	case exitPartial:
		return "some messages failed"
	case exitMonitoring:
		return "done, metrics or report not recorded"
	case exitUsage:
		return "configuration error"
	case exitInterrupted:
		return "interrupted"
	case exitTerminated:
		return "stopped"
	}
	return "failed"
}

type jsonJob struct {
	Type    string  `json:"type"`
	Job     string  `json:"job"`
	Status  string  `json:"status"`
	Exit    int     `json:"exit"`
	Copied  int     `json:"copied"`
	Skipped int     `json:"skipped"`
	Failed  int     `json:"failed"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

type jsonRunSummary struct {
	Type    string  `json:"type"`
	Jobs    int     `json:"jobs"`
	Done    int     `json:"done"`
	NotDone int     `json:"not_done"`
	Copied  int     `json:"copied"`
	Skipped int     `json:"skipped"`
	Failed  int     `json:"failed"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Exit    int     `json:"exit"`
}

// total prints a line per job and the run's total (with -q only what did
// not finish cleanly), and returns the run's outcome: the worst of its
// jobs'.
func (r runOutput) total(outcomes []jobOutcome) error {
	runErr := worst(outcomes)
	sum := jsonRunSummary{Type: "run-summary", Jobs: len(outcomes), Exit: exitCode(runErr)}
	var first, last time.Time
	for _, o := range outcomes {
		s := o.Summary
		sum.Copied += s.Copied
		sum.Skipped += s.Skipped
		sum.Failed += s.Failed
		sum.Bytes += s.Bytes
		if o.Code == exitOK {
			sum.Done++
		}
		if o.Started && (first.IsZero() || o.Start.Before(first)) {
			first = o.Start
		}
		if o.End.After(last) {
			last = o.End
		}
		if r.json {
			j := jsonJob{Type: "job", Job: o.Job, Status: o.status(), Exit: o.Code, Copied: s.Copied, Skipped: s.Skipped,
				Failed: s.Failed, Bytes: s.Bytes, Seconds: roundSeconds(s.Seconds)}
			if o.Err != nil {
				j.Error = o.Err.Error()
			}
			r.line(j)
			continue
		}
		if r.quiet && o.Code == exitOK {
			continue
		}
		fmt.Fprintf(r.stdout, "job %s: %s", safeText(o.Job), o.status())
		if o.Code != exitOK {
			fmt.Fprintf(r.stdout, " (exit %d)", o.Code)
		}
		if o.Started {
			fmt.Fprintf(r.stdout, ": copied %s (%s), skipped %d, failed %d in %.1fs", plural.Count(s.Copied, "message"), formatBytes(s.Bytes), s.Skipped, s.Failed, s.Seconds)
		}
		fmt.Fprintln(r.stdout)
	}
	sum.NotDone = sum.Jobs - sum.Done
	if !first.IsZero() {
		sum.Seconds = roundSeconds(last.Sub(first).Seconds())
	}
	switch {
	case r.json:
		r.line(sum)
	case r.quiet && runErr == nil:
	default:
		fmt.Fprintf(r.stdout, "total: %s, %d done, %d not done: copied %s (%s), skipped %d, failed %d in %.1fs\n",
			plural.Count(sum.Jobs, "job"), sum.Done, sum.NotDone, plural.Count(sum.Copied, "message"), formatBytes(sum.Bytes), sum.Skipped, sum.Failed, sum.Seconds)
	}
	return runErr
}

// checked prints what run --check found: the jobs this run would run, and
// how many cannot read a password file (listed on stderr).
func (r runOutput) checked(path string, planned []plannedJob, shard shardSpec, unreadable int) {
	if r.quiet {
		return
	}
	slice := ""
	if shard.N > 0 {
		slice = fmt.Sprintf(" (shard %d/%d)", shard.K, shard.N)
	}
	if r.json {
		for _, p := range planned {
			r.line(struct {
				Type        string `json:"type"`
				Job         string `json:"job"`
				Source      string `json:"source"`
				Destination string `json:"destination"`
			}{"job", p.Name, p.cfg.Source.String(), p.cfg.Dest.String()})
		}
		r.line(struct {
			Type             string `json:"type"`
			Jobs             int    `json:"jobs"`
			PasswordProblems int    `json:"password_file_problems"`
		}{"check", len(planned), unreadable})
		return
	}
	for _, p := range planned {
		fmt.Fprintf(r.stdout, "job %s: %s → %s\n", safeText(p.Name), p.cfg.Source, p.cfg.Dest)
	}
	if unreadable > 0 {
		fmt.Fprintf(r.stdout, "%s: %s%s checked; %s cannot read a password file (listed on stderr)\n", path, plural.Count(len(planned), "job"), slice, plural.Count(unreadable, "job"))
		return
	}
	fmt.Fprintf(r.stdout, "%s: %s%s checked, no problems found\n", path, plural.Count(len(planned), "job"), slice)
}

func (r runOutput) line(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	fmt.Fprintf(r.stdout, "%s\n", b)
}
