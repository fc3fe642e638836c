package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapconn"
	imapsink "github.com/mailferry/mailferry/sink/imap"
	maildirsink "github.com/mailferry/mailferry/sink/maildir"
	mboxsink "github.com/mailferry/mailferry/sink/mbox"
	imapsource "github.com/mailferry/mailferry/source/imap"
	maildirsource "github.com/mailferry/mailferry/source/maildir"
	mboxsource "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// endpointConfig is everything needed to open one endpoint.
type endpointConfig struct {
	Endpoint    Endpoint
	Credentials account.Credentials
	TLS         tlsOptions
	Connections int
	// Timeout bounds the connection, the greeting and each command.
	Timeout time.Duration
	Warn    func(string)
	// ReadOnly is a dry run's destination: a local archive is opened to be
	// read, and nothing in it is changed.
	ReadOnly bool
	// DedupeAcrossFolders is --dedupe-across-folders, for a Gmail source.
	DedupeAcrossFolders bool
	// TempDir is --temp-dir: where an IMAP source holds a large body that
	// arrived before its UID.
	TempDir string
	// POP3Sessions is how many sessions a POP3 source may read its
	// maildrop over.
	POP3Sessions int
	// SizeLimit is the largest message an IMAP destination takes, as the
	// user said (--preset); zero for no limit but the server's own.
	SizeLimit imapsink.SizeLimit
}

// ends are the two endpoints of copy or verify and where their secrets
// come from.
type ends struct {
	Source, Dest  Endpoint
	SourceSecrets secretSource
	DestSecrets   secretSource
	TLS           tlsOptions
	Timeout       time.Duration
	// DedupeAcrossFolders is --dedupe-across-folders, for an mbox source.
	DedupeAcrossFolders bool
	// TempDir is --temp-dir, "" for the system's temporary directory:
	// every spool of a run writes its files there.
	TempDir string
	// POP3Sessions is --connections when given, else 1: how many
	// sessions a POP3 source reads its maildrop over.
	POP3Sessions int
}

// prepare readies both ends for opening: it warns about
// --insecure-skip-verify and ?tls=none, checks --ca-file before any
// connection is attempted (a bad one is a configuration error), and gets
// the credentials of the ends that are servers.
func (e ends) prepare(ctx context.Context, connections int, warn func(string), t terminal) (src, dst endpointConfig, err error) {
	if e.TLS.InsecureSkipVerify && (e.Source.IsServer() || e.Dest.IsServer()) {
		fmt.Fprintln(t.stderr, insecureWarning)
	}
	src = endpointConfig{Endpoint: e.Source, TLS: e.TLS, Connections: connections, Timeout: e.Timeout, Warn: warn,
		DedupeAcrossFolders: e.DedupeAcrossFolders, TempDir: e.TempDir, POP3Sessions: e.POP3Sessions}
	dst = endpointConfig{Endpoint: e.Dest, TLS: e.TLS, Connections: connections, Timeout: e.Timeout, Warn: warn, TempDir: e.TempDir}
	if e.Source.IsServer() || e.Dest.IsServer() {
		if err := e.TLS.check(); err != nil {
			return src, dst, err
		}
	}
	if e.Source.IsServer() {
		if src.Credentials, err = credentials(ctx, e.Source, e.SourceSecrets, t, warn); err != nil {
			return src, dst, err
		}
	}
	if e.Dest.IsServer() {
		if dst.Credentials, err = credentials(ctx, e.Dest, e.DestSecrets, t, warn); err != nil {
			return src, dst, err
		}
	}
	// The demo's own servers (a preset password) are in this process.
	if e.SourceSecrets.password == "" {
		warnPlaintext(t.stderr, "source", e.Source)
	}
	if e.DestSecrets.password == "" {
		warnPlaintext(t.stderr, "destination", e.Dest)
	}
	return src, dst, nil
}

