package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/spelling"
)

// Endpoint is a parsed SOURCE or DEST argument: a server account or a local
// archive.
type Endpoint struct {
	// Raw is the argument as the user typed it (never holds a password:
	// parseEndpoint rejects those).
	Raw string
	// Scheme is one of imap, imaps, pop3, pop3s, maildir, mbox.
	Scheme string

	// Server endpoints.
	User     string // percent-decoded
	Host     string
	Port     string
	Security account.Security

	// Local endpoints.
	Path   string // absolute
	Layout string // maildir: "" (Maildir++) or "fs"
}

// endpointForms is shown whenever an endpoint cannot be parsed.
const endpointForms = `valid forms:
  imaps://USER@HOST[:PORT]          IMAP over TLS (port 993)
  imap://USER@HOST[:PORT]           IMAP with STARTTLS, required (port 143); add ?tls=none for plaintext
  pop3s://USER@HOST[:PORT]          POP3 over TLS (port 995)
  pop3://USER@HOST[:PORT]           POP3 with STLS, required (port 110); add ?tls=none for plaintext
  maildir:PATH                      Maildir++ (Dovecot layout); maildir:PATH?layout=fs for nested directories
  mbox:PATH                         a directory of mbox files (one per folder), or one file (*.mbox or existing file)
a user name containing @ is written %40: imaps://alice%40example.com@imap.example.com`

var defaultPorts = map[string]string{"imaps": "993", "imap": "143", "pop3s": "995", "pop3": "110"}

// IsServer reports whether the endpoint is an IMAP or POP3 account.
func (e Endpoint) IsServer() bool { return defaultPorts[e.Scheme] != "" }

// IsIMAP reports whether the endpoint is an IMAP account.
func (e Endpoint) IsIMAP() bool { return e.Scheme == "imap" || e.Scheme == "imaps" }

// Addr is host:port of a server endpoint.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// String is the canonical spelling: the journal's SourceKey and what
// messages show. The user name is percent-encoded again where needed.
func (e Endpoint) String() string {
	if e.IsServer() {
		s := e.Scheme + "://" + url.User(e.User).String() + "@" + e.Addr()
		if e.Security == account.SecurityNone {
			s += "?tls=none"
		}
		return s
	}
	s := e.Scheme + ":" + e.Path
	if e.Layout != "" {
		s += "?layout=" + e.Layout
	}
	return s
}

// endpointError says which argument is wrong, why, and what the valid forms
// are. It is a usage error (exit code 2).
func endpointError(role, raw, why string) error {
	return usageErrorf("%s endpoint %q: %s\n%s", role, raw, why, endpointForms)
}

