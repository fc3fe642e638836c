package dovecot

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// ports are the TCP ports one server listens on, all on 127.0.0.1.
type ports struct {
	imap, imaps, pop3, pop3s int
}

// layout is everything the configuration needs to know about one server.
type layout struct {
	dir        string // the server's private directory
	ports      ports
	separator  string // IMAP hierarchy separator, "/" or "."
	prefix     string // personal namespace prefix, "" or "INBOX" + separator
	specialUse map[string]string
	// introspectionURL, when set, turns on the oauth2 passdb.
	introspectionURL string
	oauth2Mechs      []string // the mechanisms the oauth2 passdb serves
	// maxMailSize, quotaMessages and strictNames are Options.MaxMailSize,
	// QuotaMessages and StrictNames.
	maxMailSize   string
	quotaMessages int
	strictNames   bool
	mbox          bool // mbox files instead of a Maildir
	// pop3KeepsFlags is Options.POP3KeepsFlags.
	pop3KeepsFlags bool
	mailUID        int // owner of the mail files
	mailGID        int
	// unprivileged is set when Dovecot is started by a user other than
	// root: every process then runs as that user, without chroot.
	unprivileged bool
	ownUser      string // that user's name
	ownGroup     string // and primary group
}

func (l *layout) path(name string) string { return filepath.Join(l.dir, name) }

// config renders dovecot.conf. Paths are known to need no quoting (see
// checkPathChars); folder names are quoted.
func (l *layout) config() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("# Private Dovecot for mailferry tests; everything lives under %s.", l.dir)
	p("base_dir = %s", l.path("run"))
	p("state_dir = %s", l.path("state"))
	p("instance_name = %s", filepath.Base(l.dir))
	p("log_path = %s", l.path("dovecot.log"))
	p("auth_verbose = yes")
	p("protocols = imap pop3")
	p("listen = 127.0.0.1")
	p("shutdown_clients = yes")
	p("default_vsz_limit = 1G")
	p("first_valid_uid = 1")
	p("first_valid_gid = 1")
	if l.unprivileged {
		p("default_login_user = %s", l.ownUser)
		p("default_internal_user = %s", l.ownUser)
		p("default_internal_group = %s", l.ownGroup)
	}
	p("")
	p("ssl = yes")
	p("ssl_cert = <%s", l.path("cert.pem"))
	p("ssl_key = <%s", l.path("key.pem"))
	p("ssl_min_protocol = TLSv1.2")
	// Plaintext LOGIN on the non-TLS ports is allowed because STARTTLS and
	// implicit TLS are always offered too; tests that can use TLS do.
	p("disable_plaintext_auth = no")
	// Tests of wrong passwords should not wait the default 2 s.
	p("auth_failure_delay = 0")
	p("")
	if l.introspectionURL == "" {
		p("auth_mechanisms = plain login")
	} else {
		// Each passdb serves its own mechanisms, so a token is never
		// compared with a password and a password never sent to the
		// introspection server.
		mechs := strings.Join(l.oauth2Mechs, " ")
		p("auth_mechanisms = plain login %s", mechs)
		p("passdb {")
		p("  driver = oauth2")
		p("  mechanisms = %s", mechs)
		p("  args = %s", l.path(oauth2ConfFile))
		p("}")
	}
	p("passdb {")
	p("  driver = passwd-file")
	if l.introspectionURL != "" {
		p("  mechanisms = plain login")
	}
	p("  args = scheme=PLAIN %s", l.path("passwd"))
	p("}")
	p("userdb {")
	p("  driver = static")
	p("  args = uid=%d gid=%d home=%s/%%u", l.mailUID, l.mailGID, l.path("mail"))
	p("}")
	p("")
	if l.mbox {
		// As the README tells users to serve a mailferry mbox directory.
		p("mail_location = mbox:~/mbox:INBOX=~/mbox/INBOX")
	} else {
		p("mail_location = maildir:~/Maildir:LAYOUT=maildir++")
	}
	l.plugins(p)
	p("protocol imap {")
	p("  mail_max_userip_connections = 200")
	p("}")
	p("protocol pop3 {")
	p("  mail_max_userip_connections = 200")
	if l.pop3KeepsFlags {
		p("  pop3_no_flag_updates = yes")
	}
	p("}")
	p("")
	p("namespace inbox {")
	p("  inbox = yes")
	p("  separator = %s", l.separator)
	p("  prefix = %s", l.prefix)
	folders := make([]string, 0, len(l.specialUse))
	for f := range l.specialUse {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		// Mailbox names here are relative to the namespace and use its
		// separator.
		p("  mailbox %s {", quote(strings.ReplaceAll(f, "/", l.separator)))
		p("    special_use = %s", l.specialUse[f])
		p("    auto = subscribe")
		p("  }")
	}
	p("}")
	p("")
	l.service(&b, "imap-login", "imap", l.ports.imap, "imaps", l.ports.imaps)
	l.service(&b, "pop3-login", "pop3", l.ports.pop3, "pop3s", l.ports.pop3s)
	// Every client is 127.0.0.1, so Dovecot's per-IP penalty for failed
	// logins (up to 15 s each) would make one test's wrong password slow
	// down the next; without its socket the auth process skips it.
	p("service anvil {")
	if l.unprivileged {
		p("  chroot = ")
	}
	p("  unix_listener anvil-auth-penalty {")
	p("    mode = 0")
	p("  }")
	p("}")
	if l.unprivileged {
		p("service auth-worker {")
		p("  user = $default_internal_user")
		p("}")
	}
	return b.String()
}

