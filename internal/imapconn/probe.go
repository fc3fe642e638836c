package imapconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ProbeReport is what `mailferry folders --probe` shows about a server.
type ProbeReport struct {
	Addr     string
	Security string
	// TLSVersion is e.g. "TLS 1.3"; "" for plaintext.
	TLSVersion string
	// Certificate of the server (leaf), when TLS was used.
	CertSubject, CertIssuer string
	CertExpires             time.Time
	// Capabilities after login, sorted.
	Capabilities []string
	// AuthMechanisms the server offers (SASL, from the capabilities).
	AuthMechanisms []string
	// Namespace prefix and hierarchy delimiter of personal folders.
	Prefix string
	Delim  string
	// AppendLimit is the largest message the server accepts (APPENDLIMIT);
	// 0 when it does not say.
	AppendLimit uint32
}

// Probe connects and logs in as opts say and reports what it found.
func Probe(ctx context.Context, opts Options) (*ProbeReport, error) {
	c, err := Dial(ctx, &opts, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := &ProbeReport{Addr: opts.Addr, Security: opts.Security.String(), Prefix: c.Info.Prefix}
	if c.Info.Delim != 0 {
		r.Delim = string(c.Info.Delim)
	}
	if c.TLS != nil {
		r.TLSVersion = tls.VersionName(c.TLS.Version)
		if len(c.TLS.PeerCertificates) > 0 {
			cert := c.TLS.PeerCertificates[0]
			r.CertSubject = cert.Subject.String()
			r.CertIssuer = cert.Issuer.String()
			r.CertExpires = cert.NotAfter
		}
	}
	caps := c.Info.Caps
	for cp := range caps {
		r.Capabilities = append(r.Capabilities, string(cp))
	}
	sort.Strings(r.Capabilities)
	r.AuthMechanisms = c.preAuth.AuthMechanisms()
	sort.Strings(r.AuthMechanisms)
	if limit, ok := caps.AppendLimit(); ok && limit != nil {
		r.AppendLimit = *limit
	}
	return r, nil
}

// String renders the report as aligned lines.
func (r *ProbeReport) String() string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-16s %s\n", k+":", v) }
	line("server", r.Addr)
	line("security", r.Security)
	if r.TLSVersion != "" {
		line("tls", r.TLSVersion)
		line("certificate", fmt.Sprintf("subject %s; issuer %s; expires %s", r.CertSubject, r.CertIssuer, r.CertExpires.Format(time.DateOnly)))
	}
	line("capabilities", strings.Join(r.Capabilities, " "))
	mech := strings.Join(r.AuthMechanisms, " ")
	if mech == "" {
		mech = "(none advertised; LOGIN)"
	}
	line("auth mechanisms", mech)
	d := r.Delim
	if d == "" {
		d = "(none: flat)"
	}
	line("delimiter", d)
	p := r.Prefix
	if p == "" {
		p = `""`
	}
	line("namespace", p)
	if r.AppendLimit > 0 {
		line("appendlimit", fmt.Sprintf("%d bytes", r.AppendLimit))
	} else {
		line("appendlimit", "(not announced)")
	}
	return b.String()
}
