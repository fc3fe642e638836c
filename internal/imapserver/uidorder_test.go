package imapserver

import (
	"bytes"
	"strings"
	"testing"
)

func TestMoveUIDAfterLiteral(t *testing.T) {
	tests := []struct{ in, want string }{
		{"* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n", "* 1 FETCH (BODY[] {5}\r\nhello UID 7)\r\n"},
		{"* 2 FETCH (FLAGS (\\Seen) UID 9 BODY[] {3}\r\nabc FLAGS ())\r\n", "* 2 FETCH (FLAGS (\\Seen) BODY[] {3}\r\nabc FLAGS () UID 9)\r\n"},
		{"* 3 FETCH (UID 4 FLAGS ())\r\n", "* 3 FETCH (UID 4 FLAGS ())\r\n"},
		{"* OK hello {5}\r\nworld\r\n", "* OK hello {5}\r\nworld\r\n"},
		{"T1 OK done\r\n", "T1 OK done\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := MoveUIDAfterLiteral(strings.NewReader(tt.in), &out); err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if out.String() != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, out.String(), tt.want)
		}
	}
}

// FuzzMoveUIDAfterLiteral checks that the rewriter never panics, never
// loses or invents bytes other than moving "UID n", and passes input
// without FETCH literals unchanged.
func FuzzMoveUIDAfterLiteral(f *testing.F) {
	f.Add([]byte("* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\nT1 OK\r\n"))
	f.Add([]byte("* 1 FETCH (UID 7 BODY[] {50}\r\nhello)\r\n"))
	f.Add([]byte("* 1 FETCH (BODY[] {1}\r\nx UID 1)\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		MoveUIDAfterLiteral(bytes.NewReader(in), &out)
		if out.Len() > len(in) {
			t.Fatalf("output %d bytes longer than input %d", out.Len(), len(in))
		}
		if !bytes.Contains(in, []byte("{")) && !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("changed input without literals: %q → %q", in, out.Bytes())
		}
	})
}