// parseEndpoint parses a SOURCE or DEST argument. role ("source",
// "destination") names it in errors and in the advice given when a password
// was put into the URL.
func parseEndpoint(role, raw string) (Endpoint, error) {
	if raw == "" {
		return Endpoint{}, endpointError(role, raw, "empty")
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		why := "no scheme"
		if looksLikePath(raw) {
			why = fmt.Sprintf("no scheme; for a local archive write maildir:%s or mbox:%s", raw, raw)
		}
		return Endpoint{}, endpointError(role, raw, why)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "imap", "imaps", "pop3", "pop3s":
		return parseServer(role, raw, scheme)
	case "maildir", "mbox":
		return parseLocal(role, raw, scheme, rest)
	}
	why := fmt.Sprintf("unknown scheme %q", scheme)
	if s := suggestScheme(scheme); s != "" {
		why += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return Endpoint{}, endpointError(role, raw, why)
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~")
}

// suggestScheme returns the known scheme closest to a typo, or "". On a
// tie the one of the same length wins (imasp → imaps, not imap).
func suggestScheme(s string) string {
	best, bestDist := "", 3
	for _, k := range []string{"imap", "imaps", "pop3", "pop3s", "maildir", "mbox"} {
		d := spelling.Distance(s, k)
		if d < bestDist || (d == bestDist && best != "" && len(k) == len(s) && len(best) != len(s)) {
			best, bestDist = k, d
		}
	}
	return best
}

func parseServer(role, raw, scheme string) (Endpoint, error) {
	if !strings.HasPrefix(raw[len(scheme)+1:], "//") {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("expected %s://USER@HOST", scheme))
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse repeats the whole URL; say only what is wrong.
		why := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			why = ue.Err.Error()
		}
		return Endpoint{}, endpointError(role, raw, why)
	}
	ep := Endpoint{Raw: raw, Scheme: scheme}
	if u.User == nil || u.User.Username() == "" {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("no user name; write %s://USER@%s", scheme, u.Host))
	}
	if _, has := u.User.Password(); has {
		flag := "--source"
		env := "MAILFERRY_SOURCE_PASSWORD"
		if role == "destination" {
			flag, env = "--dest", "MAILFERRY_DEST_PASSWORD"
		}
		return Endpoint{}, usageErrorf("%s endpoint: a password in the URL is not accepted: it would show in the process list and in your shell history.\n"+
			"Remove it (%s://%s@%s) and give the password with %s-password-file FILE, %s-password-command CMD, the %s environment variable, or type it at the prompt",
			role, scheme, url.User(u.User.Username()).String(), u.Host, flag, flag, env)
	}
	ep.User = u.User.Username()
	ep.Host = u.Hostname()
	if ep.Host == "" {
		return Endpoint{}, endpointError(role, raw, "no host name")
	}
	ep.Port = u.Port()
	if ep.Port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return Endpoint{}, endpointError(role, raw, "empty port")
		}
		ep.Port = defaultPorts[scheme]
	}
	if n, err := strconv.Atoi(ep.Port); err != nil || n < 1 || n > 65535 {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("port %q is not a number from 1 to 65535", ep.Port))
	}
	if strings.Contains(ep.Host, ":") && net.ParseIP(ep.Host) == nil {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("bad host %q (write an IPv6 address in brackets: [::1])", ep.Host))
	}
	if p := u.Path; p != "" && p != "/" {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("a folder path (%q) is not part of an endpoint; use --include to pick folders", p))
	}
	if u.Fragment != "" {
		return Endpoint{}, endpointError(role, raw, "unexpected #fragment")
	}
	ep.Security = account.SecurityStartTLS
	if scheme == "imaps" || scheme == "pop3s" {
		ep.Security = account.SecurityTLS
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Endpoint{}, endpointError(role, raw, "bad query: "+err.Error())
	}
	for k, vs := range q {
		switch {
		case k == "tls" && len(vs) == 1 && (scheme == "imap" || scheme == "pop3"):
			switch vs[0] {
			case "none":
				ep.Security = account.SecurityNone
			case "starttls":
			default:
				return Endpoint{}, endpointError(role, raw, fmt.Sprintf("tls=%s: only tls=none (plaintext) or tls=starttls (the default) are allowed", vs[0]))
			}
		case k == "tls":
			return Endpoint{}, endpointError(role, raw, fmt.Sprintf("%s always uses TLS; the tls= option is for imap:// and pop3://", scheme))
		default:
			return Endpoint{}, endpointError(role, raw, fmt.Sprintf("unknown option %q", k))
		}
	}
	return ep, nil
}

func parseLocal(role, raw, scheme, rest string) (Endpoint, error) {
	ep := Endpoint{Raw: raw, Scheme: scheme}
	if strings.HasPrefix(rest, "//") {
		// maildir:///abs/path is accepted as a URL spelling of maildir:/abs/path.
		if !strings.HasPrefix(rest, "///") {
			return Endpoint{}, endpointError(role, raw, fmt.Sprintf("write %s:PATH (for example %s:/home/me/Mail or %s:Mail)", scheme, scheme, scheme))
		}
		rest = rest[2:]
	}
	path, query, _ := strings.Cut(rest, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return Endpoint{}, endpointError(role, raw, "bad option: "+err.Error())
		}
		for k, vs := range q {
			switch {
			case k == "layout" && scheme == "maildir" && len(vs) == 1 && (vs[0] == "fs" || vs[0] == "maildir++"):
				if vs[0] == "fs" {
					ep.Layout = "fs"
				}
			case k == "layout" && scheme == "maildir":
				return Endpoint{}, endpointError(role, raw, fmt.Sprintf("layout=%s: use layout=fs for nested directories (the default is Maildir++)", strings.Join(vs, ",")))
			default:
				return Endpoint{}, endpointError(role, raw, fmt.Sprintf("unknown option %q for %s", k, scheme))
			}
		}
	}
	if path == "" {
		return Endpoint{}, endpointError(role, raw, fmt.Sprintf("no path; write %s:PATH", scheme))
	}
	if path == "~" || strings.HasPrefix(path, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return Endpoint{}, endpointError(role, raw, "cannot expand ~: "+err.Error())
		}
		path = filepath.Join(home, path[1:])
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Endpoint{}, endpointError(role, raw, err.Error())
	}
	ep.Path = abs
	return ep, nil
}

// nested reports whether two local endpoints are the same path or one lies
// inside the other (after following symbolic links where they exist). A
// Maildir source reads every file in cur/ and new/, and an mbox directory
// every file: a destination inside it would be read back as mail.
func nested(a, b Endpoint) bool {
	if a.IsServer() || b.IsServer() {
		return false
	}
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	pa, pb := resolve(a.Path), resolve(b.Path)
	inside := func(parent, child string) bool {
		rel, err := filepath.Rel(parent, child)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	return inside(pa, pb) || inside(pb, pa)
}
