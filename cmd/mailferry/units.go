package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// parseSize reads a size such as 10M, 1.5G, 512k or 2048 (bytes). Suffixes
// are binary (K = 1024); a trailing B or iB is allowed (10MB, 10MiB).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(t), "B"), "I")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || t == "" {
		return 0, fmt.Errorf("%q is not a size (examples: 10M, 1.5G, 512K, 2048)", s)
	}
	n := v * mult
	if n > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(math.Round(n)), nil
}

// parseDate reads YYYY-MM-DD as midnight in the local time zone.
func parseDate(flag, s string) (time.Time, error) {
	return parseDateAt(flag, s, time.Now())
}

// parseDateAt is parseDate with the time the relative ages count back from.
// An age is a number and a unit: h (hours), d (days), w (weeks), m (months)
// or y (years), as imapsync's --maxage and --minage count days: --since 30d
// keeps the last 30 days, --before 2y what is older than two years.
func parseDateAt(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n >= 0 && len(s) > 1 {
		switch s[len(s)-1] {
		case 'h':
			return now.Add(-time.Duration(n) * time.Hour), nil
		case 'd':
			return now.AddDate(0, 0, -n), nil
		case 'w':
			return now.AddDate(0, 0, -7*n), nil
		case 'm':
			return now.AddDate(0, -n, 0), nil
		case 'y':
			return now.AddDate(-n, 0, 0), nil
		}
	}
	return time.Time{}, usageErrorf("--%s %q: expected a date as YYYY-MM-DD (2024-01-31) or an age such as 30d, 12h, 2w, 6m or 2y", flag, s)
}

// parseRegexMappings reads --map-regex REGEX=NEW values. The last '=' that
// is not inside the pattern splits them: a pattern may hold '=' when the
// template does not.
func parseRegexMappings(vals []string) ([]transfer.FolderMapping, error) {
	var out []transfer.FolderMapping
	for _, v := range vals {
		i := strings.LastIndex(v, "=")
		if i <= 0 || i == len(v)-1 {
			return nil, usageErrorf("--map-regex %q: expected REGEX=NEW, for example --map-regex 'Archive/(\\d+)=Old/$1'", v)
		}
		re, err := regexp.Compile(v[:i])
		if err != nil {
			return nil, usageErrorf("--map-regex %q: %v", v, err)
		}
		out = append(out, transfer.FolderMapping{Pattern: re, New: strings.Trim(v[i+1:], "/")})
	}
	return out, nil
}

// parseMappings reads --map OLD=NEW values.
func parseMappings(vals []string) ([]transfer.FolderMapping, error) {
	var out []transfer.FolderMapping
	for _, v := range vals {
		old, new, ok := strings.Cut(v, "=")
		old, new = strings.Trim(old, "/"), strings.Trim(new, "/")
		if !ok || old == "" || new == "" {
			return nil, usageErrorf("--map %q: expected OLD=NEW, for example --map 'Sent Items=Sent' (folders below OLD follow)", v)
		}
		out = append(out, transfer.FolderMapping{Old: old, New: new})
	}
	return out, nil
}

// formatBytes renders n with binary units: 512 B, 1.5 KiB, 12.0 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// roundSeconds keeps three decimals of a duration in seconds, for the
// summaries of --json, --log-file and --report.
func roundSeconds(s float64) float64 { return math.Round(s*1000) / 1000 }