// openSource opens a store to read from. role ("source", or "destination"
// for verify) names it in errors.
func openSource(ctx context.Context, role string, c endpointConfig) (transfer.Source, error) {
	ep := c.Endpoint
	switch ep.Scheme {
	case "maildir", "mbox":
		if _, err := os.Stat(ep.Path); err != nil {
			if os.IsNotExist(err) {
				return nil, usageErrorf("%s %s: %s does not exist", role, ep, ep.Path)
			}
			return nil, fmt.Errorf("%s %s: %w", role, ep, err)
		}
		if err := checkFormat(role, ep); err != nil {
			return nil, err
		}
	}
	switch ep.Scheme {
	case "maildir":
		src, err := maildirsource.Open(ep.Path, maildirsource.Options{Layout: ep.Layout, Warn: c.Warn})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", role, ep, err)
		}
		return src, nil
	case "mbox":
		src, err := mboxsource.Open(ep.Path, mboxsource.Options{Warn: c.Warn, DedupeAcrossFolders: c.DedupeAcrossFolders})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", role, ep, err)
		}
		return src, nil
	case "imap", "imaps":
		opts, err := imapOptions(c)
		if err != nil {
			return nil, err
		}
		src, err := openWithRetry(ctx, role+" "+ep.String(), c.Warn, c.timeout(), func() (*imapsource.Source, error) {
			return imapsource.New(ctx, opts)
		})
		if err != nil {
			return nil, openError(role, ep, err)
		}
		src.SetTempDir(c.TempDir)
		src.SetDedupeAcrossFolders(c.DedupeAcrossFolders)
		return src, nil
	case "pop3", "pop3s":
		tlsCfg, err := c.TLS.config(ep.Host)
		if err != nil {
			return nil, err
		}
		src, err := openWithRetry(ctx, role+" "+ep.String(), c.Warn, c.timeout(), func() (*pop3.Source, error) {
			return pop3.New(ctx, pop3.Options{Addr: ep.Addr(), Security: ep.Security, TLSConfig: tlsCfg,
				Credentials: c.Credentials, Timeout: c.timeout(), Warn: c.Warn, Sessions: c.POP3Sessions})
		})
		if err != nil {
			return nil, openError(role, ep, err)
		}
		return src, nil
	}
	return nil, usageErrorf("%s %s: cannot be read (scheme %q)", role, ep, ep.Scheme)
}

// openSink opens a store to copy into.
func openSink(ctx context.Context, c endpointConfig) (transfer.Sink, error) {
	ep := c.Endpoint
	if err := checkFormat("destination", ep); err != nil {
		return nil, err
	}
	switch ep.Scheme {
	case "maildir":
		dst, err := maildirsink.New(ep.Path, maildirsink.Options{Layout: ep.Layout, Warn: c.Warn})
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", ep, err)
		}
		return dst, nil
	case "mbox":
		dst, err := mboxsink.New(ep.Path, mboxsink.Options{Warn: c.Warn, ReadOnly: c.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", ep, err)
		}
		return dst, nil
	case "imap", "imaps":
		opts, err := imapOptions(c)
		if err != nil {
			return nil, err
		}
		dst, err := openWithRetry(ctx, "destination "+ep.String(), c.Warn, c.timeout(), func() (*imapsink.Sink, error) {
			return imapsink.New(ctx, opts)
		})
		if err != nil {
			return nil, openError("destination", ep, err)
		}
		dst.SetSizeLimit(c.SizeLimit)
		return dst, nil
	case "pop3", "pop3s":
		return nil, usageErrorf("destination %s: POP3 can only be read from; copy into imap://, imaps://, maildir: or mbox:", ep)
	}
	return nil, usageErrorf("destination %s: unsupported scheme %q", ep, ep.Scheme)
}

// checkFormat refuses a local endpoint whose path holds the other local
// format, naming the endpoint to write instead: read as mbox, a Maildir has
// no mail, and a copy would report success having copied nothing; written
// as mbox, a Maildir would get .mbox files among its folders. It is a usage
// error, found before anything is created.
func checkFormat(role string, ep Endpoint) error {
	switch {
	case ep.Scheme == "mbox" && maildirsource.IsMaildir(ep.Path):
		return usageErrorf("%s %s: this is a Maildir: write maildir:%s", role, ep, ep.Path)
	case ep.Scheme == "maildir" && mboxsource.IsMbox(ep.Path):
		return usageErrorf("%s %s: this is an mbox archive: write mbox:%s", role, ep, ep.Path)
	}
	return nil
}

// mboxIsSingleFile applies sink/mbox's rule: an existing regular file, or a
// path that does not exist and ends in ".mbox", is one file holding one
// folder; anything else is a directory of mbox files, one per folder.
func mboxIsSingleFile(path string) bool {
	fi, err := os.Stat(path)
	if err == nil {
		return fi.Mode().IsRegular()
	}
	if _, ok := err.(*fs.PathError); ok {
		return strings.HasSuffix(path, ".mbox")
	}
	return false
}

// localMissing reports whether a local destination does not exist yet, so
// a dry run can plan without creating it.
func localMissing(ep Endpoint) bool {
	if ep.IsServer() {
		return false
	}
	_, err := os.Stat(ep.Path)
	return os.IsNotExist(err)
}

// imapOptions is how imapconn reaches and logs in to an IMAP endpoint.
func imapOptions(c endpointConfig) (imapconn.Options, error) {
	tlsCfg, err := c.TLS.config(c.Endpoint.Host)
	if err != nil {
		return imapconn.Options{}, err
	}
	return imapconn.Options{
		Addr:        c.Endpoint.Addr(),
		Security:    c.Endpoint.Security,
		TLSConfig:   tlsCfg,
		Credentials: c.Credentials,
		Connections: c.Connections,
		Timeout:     c.timeout(),
		Warn:        c.Warn,
	}, nil
}

// timeout is --timeout, or its default when none was set (tests build
// endpointConfigs by hand).
func (c endpointConfig) timeout() time.Duration {
	if c.Timeout <= 0 {
		return defaultTimeout
	}
	return c.Timeout
}
