package imapconn

import (
	"testing"
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
		_, uid, ok := r.AppendUID()
		if uint32(uid) != tc.uid || ok != (tc.uid != 0) {
			t.Errorf("%q: APPENDUID %d %v", tc.line, uid, ok)
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
		r.AppendUID()
	})
}
