package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Count(0, "message"), "0 messages"},
		{Count(1, "message"), "1 message"},
		{Count(2, "folder"), "2 folders"},
		{Count(-1, "file"), "-1 files"},
		{CountOf(1, "copy", "copies"), "1 copy"},
		{CountOf(3, "copy", "copies"), "3 copies"},
		{Noun(1, "difference", "differences"), "difference"},
		{Noun(0, "difference", "differences"), "differences"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
