package formats

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMaildirName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		unique     string
		size, wire int64
		hasInfo    bool
		flags      []string
		keywords   string
		unknown    string
	}{
		// Dovecot's own names.
		{"1700000000.M1P2.host,S=123,W=130:2,FS", "1700000000.M1P2.host,S=123,W=130", 123, 130, true, []string{FlagFlagged, FlagSeen}, "", ""},
		{"1700000000.M123456P4711.mail.example.org,S=5,W=6:2,", "1700000000.M123456P4711.mail.example.org,S=5,W=6", 5, 6, true, nil, "", ""},
		{"1700000000.M1P2.host,S=123:2,Sab", "1700000000.M1P2.host,S=123", 123, -1, true, []string{FlagSeen}, "ab", ""},
		// Names from other programs.
		{"1700000000.12345_1.host", "1700000000.12345_1.host", -1, -1, false, nil, "", ""},
		{"1700000000.M1P2.host;2,S", "1700000000.M1P2.host", -1, -1, true, []string{FlagSeen}, "", ""},
		{"x:2,PRSTDF", "x", -1, -1, true, []string{FlagForwarded, FlagAnswered, FlagDraft, FlagDeleted, FlagFlagged, FlagSeen}, "", ""},
		{"x:2,SSaaF", "x", -1, -1, true, []string{FlagFlagged, FlagSeen}, "a", ""},
		{"x:2,FXz", "x", -1, -1, true, []string{FlagFlagged}, "z", "X"},
		{"x:2,S,extra", "x", -1, -1, true, []string{FlagSeen}, "", ""},
		{"x:1,experimental", "x", -1, -1, false, nil, "", ""},
		{"x,S=abc,W=:2,", "x,S=abc,W=", -1, -1, true, nil, "", ""},
		{"x,S=99999999999999999999:2,", "x,S=99999999999999999999", -1, -1, true, nil, "", ""},
		{"host\\072x:2,S", "host\\072x", -1, -1, true, []string{FlagSeen}, "", ""},
	} {
		n, err := ParseMaildirName(tc.name)
		if err != nil {
			t.Errorf("ParseMaildirName(%q): %v", tc.name, err)
			continue
		}
		if n.Unique != tc.unique || n.Size != tc.size || n.WireSize != tc.wire || n.HasInfo != tc.hasInfo ||
			!reflect.DeepEqual(n.Flags, NormalizeFlags(tc.flags)) && !(len(n.Flags) == 0 && len(tc.flags) == 0) ||
			string(n.Keywords) != tc.keywords || string(n.Unknown) != tc.unknown {
			t.Errorf("ParseMaildirName(%q) = %+v", tc.name, n)
		}
	}
	for _, bad := range []string{"", ".nfs0001", "a/b", "a\x00b", ":2,S"} {
		if n, err := ParseMaildirName(bad); err == nil {
			t.Errorf("ParseMaildirName(%q) = %+v, want an error", bad, n)
		}
	}
}

func TestMaildirFilename(t *testing.T) {
	for _, tc := range []struct {
		unique     string
		size, wire int64
		letters    string
		want       string
	}{
		{"u", 10, 12, "SaF", "u,S=10,W=12:2,FSa"},
		{"u", -1, -1, "", "u:2,"},
		{"u", 0, 0, "zbSSP", "u,S=0,W=0:2,PSbz"},
		{"u", 7, -1, "T", "u,S=7:2,T"},
	} {
		if got := MaildirFilename(tc.unique, tc.size, tc.wire, []byte(tc.letters)); got != tc.want {
			t.Errorf("MaildirFilename(%q, %d, %d, %q) = %q, want %q", tc.unique, tc.size, tc.wire, tc.letters, got, tc.want)
		}
	}
}

func TestMaildirUnique(t *testing.T) {
	u := MaildirUnique{Time: time.Unix(1700000000, 123456789), PID: 42, Counter: 7, Random: 0xabc, Host: "my/host:1"}
	want := `1700000000.M123456P42Q7R0000000000000abc.my\057host\0721`
	if got := u.String(); got != want {
		t.Fatalf("MaildirUnique.String() = %q, want %q", got, want)
	}
	name := MaildirFilename(u.String(), 100, 104, []byte("S"))
	n, err := ParseMaildirName(name)
	if err != nil || n.Unique != want+",S=100,W=104" || n.Size != 100 || n.WireSize != 104 || !reflect.DeepEqual(n.Flags, []string{FlagSeen}) {
		t.Fatalf("ParseMaildirName(%q) = %+v, %v", name, n, err)
	}
	if got := (MaildirUnique{Time: time.Unix(1, 0)}).String(); !strings.HasSuffix(got, ".localhost") {
		t.Errorf("empty host gives %q", got)
	}
}

func TestMaildirFlagLetters(t *testing.T) {
	letters, kws := MaildirFlagLetters([]string{`\seen`, "$forwarded", "Work", `\Recent`, `\Flagged`, "Work", "$Label1"})
	if string(letters) != "PFS" && string(letters) != "FPS" && string(letters) != "SPF" {
		// NormalizeFlags sorts by flag name: $Forwarded, \Flagged, \Seen.
		t.Errorf("letters = %q", letters)
	}
	if !reflect.DeepEqual(kws, []string{"$Label1", "Work"}) {
		t.Errorf("keywords = %q", kws)
	}
}

func TestMaildirNameFlagsWith(t *testing.T) {
	kw, _ := ParseMaildirKeywords([]byte("0 $Forwarded\n1 Work\n"))
	n, err := ParseMaildirName("u:2,PSabc")
	if err != nil {
		t.Fatal(err)
	}
	flags, unknown := n.FlagsWith(&kw)
	if !reflect.DeepEqual(flags, []string{FlagForwarded, "Work", FlagSeen}) || string(unknown) != "c" {
		t.Fatalf("FlagsWith = %q, unknown %q", flags, unknown)
	}
	flags, unknown = n.FlagsWith(nil)
	if !reflect.DeepEqual(flags, []string{FlagForwarded, FlagSeen}) || string(unknown) != "abc" {
		t.Fatalf("FlagsWith(nil) = %q, unknown %q", flags, unknown)
	}
}

// FuzzParseMaildirName checks the parser never panics, that the unique part
// is a prefix of the name, and that a name rebuilt from the parts parses to
// the same parts.
func FuzzParseMaildirName(f *testing.F) {
	for _, s := range []string{
		"1700000000.M1P2.host,S=123,W=130:2,FS", "1700000000.M1P2.host;2,S", "x:2,PRSTDFabz",
		"x:1,foo", "x,S=,W=1", "x:2,S,extra", "a:b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := ParseMaildirName(name)
		if err != nil {
			return
		}
		if n.Unique == "" || !strings.HasPrefix(name, n.Unique) {
			t.Fatalf("unique %q is not a prefix of %q", n.Unique, name)
		}
		letters, _ := MaildirFlagLetters(n.Flags)
		rebuilt := MaildirFilename(n.Unique, -1, -1, append(letters, n.Keywords...))
		m, err := ParseMaildirName(rebuilt)
		if err != nil {
			t.Fatalf("rebuilt %q: %v", rebuilt, err)
		}
		if strings.ContainsAny(n.Unique, ":") {
			t.Fatalf("unique %q holds the info separator", n.Unique)
		}
		if m.Unique != n.Unique || m.Size != n.Size || m.WireSize != n.WireSize ||
			!reflect.DeepEqual(m.Flags, n.Flags) || len(m.Keywords) != len(n.Keywords) {
			t.Fatalf("%q → %+v, rebuilt %q → %+v", name, n, rebuilt, m)
		}
	})
}
