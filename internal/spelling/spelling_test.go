package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"exclude", "exclude", 0}, {"exlude", "exclude", 1}, {"imasp", "imaps", 1},
		{"conections", "connections", 1}, {"maildir", "mbox", 6}, {"", "abc", 3},
	} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"include", "exclude", "connections", "jobs"}
	for word, want := range map[string]string{"exlude": "exclude", "job": "jobs", "frobnicate": "", "includes": "include"} {
		if got := Closest(word, known, 3); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
