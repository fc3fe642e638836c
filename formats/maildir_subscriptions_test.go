package formats

import (
	"reflect"
	"testing"
)

func TestParseMaildirSubscriptions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		// What Dovecot 2.3 wrote after SUBSCRIBE Work/Sub, Other, INBOX.
		{"V\t2\n\nWork\tSub\nOther\nINBOX\n", []string{"Work/Sub", "Other", "INBOX"}, true},
		{"V\t2\n\n", nil, true},
		{"Work.Sub\ninbox\n", []string{"Work/Sub", "INBOX"}, true},
		{"V\t3\n\nWork\n", nil, false},
		{"V\t2\n\nbad\x01name\n", nil, false},
		{"V\t2\n\n\xff\n", nil, false},
		{"V\t2\n\nA\t\tB\n", nil, false},
		{"V\t2\n\nA/B\n", nil, false},
	} {
		got, ok := ParseMaildirSubscriptions([]byte(tc.in), '.')
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	out := FormatMaildirSubscriptions([]string{"Work/Sub", "Other", "INBOX"})
	if string(out) != "V\t2\n\nWork\tSub\nOther\nINBOX\n" {
		t.Errorf("formatted %q", out)
	}
}

// FuzzParseMaildirSubscriptions: whatever the file holds, the parser does
// not panic, and what it reads it writes back to the same folders.
func FuzzParseMaildirSubscriptions(f *testing.F) {
	f.Add([]byte("V\t2\n\nWork\tSub\nOther\nINBOX\n"))
	f.Add([]byte("Work.Sub\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		folders, ok := ParseMaildirSubscriptions(b, '.')
		if !ok {
			return
		}
		again, ok := ParseMaildirSubscriptions(FormatMaildirSubscriptions(folders), '.')
		if !ok || !reflect.DeepEqual(again, folders) {
			t.Fatalf("%q read as %q, written and read again as %q (%v)", b, folders, again, ok)
		}
	})
}
