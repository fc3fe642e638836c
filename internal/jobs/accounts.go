package jobs

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
)

// Columns of an accounts file besides option keys.
const (
	ColumnSourceUser = "source-user"
	ColumnDestUser   = "dest-user"
)

// The placeholders a job with accounts may use in its values; each row's
// user replaces them.
const (
	PlaceholderSourceUser = "{" + ColumnSourceUser + "}"
	PlaceholderDestUser   = "{" + ColumnDestUser + "}"
)

var placeholders = []string{PlaceholderSourceUser, PlaceholderDestUser}

// validUser reports whether s may stand for {source-user} or
// {dest-user}: it goes into URLs, paths and shell commands (a password
// command such as `pass show mail/{source-user}`), so it is kept to what
// mail addresses and user names are made of, and can be neither a path
// step (`..`) nor an option (`-x`).
func validUser(s string) bool {
	if s == "" || len(s) > 320 || !alnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !alnum(s[i]) && !strings.ContainsRune("._%+=@-", rune(s[i])) {
			return false
		}
	}
	return true
}

// column is one column of an accounts file.
type column struct {
	name string
	kind Kind // for an option key
}

// expand turns template t into one job per row of the accounts file at
// path (content data). The file is CSV with a header row naming its
// columns: source-user, dest-user, name, source, destination, or any
// option key (a per-row override; an empty cell keeps the template's).
// A list option is one value per cell; repeat its column for more. Lines
// starting with # are comments.
func expand(t Job, path string, data []byte, keys Keys, p *problems) []Job {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheets write a byte order mark
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	at := func(line int) Where { return Where{File: path, Line: line} }

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		p.add(at(0), t.Name, "", "the accounts file is empty: it needs a header row (source-user,dest-user,…) and a row per account")
		return nil
	}
	if err != nil {
		csvProblem(p, path, t.Name, err)
		return nil
	}
	headerLine, _ := cr.FieldPos(0)
	cols, ok := columns(header, keys, at(headerLine), t.Name, p)
	if !ok {
		return nil
	}
	var out []Job
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			csvProblem(p, path, t.Name, err)
			if len(p.list) >= maxErrors {
				return nil
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if j, ok := row(t, cols, rec, at(line), p); ok {
			out = append(out, j)
		}
	}
	if len(out) == 0 && len(p.list) == 0 {
		p.add(at(headerLine), t.Name, "", "the accounts file has a header but no account")
	}
	return out
}

// csvProblem reports a malformed row with its line.
func csvProblem(p *problems, path, job string, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "wrong number of fields: every row needs one per column of the header"
		}
		p.add(Where{File: path, Line: pe.StartLine}, job, "", "malformed row: %s", msg)
		return
	}
	p.add(Where{File: path}, job, "", "%v", err)
}

// columns reads the header row.
func columns(header []string, keys Keys, w Where, job string, p *problems) ([]column, bool) {
	cols := make([]column, len(header))
	ok := true
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		cols[i].name = h
		switch h {
		case ColumnSourceUser, ColumnDestUser, KeyName, KeySource, KeyDestination:
			if seen[h] {
				p.add(w, job, h, "column given twice")
				ok = false
			}
		case KeySourcePassword, KeyDestPassword:
			p.add(w, job, h, "an accounts file holds no passwords: give a %s-file or %s-command column", h, h)
			ok = false
		default:
			kind, known := keys[h]
			if !known {
				msg := "unknown column"
				if s := suggest(h, keys.names(ColumnSourceUser, ColumnDestUser, KeyName, KeySource, KeyDestination)); s != "" {
					msg += " (did you mean " + s + "?)"
				} else {
					msg += "; the columns are source-user, dest-user, name, source, destination and the options of mailferry copy"
				}
				p.add(w, job, h, "%s", msg)
				ok = false
				continue
			}
			if seen[h] && kind != List {
				p.add(w, job, h, "column given twice (only a list option may repeat)")
				ok = false
			}
			cols[i].kind = kind
		}
		seen[h] = true
	}
	return cols, ok
}

// row makes the job of one account.
func row(t Job, cols []column, rec []string, w Where, p *problems) (Job, bool) {
	j := t
	j.Template = t.Name
	j.Where = w
	j.Options = slices.Clone(t.Options)
	var srcUser, dstUser, name string
	overrides := map[string]Option{}
	ok := true
	for i, c := range cols {
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		switch c.name {
		case ColumnSourceUser, ColumnDestUser:
			if !validUser(v) {
				p.add(w, t.Name, c.name, "%q is not a user name: use letters, digits and . _ %% + = @ -, starting with a letter or digit", v)
				ok = false
			}
			if c.name == ColumnSourceUser {
				srcUser = v
			} else {
				dstUser = v
			}
		case KeyName:
			name = v
		case KeySource:
			j.Source = Option{Key: KeySource, Values: []string{v}, Where: w}
		case KeyDestination:
			j.Destination = Option{Key: KeyDestination, Values: []string{v}, Where: w}
		default:
			val, msg := convert(v, "", c.kind)
			if msg != "" {
				p.add(w, t.Name, c.name, "%s", msg)
				ok = false
				continue
			}
			o := overrides[c.name]
			o.Key, o.Where = c.name, w
			o.Values = append(o.Values, val)
			overrides[c.name] = o
		}
	}
	if !ok {
		return j, false
	}
	for _, o := range overrides {
		j.Options = merge(j.Options, []Option{o})
	}
	if len(j.Source.Values) == 0 || len(j.Destination.Values) == 0 {
		return j, false // reported with the template
	}
	rowName := cmp.Or(name, srcUser, dstUser)
	if rowName == "" {
		p.add(w, t.Name, "", "the row has no name, source-user or dest-user")
		return j, false
	}
	j.Name = t.Name + "/" + rowName
	if !validName(j.Name) {
		p.add(w, t.Name, KeyName, "%q is not a job name: use letters, digits and . _ @ + = / -", j.Name)
		return j, false
	}
	if srcUser != "" && !strings.Contains(j.Source.Values[0], PlaceholderSourceUser) {
		p.add(w, t.Name, ColumnSourceUser, "the row's source-user has nowhere to go: the source (%s) has no %s", j.Source.Where, PlaceholderSourceUser)
		return j, false
	}
	if dstUser != "" && !strings.Contains(j.Destination.Values[0], PlaceholderDestUser) {
		p.add(w, t.Name, ColumnDestUser, "the row's dest-user has nowhere to go: the destination (%s) has no %s", j.Destination.Where, PlaceholderDestUser)
		return j, false
	}
	users := map[string]string{PlaceholderSourceUser: srcUser, PlaceholderDestUser: dstUser}
	sub := func(o *Option, endpoint bool) bool {
		vals := slices.Clone(o.Values)
		for i, v := range vals {
			for ph, user := range users {
				if !strings.Contains(v, ph) {
					continue
				}
				if user == "" {
					p.add(w, t.Name, o.Key, "%s (%s) needs a %s column with a value in this row", ph, o.Where, strings.Trim(ph, "{}"))
					return false
				}
				if endpoint && strings.Contains(v, "://") {
					// In a server URL the user is percent-encoded:
					// alice@example.com is alice%40example.com.
					user = url.QueryEscape(user)
				}
				v = strings.ReplaceAll(v, ph, user)
			}
			vals[i] = v
		}
		o.Values = vals
		return true
	}
	ok = sub(&j.Source, true) && sub(&j.Destination, true)
	for i := range j.Options {
		ok = ok && sub(&j.Options[i], false)
	}
	return j, ok
}
