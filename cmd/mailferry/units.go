package main

import (
	"fmt"
	"math"
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
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: expected a date as YYYY-MM-DD, for example 2024-01-31", flag, s)
	}
	return t, nil
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
