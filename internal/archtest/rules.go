package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// module is mailferry's import path.
const module = "github.com/mailferry/mailferry"

// Package is what the rules need to know of one package, as `go list
// -json` reports it.
type Package struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

var protocolLibraries = []string{
	"github.com/emersion/go-imap",
	"github.com/emersion/go-sasl",
	"github.com/knadh/go-pop3",
}

var uiLibraries = []string{
	"github.com/urfave/cli",
	"github.com/schollz/progressbar",
	"github.com/prometheus/client_golang",
}

// storeHarnesses run stores for tests; like the stores, the conformance
// suite does not know them.
var storeHarnesses = []string{"internal/imapserver", "internal/pop3server", "internal/dovecot"}

// under reports whether path is pkg or a package below it.
func under(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}

func underAny(path string, pkgs []string) bool {
	for _, p := range pkgs {
		if under(path, p) {
			return true
		}
	}
	return false
}

// rel is path relative to the module ("transfer", "source/imap"), or ""
// for a package outside it.
func rel(path string) string {
	if path == module {
		return "."
	}
	if strings.HasPrefix(path, module+"/") {
		return strings.TrimPrefix(path, module+"/")
	}
	return ""
}

// rule forbids the packages matched by applies to depend on deps matched by
// forbids. direct limits the rule to direct imports.
type rule struct {
	name    string
	applies func(rel string) bool
	forbids func(dep string) bool
	direct  bool
}

var rules = []rule{
	{
		name:    "formats imports nothing of mailferry's",
		applies: func(r string) bool { return under(r, "formats") },
		forbids: func(dep string) bool { return rel(dep) != "" },
	},
	{
		name:    "formats imports no protocol library and no UI library",
		applies: func(r string) bool { return under(r, "formats") },
		forbids: func(dep string) bool { return underAny(dep, protocolLibraries) || underAny(dep, uiLibraries) },
	},
	{
		name:    "transfer imports no source or sink",
		applies: func(r string) bool { return under(r, "transfer") },
		forbids: func(dep string) bool { r := rel(dep); return under(r, "source") || under(r, "sink") },
	},
	{
		name:    "transfer imports no protocol library",
		applies: func(r string) bool { return under(r, "transfer") },
		forbids: func(dep string) bool { return underAny(dep, protocolLibraries) },
	},
	{
		name:    "the conformance suite imports no store: each store's tests call it",
		applies: func(r string) bool { return under(r, "internal/conformance") },
		forbids: func(dep string) bool {
			r := rel(dep)
			return under(r, "source") || under(r, "sink") || underAny(r, storeHarnesses)
		},
	},
	{
		name:    "only tests and test helper packages import the conformance suite",
		applies: func(r string) bool { return !under(r, "internal/conformance") && !strings.HasSuffix(r, "test") },
		forbids: func(dep string) bool { return under(rel(dep), "internal/conformance") },
	},
	{
		name:    "nothing imports cmd",
		applies: func(r string) bool { return !under(r, "cmd") },
		forbids: func(dep string) bool { return under(rel(dep), "cmd") },
	},
	{
		name:    "only cmd imports urfave/cli, progressbar and the Prometheus client",
		applies: func(r string) bool { return !under(r, "cmd") },
		forbids: func(dep string) bool { return underAny(dep, uiLibraries) },
	},
	{
		name:    "the mailferry binary links no Kubernetes library (the manifests' tests use them)",
		applies: func(r string) bool { return r == "cmd/mailferry" },
		forbids: func(dep string) bool { return under(dep, "k8s.io") || under(dep, "sigs.k8s.io") },
	},
	{
		name:    "the mailferry binary links no test helper",
		applies: func(r string) bool { return r == "cmd/mailferry" },
		forbids: isTestHelper,
	},
	{
		// The binary links the standard testing package through the
		// Prometheus client (its OpenMetrics parser's dependency,
		// go-abnf), so the binary's dependencies cannot be checked for
		// it; mailferry's own packages can.
		name:    "only test helpers import testing",
		applies: func(r string) bool { return !isTestHelper(module + "/" + r) },
		forbids: func(dep string) bool { return dep == "testing" },
		direct:  true,
	},
	{
		name:    "go-imap is imported only by the imap packages (and the Dovecot test harness)",
		applies: func(r string) bool { return !strings.Contains(r, "imap") && !under(r, "internal/dovecot") },
		forbids: func(dep string) bool { return under(dep, "github.com/emersion/go-imap") },
		direct:  true,
	},
	{
		name:    "go-sasl is imported only by the imap and pop3 packages",
		applies: func(r string) bool { return !strings.Contains(r, "imap") && !strings.Contains(r, "pop3") },
		forbids: func(dep string) bool { return under(dep, "github.com/emersion/go-sasl") },
		direct:  true,
	},
	{
		name:    "go-pop3 is imported only by the pop3 packages",
		applies: func(r string) bool { return !strings.Contains(r, "pop3") },
		forbids: func(dep string) bool { return under(dep, "github.com/knadh/go-pop3") },
		direct:  true,
	},
	{
		name:    "go-mbox is imported only by the mbox code",
		applies: func(r string) bool { return !strings.Contains(r, "mbox") && r != "formats" },
		forbids: func(dep string) bool { return under(dep, "github.com/emersion/go-mbox") },
		direct:  true,
	},
}

// isTestHelper reports whether the package dep is one of mailferry's test
// helpers: the conformance suite, the fault proxy, the Dovecot harness, a
// package named …test.
func isTestHelper(dep string) bool {
	r := rel(dep)
	return under(r, "internal/faultproxy") || under(r, "internal/dovecot") ||
		under(r, "internal/conformance") || strings.HasSuffix(r, "test")
}

// Violations checks every rule against pkgs and returns one line per
// broken rule and package, sorted.
func Violations(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		if r == "" {
			continue
		}
		for _, ru := range rules {
			if !ru.applies(r) {
				continue
			}
			deps := p.Deps
			if ru.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				if ru.forbids(d) {
					out = append(out, fmt.Sprintf("%s imports %s: rule %q", r, d, ru.name))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
