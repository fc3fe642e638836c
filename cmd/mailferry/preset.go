package main

import (
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// preset is a provider's documented limits for an account it hosts as the
// destination of a migration; README.md ("Provider presets") gives the
// source of each figure.
type preset struct {
	// Bandwidth is bytes a second (--bwlimit); 0 for none.
	Bandwidth int64
	// MessagesPerSecond is --max-messages-per-second; 0 for none.
	MessagesPerSecond float64
	// MaxMessage is the largest message the provider stores, in bytes as
	// APPEND sends them; 0 for none. Larger ones are refused one by one,
	// before they are sent.
	MaxMessage int64
}

var presets = map[string]preset{
	// Gmail: IMAP uploads are limited to 500 MB a day per account, spread
	// over the day so that a run never stops at the limit, and Gmail's
	// APPENDLIMIT is 35,651,584 bytes.
	"gmail": {Bandwidth: 500_000_000 / 86400, MaxMessage: 35_651_584},
	// Microsoft 365: a mailbox receives at most 3,600 messages an hour.
	"m365": {MessagesPerSecond: 3600.0 / 3600},
}

// presetFlag is --preset.
func presetFlag() cli.Flag {
	return &cli.StringFlag{Name: "preset", Category: catRun,
		Usage: "apply the documented limits of the destination's provider, `NAME` gmail or m365 (see README); --bwlimit and --max-messages-per-second given as well win"}
}

// presetFrom reads --preset: the zero preset when it is not given.
func presetFrom(c *cli.Context) (preset, error) {
	name := c.String("preset")
	if name == "" {
		return preset{}, nil
	}
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(presets))
		for n := range presets {
			names = append(names, n)
		}
		sort.Strings(names)
		return p, usageErrorf("--preset %q: unknown provider; give one of %s", name, strings.Join(names, ", "))
	}
	return p, nil
}
