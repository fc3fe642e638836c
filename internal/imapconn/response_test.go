package imapconn

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestParseResponseLine(t *testing.T) {
	for _, tc := range []struct {
		line             string
		tag, status      string
		code, args, text string
		lit              int64
		uid              uint32
	}{
		{"P7 OK [APPENDUID 1700000000 42] Append completed (0.001 + 0.000 secs).", "P7", "OK", "APPENDUID", "1700000000 42", "Append completed (0.001 + 0.000 secs).", -1, 42},
		{"P2 no [TOOBIG] too big", "P2", "NO", "TOOBIG", "", "too big", -1, 0},
		{"P3 BAD Error in IMAP command", "P3", "BAD", "", "", "Error in IMAP command", -1, 0},
		{"+ OK", "+", "", "", "", "OK", -1, 0},
		{"+", "+", "", "", "", "", -1, 0},
		{"* 12 EXISTS", "*", "12", "", "", "", -1, 0},
		{`* 3 FETCH (BODY[] {120}`, "*", "3", "", "", "", 120, 0},
		{"* BYE shutting down", "*", "BYE", "", "", "shutting down", -1, 0},
	} {
		r, lit, err := parseResponseLine([]byte(tc.line))
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if r.Tag != tc.tag || r.Status != tc.status || string(r.Code) != tc.code || r.CodeArgs != tc.args || r.Text != tc.text || lit != tc.lit {
			t.Errorf("%q: got %+v, literal %d", tc.line, r, lit)
		}
		_, uids, ok := r.AppendUIDs()
		if ok != (tc.uid != 0) || ok && (len(uids) != 1 || uint32(uids[0]) != tc.uid) {
			t.Errorf("%q: APPENDUID %v %v", tc.line, uids, ok)
		}
	}
	for _, bad := range []string{"", " OK", "P1", "P1 FOO bar", "P1 OK [APPENDUID 1 2"} {
		if _, _, err := parseResponseLine([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzParseResponseLine: any line gives a response or an error, never a
// panic, and a tagged response reads back as an error or nil.
func FuzzParseResponseLine(f *testing.F) {
	for _, s := range []string{"P7 OK [APPENDUID 1 42] done", "* 3 FETCH (BODY[] {5}", "+ go", "* OK [", "P1 NO [] x", "* x ~{99999999999999999999}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, lit, err := parseResponseLine(line)
		if err != nil {
			return
		}
		if lit < -1 {
			t.Fatalf("literal size %d", lit)
		}
		if r.Tag != "*" && r.Tag != "+" {
			_ = r.Err()
		}
		r.AppendUIDs()
	})
}

// The UIDs of a MULTIAPPEND's APPENDUID come in the order the set names
// them; what is no uid-set is refused.
func TestAppendUIDSet(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []imap.UID
	}{
		{"17 5:8", []imap.UID{5, 6, 7, 8}},
		{"17 8:5", []imap.UID{5, 6, 7, 8}},
		{"17 3,9:10,4", []imap.UID{3, 9, 10, 4}},
		{"17 4294967295", []imap.UID{4294967295}},
		{"17 4294967294:4294967295", []imap.UID{4294967294, 4294967295}},
	} {
		r := &Response{Tag: "P1", Status: "OK", Code: "APPENDUID", CodeArgs: tc.args}
		v, uids, ok := r.AppendUIDs()
		if !ok || v != 17 || !slices.Equal(uids, tc.want) {
			t.Errorf("%q: %d %v %v, want 17 %v", tc.args, v, uids, ok, tc.want)
		}
	}
	for _, bad := range []string{"17", "17 ", "17 0", "17 1:*", "17 *", "17 1,,2", "17 -1", "17 +3", "x 1", "17 1:4294967296", "17 1:100000", "17 5:"} {
		r := &Response{Tag: "P1", Status: "OK", Code: "APPENDUID", CodeArgs: bad}
		if _, uids, ok := r.AppendUIDs(); ok {
			t.Errorf("%q: read as %v", bad, uids)
		}
	}
}

// FuzzParseUIDSet: any text gives UIDs or an error, never a panic; the
// UIDs are at most the bound, none is 0, and each range of the text
// gives as many UIDs as it spans.
func FuzzParseUIDSet(f *testing.F) {
	for _, s := range []string{"1", "5:8", "8:5", "3,9:10,4", "4294967295", "1:*", "", ",", "1:4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, set string) {
		uids, err := parseUIDSet(set, 1000)
		if err != nil {
			return
		}
		if len(uids) == 0 || len(uids) > 1000 {
			t.Fatalf("%q: %d UIDs", set, len(uids))
		}
		for _, u := range uids {
			if u == 0 {
				t.Fatalf("%q: UID 0", set)
			}
		}
	})
}
