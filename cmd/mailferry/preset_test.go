package main

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// parseCopyArgs parses a copy command line (options first) as mailferry
// does, without running it.
func parseCopyArgs(t *testing.T, args ...string) (copyConfig, error) {
	t.Helper()
	cmd := copyCommand()
	var cfg copyConfig
	var perr error
	cmd.Action = func(c *cli.Context) error {
		cfg, perr = parseCopy(c)
		return nil
	}
	app := &cli.App{Name: "mailferry", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard}
	if err := app.Run(append([]string{"mailferry", "copy"}, args...)); err != nil {
		t.Fatal(err)
	}
	return cfg, perr
}

func TestPresetSetsTheProvidersLimits(t *testing.T) {
	src := "maildir:" + t.TempDir()
	for _, tc := range []struct {
		args           []string
		bytesPerSecond float64
		msgsPerSecond  float64
		maxMessage     int64
	}{
		// 500 MB a day; Gmail's APPENDLIMIT.
		{[]string{"--preset", "gmail"}, 5787, 0, 35651584},
		{[]string{"--preset", "Gmail", "--bwlimit", "1M"}, 1 << 20, 0, 35651584},
		{[]string{"--preset", "gmail", "--max-messages-per-second", "2"}, 5787, 2, 35651584},
		// 3,600 messages an hour.
		{[]string{"--preset", "m365"}, 0, 1, 0},
		{[]string{"--preset", "m365", "--max-messages-per-second", "0.5"}, 0, 0.5, 0},
		{nil, 0, 0, 0},
	} {
		args := append(append([]string{}, tc.args...), src, "imaps://alice@imap.example.com")
		cfg, err := parseCopyArgs(t, args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		o := cfg.Options
		if got := o.Bandwidth.Rate(); got != tc.bytesPerSecond {
			t.Errorf("%q: bandwidth %g B/s, want %g", tc.args, got, tc.bytesPerSecond)
		}
		if got := o.Messages.Rate(); got != tc.msgsPerSecond {
			t.Errorf("%q: %g messages a second, want %g", tc.args, got, tc.msgsPerSecond)
		}
		if cfg.SizeLimit.Bytes != tc.maxMessage {
			t.Errorf("%q: largest message %d, want %d", tc.args, cfg.SizeLimit.Bytes, tc.maxMessage)
		}
	}
}

func TestPresetUsageErrors(t *testing.T) {
	src := "maildir:" + t.TempDir()
	for _, tc := range []struct {
		dest, preset, want string
	}{
		{"imaps://alice@imap.example.com", "yahoo", `--preset "yahoo": unknown provider; give one of gmail, m365`},
		{"maildir:" + t.TempDir() + "/x", "gmail", "--preset gmail sets the limits of a provider's IMAP server; the destination maildir:"},
	} {
		_, err := parseCopyArgs(t, "--preset", tc.preset, src, tc.dest)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != exitUsage {
			t.Errorf("--preset %s into %s: %v (exit %d), want a usage error containing %q", tc.preset, tc.dest, err, exitCode(err), tc.want)
		}
	}
}
