package imapconn

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// ServerInfo is what mailferry knows about a server after the first login.
type ServerInfo struct {
	// Caps are the capabilities after login.
	Caps imap.CapSet
	// Delim is the hierarchy delimiter; 0 when the server has none (flat).
	Delim rune
	// Prefix is the personal namespace prefix, e.g. "INBOX." (Courier,
	// Cyrus, Dovecot with that setting); "" for most servers.
	Prefix string
}

func (info *ServerInfo) withCaps(caps imap.CapSet) *ServerInfo {
	n := *info
	n.Caps = caps
	return &n
}

// learnServer asks NAMESPACE (when offered) and the hierarchy delimiter.
func (c *Conn) learnServer(ctx context.Context) (*ServerInfo, error) {
	info := &ServerInfo{Caps: c.C.Caps(), Delim: '/'}
	haveDelim := false
	if info.Caps.Has(imap.CapNamespace) {
		var ns *imap.NamespaceData
		err := c.Do(ctx, "NAMESPACE", func() error {
			var err error
			ns, err = c.C.Namespace().Wait()
			return err
		})
		if err != nil && !IsResponse(err) {
			return nil, err
		}
		if err == nil && ns != nil && len(ns.Personal) > 0 {
			info.Prefix = ns.Personal[0].Prefix
			info.Delim = ns.Personal[0].Delim
			haveDelim = true
		}
	}
	if !haveDelim {
		var list []*imap.ListData
		err := c.Do(ctx, `LIST "" ""`, func() error {
			var err error
			list, err = c.C.List("", "", nil).Collect()
			return err
		})
		if err != nil && !IsResponse(err) {
			return nil, err
		}
		if len(list) > 0 {
			info.Delim = list[0].Delim
		}
	}
	return info, nil
}

// Replacement is put in place of a character a folder name cannot hold on
// the other side: the server's delimiter inside a transfer name component,
// or "/" inside a server name component.
const Replacement = "_"

// ToServer maps a transfer folder name ("/"-separated UTF-8, "INBOX") to
// the server's name: its delimiter and personal namespace prefix. It
// reports whether a character had to be replaced.
func (info *ServerInfo) ToServer(name string) (server string, replaced bool) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", false
	}
	parts := strings.Split(name, "/")
	if info.Delim != 0 {
		d := string(info.Delim)
		for i, p := range parts {
			if strings.Contains(p, d) {
				parts[i] = strings.ReplaceAll(p, d, Replacement)
				replaced = true
			}
		}
	}
	sep := "/"
	if info.Delim != 0 {
		sep = string(info.Delim)
	} else if len(parts) > 1 {
		replaced = true
		sep = Replacement
	}
	joined := strings.Join(parts, sep)
	if info.Prefix != "" && !strings.HasPrefix(strings.ToUpper(joined), strings.ToUpper(info.Prefix)) {
		joined = info.Prefix + joined
	}
	return joined, replaced
}

// FromServer maps a server folder name, listed with delimiter delim (0 for
// none), to the transfer name. The personal prefix is removed, so
// "INBOX.Sent" on a server with prefix "INBOX." is "Sent".
func (info *ServerInfo) FromServer(name string, delim rune) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if info.Prefix != "" && len(name) > len(info.Prefix) && strings.EqualFold(name[:len(info.Prefix)], info.Prefix) {
		name = name[len(info.Prefix):]
	}
	if delim == 0 || delim == '/' {
		return name
	}
	parts := strings.Split(name, string(delim))
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "/", Replacement)
	}
	return strings.Join(parts, "/")
}

// Parents returns the server names of the ancestors of a server name, the
// outermost first, leaving out the personal prefix itself.
func (info *ServerInfo) Parents(server string) []string {
	if info.Delim == 0 || strings.EqualFold(server, "INBOX") {
		return nil
	}
	d := string(info.Delim)
	rest := server
	base := ""
	if info.Prefix != "" && strings.HasPrefix(strings.ToUpper(server), strings.ToUpper(info.Prefix)) {
		base, rest = server[:len(info.Prefix)], server[len(info.Prefix):]
	}
	parts := strings.Split(rest, d)
	var out []string
	for i := 1; i < len(parts); i++ {
		out = append(out, base+strings.Join(parts[:i], d))
	}
	return out
}

// String describes the naming for messages and --probe.
func (info *ServerInfo) String() string {
	d := "none"
	if info.Delim != 0 {
		d = fmt.Sprintf("%q", string(info.Delim))
	}
	return fmt.Sprintf("delimiter %s, personal prefix %q", d, info.Prefix)
}
