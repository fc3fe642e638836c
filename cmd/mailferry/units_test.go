package main

import (
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "2048": 2048, "10M": 10 << 20, "10m": 10 << 20, "1.5G": 3 << 29, "512K": 512 << 10,
		"10MB": 10 << 20, "10MiB": 10 << 20, "1T": 1 << 40, "100B": 100, " 7k ": 7 << 10,
	}
	for in, want := range good {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "ten", "1.5X", "1e400", "NaN", "9999999999T"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseDate(t *testing.T) {
	d, err := parseDate("since", "2024-02-29")
	if err != nil || !d.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.Local)) {
		t.Errorf("parseDate = %v, %v", d, err)
	}
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30d": time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		"12h": time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC),
		"2w":  time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC),
		"1m":  time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), // Feb 31 normalises to Mar 3
		"2y":  time.Date(2024, 3, 31, 12, 0, 0, 0, time.UTC),
		"0d":  now,
	} {
		if got, err := parseDateAt("since", in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseDateAt(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2024-2-3", "29.02.2024", "2023-02-29", "yesterday", "d", "-3d", "3x", "3 d"} {
		if _, err := parseDate("since", in); err == nil || exitCode(err) != exitUsage {
			t.Errorf("parseDate(%q) err = %v, want a usage error", in, err)
		}
	}
}

func TestParseMappings(t *testing.T) {
	got, err := parseMappings([]string{"Sent Items=Sent", "/Old/Archive/=Archive/Old", "a=b=c"})
	want := []transfer.FolderMapping{{Old: "Sent Items", New: "Sent"}, {Old: "Old/Archive", New: "Archive/Old"}, {Old: "a", New: "b=c"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseMappings = %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, in := range []string{"noequals", "=New", "Old=", "/=x"} {
		if _, err := parseMappings([]string{in}); err == nil {
			t.Errorf("parseMappings(%q) accepted", in)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 10 << 20: "10.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
