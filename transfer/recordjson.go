package transfer

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeRecord parses one journal line into rec, with encoding/json's
// result whatever the line. Loading the state file is most of the work of
// a re-run with nothing to copy, and most of that is encoding/json finding
// its way through Record by reflection, so the lines a Journal writes
// (encoding/json's own output for a Record: known fields, each once, no
// spaces) are read here by hand (readRecord); any other line (spaces, an
// unknown or repeated field, a null, a number or escape readRecord does not
// take) goes to json.Unmarshal.
func decodeRecord(line []byte, rec *Record) error {
	if readRecord(line, rec) {
		return nil
	}
	*rec = Record{}
	return json.Unmarshal(line, rec)
}

// The fields of a Record in a journal line, by their JSON names.
const (
	fieldSource = iota
	fieldFolder
	fieldID
	fieldKey
	fieldDigest
	fieldFingerprint
	fieldDest
	fieldTime
	fieldDeleted
	fieldFlags
	fieldCopied
	fieldCopyDeleted
	fieldState
	fieldCount
)

var recordFields = map[string]int{
	"source": fieldSource, "folder": fieldFolder, "id": fieldID, "key": fieldKey, "digest": fieldDigest,
	"fp": fieldFingerprint, "dest": fieldDest, "time": fieldTime, "deleted": fieldDeleted, "flags": fieldFlags,
	"copied": fieldCopied, "copy_deleted": fieldCopyDeleted, "state": fieldState, "n": fieldCount,
}

// readRecord reads line into rec when it is a JSON object of Record fields
// as encoding/json writes them, and reports whether it was; rec is left
// alone when not.
func readRecord(line []byte, rec *Record) bool {
	p := lineReader{b: line}
	if !p.take('{') {
		return false
	}
	var r Record
	var seen uint32
	for !p.take('}') {
		if seen != 0 && !p.take(',') {
			return false
		}
		name, ok := p.plainString()
		if !ok || !p.take(':') {
			return false
		}
		field, ok := recordFields[string(name)]
		if !ok || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		switch field {
		case fieldSource:
			r.Source, ok = p.string()
		case fieldFolder:
			r.Folder, ok = p.string()
		case fieldID:
			r.ID, ok = p.string()
		case fieldKey:
			r.Key, ok = p.string()
		case fieldDigest:
			r.Digest, ok = p.string()
		case fieldFingerprint:
			r.Fingerprint, ok = p.string()
		case fieldDest:
			r.Dest, ok = p.string()
		case fieldState:
			r.State, ok = p.string()
		case fieldTime:
			// What encoding/json hands time.Time: the quoted value.
			start := p.i
			if _, ok = p.string(); ok {
				ok = r.Time.UnmarshalJSON(p.b[start:p.i]) == nil
			}
		case fieldDeleted:
			r.Deleted, ok = p.bool()
		case fieldCopied:
			r.Copied, ok = p.bool()
		case fieldCopyDeleted:
			r.CopyDeleted, ok = p.bool()
		case fieldFlags:
			r.Flags, ok = p.strings()
		case fieldCount:
			r.Count, ok = p.int()
		}
		if !ok {
			return false
		}
	}
	if p.i != len(p.b) {
		return false
	}
	*rec = r
	return true
}

// lineReader reads JSON values from b at i.
type lineReader struct {
	b []byte
	i int
}

// take consumes c if it comes next.
func (p *lineReader) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// takeWord consumes w if it comes next.
func (p *lineReader) takeWord(w string) bool {
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes (a field
// name) and returns its bytes.
func (p *lineReader) plainString() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, true
		case c < 0x20 || c >= utf8.RuneSelf || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// string reads a string: its bytes must be valid UTF-8 (encoding/json
// would replace the others), and of the escapes it takes the ones
// encoding/json writes but those of surrogates.
func (p *lineReader) string() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		case c == '\\':
			p.i = start
			return p.escaped()
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// escaped reads the rest of a string that has escapes, from its first
// byte after the opening quote.
func (p *lineReader) escaped() (string, bool) {
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", false
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if p.i+4 > len(p.b) {
				return "", false
			}
			n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
			if err != nil || n >= 0xd800 && n < 0xe000 {
				return "", false
			}
			p.i += 4
			out = utf8.AppendRune(out, rune(n))
		default:
			return "", false
		}
	}
	return "", false
}

// bool reads true or false.
func (p *lineReader) bool() (bool, bool) {
	switch {
	case p.takeWord("true"):
		return true, true
	case p.takeWord("false"):
		return false, true
	}
	return false, false
}

// strings reads an array of strings, or null (a nil slice); an empty
// array is an empty slice, not nil, as encoding/json makes it.
func (p *lineReader) strings() ([]string, bool) {
	if p.takeWord("null") {
		return nil, true
	}
	if !p.take('[') {
		return nil, false
	}
	out := []string{}
	for !p.take(']') {
		if len(out) > 0 && !p.take(',') {
			return nil, false
		}
		s, ok := p.string()
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// int reads a whole number of up to 18 digits, without sign, fraction or
// exponent.
func (p *lineReader) int() (int, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 18 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(string(digits))
	return n, err == nil
}
