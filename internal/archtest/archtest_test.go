package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// listPackages runs `go list -json` over the module.
func listPackages(t *testing.T) []Package {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[rel(p.ImportPath)] = true
	}
	// The rules mean nothing if the packages they guard are not found.
	for _, must := range []string{"formats", "transfer", "cmd/mailferry"} {
		if !seen[must] {
			t.Fatalf("go list did not report %s; found %v", must, seen)
		}
	}
	for _, v := range Violations(pkgs) {
		t.Error(v)
	}
}

func TestViolationsDetectsBreakage(t *testing.T) {
	pkgs := []Package{
		{ImportPath: module + "/formats", Imports: []string{"bytes"}, Deps: []string{"bytes", module + "/internal/account"}},
		{ImportPath: module + "/transfer", Imports: []string{module + "/sink/maildir"}, Deps: []string{module + "/sink/maildir", "github.com/emersion/go-imap/v2"}},
		{ImportPath: module + "/source/imap", Imports: []string{"github.com/emersion/go-imap/v2"}, Deps: []string{"github.com/emersion/go-imap/v2", "github.com/schollz/progressbar/v3"}},
		{ImportPath: module + "/sink/maildir", Imports: []string{"github.com/knadh/go-pop3"}, Deps: []string{"github.com/knadh/go-pop3"}},
		{ImportPath: module + "/cmd/mailferry", Imports: []string{"github.com/urfave/cli/v2"}, Deps: []string{"github.com/urfave/cli/v2", "github.com/schollz/progressbar/v3"}},
		{ImportPath: "example.com/other", Deps: []string{"github.com/urfave/cli/v2"}},
		{ImportPath: module + "/internal/account", Imports: []string{"testing"}, Deps: []string{"testing"}},
		{ImportPath: module + "/internal/imapserver/servertest", Imports: []string{"testing"}, Deps: []string{"testing"}},
	}
	got := strings.Join(Violations(pkgs), "\n")
	for _, want := range []string{
		`formats imports github.com/mailferry/mailferry/internal/account`,
		`transfer imports github.com/mailferry/mailferry/sink/maildir`,
		`transfer imports github.com/emersion/go-imap/v2`,
		`source/imap imports github.com/schollz/progressbar/v3`,
		`sink/maildir imports github.com/knadh/go-pop3`,
		`internal/account imports testing: rule "only test helpers import testing"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violation %q not found in:\n%s", want, got)
		}
	}
	for _, wrong := range []string{"cmd/mailferry imports", "servertest imports testing", "source/imap imports github.com/emersion/go-imap", "example.com"} {
		if strings.Contains(got, wrong) {
			t.Errorf("false violation %q in:\n%s", wrong, got)
		}
	}
}

func TestViolationsFindTestHelpersInTheBinary(t *testing.T) {
	pkgs := []Package{{ImportPath: module + "/cmd/mailferry", Imports: []string{"testing"}, Deps: []string{
		"testing", module + "/internal/faultproxy", module + "/internal/imapserver/servertest", module + "/internal/imapserver", module + "/internal/testcert",
	}}}
	got := strings.Join(Violations(pkgs), "\n")
	for _, want := range []string{"cmd/mailferry imports testing:", "cmd/mailferry imports " + module + "/internal/faultproxy:", "cmd/mailferry imports " + module + "/internal/imapserver/servertest:"} {
		if !strings.Contains(got, want) {
			t.Errorf("violation %q not found in:\n%s", want, got)
		}
	}
	for _, wrong := range []string{"internal/imapserver:", "internal/testcert:"} {
		if strings.Contains(got, wrong) {
			t.Errorf("false violation %q in:\n%s", wrong, got)
		}
	}
}

func TestViolationsKeepTheSuiteApartFromTheStores(t *testing.T) {
	pkgs := []Package{
		{ImportPath: module + "/internal/conformance", Deps: []string{module + "/transfer", module + "/sink/maildir", module + "/internal/dovecot"}},
		{ImportPath: module + "/sink/maildir/maildirtest", Deps: []string{module + "/internal/conformance", module + "/sink/maildir"}},
		{ImportPath: module + "/sink/maildir", Deps: []string{module + "/internal/conformance"}},
	}
	got := strings.Join(Violations(pkgs), "\n")
	for _, want := range []string{
		"internal/conformance imports " + module + "/sink/maildir:",
		"internal/conformance imports " + module + "/internal/dovecot:",
		"sink/maildir imports " + module + "/internal/conformance:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violation %q not found in:\n%s", want, got)
		}
	}
	for _, wrong := range []string{"internal/conformance imports " + module + "/transfer", "maildirtest imports"} {
		if strings.Contains(got, wrong) {
			t.Errorf("false violation %q in:\n%s", wrong, got)
		}
	}
}

func TestViolationsFindKubernetesInTheBinary(t *testing.T) {
	pkgs := []Package{
		{ImportPath: module + "/cmd/mailferry", Deps: []string{"k8s.io/api/batch/v1", "sigs.k8s.io/yaml"}},
		{ImportPath: module + "/deploy/kubernetes", Deps: []string{"k8s.io/api/batch/v1"}},
	}
	got := strings.Join(Violations(pkgs), "\n")
	for _, want := range []string{"cmd/mailferry imports k8s.io/api/batch/v1:", "cmd/mailferry imports sigs.k8s.io/yaml:"} {
		if !strings.Contains(got, want) {
			t.Errorf("violation %q not found in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "deploy/kubernetes") {
		t.Errorf("the manifests' package may use the Kubernetes types:\n%s", got)
	}
}
