package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mailferry/mailferry/internal/spelling"
)

// versionString is the version --version prints: the one set with
// -ldflags "-X main.version=…" when there is one, else the module version
// from the build info, which `go install …@v1.2.3` records as v1.2.3, else
// the commit a build from a checkout was made of.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(version, bi, ok)
}

func versionFrom(version string, bi *debug.BuildInfo, ok bool) string {
	if version != "dev" || !ok {
		return version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return fmt.Sprintf("dev (%s%s)", rev, modified)
	}
	return version
}

// flagProblem rewrites the flag package's "flag provided but not defined:
// -exlude" as the user typed it, with the closest defined option when one
// is near: "unknown option --exlude (did you mean --exclude?)". Other
// errors are returned as they are.
func flagProblem(err error, flags []cli.Flag) string {
	const undefined = "flag provided but not defined: "
	msg := err.Error()
	if !strings.HasPrefix(msg, undefined) {
		return msg
	}
	name := strings.TrimLeft(strings.TrimPrefix(msg, undefined), "-")
	dash := "--"
	if len(name) == 1 {
		dash = "-"
	}
	out := fmt.Sprintf("unknown option %s%s", dash, name)
	best, bestDist := "", max(2, len(name)/3)+1
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) < 2 {
				continue
			}
			if d := spelling.Distance(name, n); d < bestDist {
				best, bestDist = n, d
			}
		}
	}
	if best != "" {
		out += fmt.Sprintf(" (did you mean --%s?)", best)
	}
	return out
}