// oauth2ConfFile is the oauth2 passdb's own configuration file.
const oauth2ConfFile = "dovecot-oauth2.conf.ext"

// oauth2Config renders the oauth2 passdb's configuration: every token is
// checked by POSTing it to the introspection URL (RFC 7662), which names
// the user and says whether the token is active.
func (l *layout) oauth2Config() string {
	return "introspection_mode = post\n" +
		"introspection_url = " + l.introspectionURL + "\n" +
		"force_introspection = yes\n" +
		"username_attribute = username\n" +
		"active_attribute = active\n" +
		"active_value = true\n"
}

// plugins configures listescape (unless strictNames) and the quota
// plugin when a limit is set.
func (l *layout) plugins(p func(string, ...any)) {
	// The listescape plugin is for Maildir++ names; an mbox directory is
	// served as the README configures it, without plugins.
	escape := !l.strictNames && !l.mbox
	var plugins []string
	if escape {
		plugins = append(plugins, "listescape")
	}
	quota := l.maxMailSize != "" || l.quotaMessages > 0
	if quota {
		plugins = append(plugins, "quota")
	}
	p("mail_plugins = %s", strings.Join(plugins, " "))
	p("plugin {")
	if escape {
		p(`  listescape_char = "\\"`)
	}
	if quota {
		// The count backend keeps no file of its own; it needs virtual
		// sizes, which Dovecot then keeps in its index.
		p("  quota = count:User quota")
		p("  quota_vsizes = yes")
		if l.quotaMessages > 0 {
			p("  quota_rule = *:messages=%d", l.quotaMessages)
		}
		if l.maxMailSize != "" {
			p("  quota_max_mail_size = %s", l.maxMailSize)
		}
	}
	p("}")
}

func (l *layout) service(b *strings.Builder, name, plain string, plainPort int, tls string, tlsPort int) {
	fmt.Fprintf(b, "service %s {\n", name)
	if l.unprivileged {
		b.WriteString("  chroot = \n")
	}
	fmt.Fprintf(b, "  inet_listener %s {\n    address = 127.0.0.1\n    port = %d\n  }\n", plain, plainPort)
	fmt.Fprintf(b, "  inet_listener %s {\n    address = 127.0.0.1\n    port = %d\n    ssl = yes\n  }\n", tls, tlsPort)
	b.WriteString("}\n")
}

// quote renders s as a double-quoted Dovecot configuration value.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// checkPathChars refuses directories whose names would need quoting in
// dovecot.conf (ssl_cert = <PATH cannot be quoted).
func checkPathChars(dir string) error {
	for _, r := range dir {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("/._-+", r):
		default:
			return fmt.Errorf("dovecot: temporary directory %q contains %q, which dovecot.conf cannot hold unquoted; set TMPDIR to a plain path", dir, r)
		}
	}
	return nil
}
