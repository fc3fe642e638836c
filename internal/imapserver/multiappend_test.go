package imapserver

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// An APPEND of one message passes unchanged; one of three is packed under
// a tag that counts them, and unpacks to the three messages with their
// flags and dates.
func TestMultiAppendRequests(t *testing.T) {
	in := "A1 APPEND Work {5+}\r\nhello\r\n" +
		"A2 APPEND \"Sent Items\" (\\Seen) \"01-Mar-2015 10:20:30 +0200\" {3+}\r\none (Work) {3+}\r\ntwo {5+}\r\nthree\r\n" +
		"A3 NOOP\r\n"
	var out bytes.Buffer
	if err := multiAppendRequests(false)(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	single := "A1 APPEND Work {5+}\r\nhello\r\n"
	if !strings.HasPrefix(got, single) || !strings.HasSuffix(got, "\r\nA3 NOOP\r\n") {
		t.Fatalf("got %q", got)
	}
	packed := strings.TrimSuffix(strings.TrimPrefix(got, single), "\r\nA3 NOOP\r\n")
	head, lit, ok := strings.Cut(packed, "+}\r\n")
	if !ok || !strings.HasPrefix(head, `MA3-A2 APPEND "Sent Items" {`) {
		t.Fatalf("packed command %q", packed)
	}
	msgs, ok, err := unpack([]byte(lit))
	if !ok || err != nil || len(msgs) != 3 {
		t.Fatalf("unpack: %d messages, %v %v", len(msgs), ok, err)
	}
	for i, want := range []string{"one", "two", "three"} {
		if string(msgs[i].body) != want {
			t.Errorf("message %d: %q", i, msgs[i].body)
		}
	}
	flags, date, err := appendArgs(msgs[0].args)
	if err != nil || len(flags) != 1 || flags[0] != `\Seen` || date.Format("2006-01-02 15:04:05 -0700") != "2015-03-01 10:20:30 +0200" {
		t.Errorf("first message: %v %v %v", flags, date, err)
	}
	if flags, date, err := appendArgs(msgs[1].args); err != nil || len(flags) != 1 || flags[0] != "Work" || !date.IsZero() {
		t.Errorf("second message: %v %v %v", flags, date, err)
	}
	// The answer gets the client's tag and the uid-set.
	resp := string(multiAppendResponses(func(segs [][]byte) []byte { return bytes.Join(segs, nil) })([][]byte{[]byte("MA3-A2 OK [APPENDUID 7 12] APPEND completed\r\n")}))
	if resp != "A2 OK [APPENDUID 7 10:12] APPEND completed\r\n" {
		t.Errorf("answer %q", resp)
	}
}

// FuzzMultiAppendRequests checks that the request filter never panics,
// passes what holds no APPEND unchanged, and that what it packs unpacks.
func FuzzMultiAppendRequests(f *testing.F) {
	f.Add([]byte("A1 APPEND Work {5+}\r\nhello\r\n"))
	f.Add([]byte("A2 APPEND Work (\\Seen) {3+}\r\none {3+}\r\ntwo\r\nA3 NOOP\r\n"))
	f.Add([]byte("A2 APPEND Work {3+}\r\none {3+}\r\ntw"))
	f.Add([]byte("A4 LOGIN a b\r\nA5 APPEND x {2}\r\nab\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, keep := range []bool{false, true} {
			var out bytes.Buffer
			multiAppendRequests(keep)(bytes.NewReader(in), &out)
			if !bytes.Contains(bytes.ToUpper(in), []byte("APPEND")) && !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("changed input without APPEND: %q → %q", in, out.Bytes())
			}
			o := out.Bytes()
			if i := bytes.Index(o, []byte(multiAppendMagic)); i >= 0 && !bytes.Contains(in, []byte(multiAppendMagic)) {
				m := nonSyncLiteralAt.FindSubmatch(o[:i])
				if m == nil {
					t.Fatalf("%q packed as %q, without a literal", in, o)
				}
				n, _ := strconv.Atoi(string(m[1]))
				if _, ok, err := unpack(o[i:min(i+n, len(o))]); !ok || err != nil {
					t.Fatalf("%q packed as %q, which does not unpack: %v", in, o, err)
				}
			}
		}
	})
}
