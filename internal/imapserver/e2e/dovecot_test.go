package e2e

import (
	"context"
	"crypto/tls"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

func startDovecot(t *testing.T, opts dovecot.Options) *dovecot.Server {
	t.Helper()
	opts.Users = []dovecot.User{{Name: user, Password: password}}
	return dovecot.Start(t, opts)
}

func dovecotOpts(d *dovecot.Server) imapconn.Options {
	return imapconn.Options{
		Addr:        d.IMAPSAddr,
		Security:    account.SecurityTLS,
		TLSConfig:   d.TLSConfig(),
		Credentials: account.Credentials{User: user, Password: account.StaticPassword(password)},
		Timeout:     10 * time.Second,
	}
}

func dumpTLS(t *testing.T, addr string, cfg *tls.Config) []string {
	t.Helper()
	d, err := imapserver.Dump(addr, cfg, user, password)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for f, msgs := range d {
		for _, m := range msgs {
			out = append(out, key(f, m.Flags, m.Date, m.Body))
		}
	}
	sort.Strings(out)
	return out
}

// In-process server ("/") → Dovecot ("." with "INBOX.", Sent called
// "Sent") → in-process server: every message once and byte-identical, with
// flags and dates, in the folders of the same role; re-runs without state
// copy nothing (Dovecot's fingerprints), and Dovecot as a source is left
// unchanged.
func TestDovecotRoundTrip(t *testing.T) {
	msgs := corpus()
	src := startMem(t, imapserver.Options{SpecialUse: map[string]string{"Sent Items": `\Sent`}}, msgs)
	dc := startDovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX.", SpecialUse: map[string]string{"Sent": `\Sent`}})

	sink := newSink(t, dovecotOpts(dc))
	if sum := run(t, newSource(t, connOpts(src.Addr())), sink, "", transfer.Options{}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("to Dovecot: %+v", sum)
	}
	diffKeys(t, "Dovecot", dumpTLS(t, dc.IMAPSAddr, dc.TLSConfig()), corpusKeys(msgs, dotted))
	if sum := run(t, newSource(t, connOpts(src.Addr())), sink, "", transfer.Options{}); sum.Copied != 0 || sum.Failed != 0 {
		t.Errorf("re-run to Dovecot without state: %+v", sum)
	}

	before := dumpTLS(t, dc.IMAPSAddr, dc.TLSConfig())
	back := startMem(t, imapserver.Options{SpecialUse: map[string]string{"Sent Items": `\Sent`}}, nil)
	dcSource := newSource(t, dovecotOpts(dc))
	if sum := run(t, dcSource, newSink(t, connOpts(back.Addr())), statePath(t), transfer.Options{}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("from Dovecot: %+v", sum)
	}
	diffKeys(t, "back from Dovecot", dumpKeys(t, back.Addr(), nil), corpusKeys(msgs, same))
	diffKeys(t, "Dovecot after being read", dumpTLS(t, dc.IMAPSAddr, dc.TLSConfig()), before)
}

// Dovecot ("/") as source with STARTTLS, through the UID FETCH path, into
// Dovecot ("." with "INBOX."): a second Dovecot on its own.
func TestDovecotToDovecotStartTLS(t *testing.T) {
	msgs := corpus()[:12]
	a := startDovecot(t, dovecot.Options{})
	b := startDovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX."})
	// Fill a through the sink.
	fill := startMem(t, imapserver.Options{}, msgs)
	if sum := run(t, newSource(t, connOpts(fill.Addr())), newSink(t, dovecotOpts(a)), "", transfer.Options{}); sum.Copied != len(msgs) {
		t.Fatalf("filling: %+v", sum)
	}
	opts := dovecotOpts(a)
	opts.Addr, opts.Security = a.IMAPAddr, account.SecurityStartTLS
	if sum := run(t, newSource(t, opts), newSink(t, dovecotOpts(b)), "", transfer.Options{}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("%+v", sum)
	}
	diffKeys(t, "second Dovecot", dumpTLS(t, b.IMAPSAddr, b.TLSConfig()), corpusKeys(msgs, func(f string) string {
		if f == "INBOX" {
			return f
		}
		return "INBOX." + strings.ReplaceAll(f, "/", ".")
	}))
}

func TestDovecotLoginFailures(t *testing.T) {
	dc := startDovecot(t, dovecot.Options{})
	opts := dovecotOpts(dc)
	opts.Credentials.Password = account.StaticPassword("wrong")
	start := time.Now()
	_, err := imapconn.NewPool(context.Background(), opts)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), dc.IMAPSAddr) || !strings.Contains(err.Error(), `"alice"`) {
		t.Errorf("wrong password: %v (class %v)", err, transfer.ClassOf(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("wrong password took %v", d)
	}

	opts = dovecotOpts(dc)
	opts.TLSConfig = nil
	_, err = imapconn.NewPool(context.Background(), opts)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), "--ca-file") {
		t.Errorf("self-signed certificate without trust: %v", err)
	}
}

// Connections to Dovecot cut mid-APPEND and mid-FETCH: everything arrives
// exactly once, and no partial message stays in Dovecot.
func TestDovecotFaults(t *testing.T) {
	msgs := corpus()
	dc := startDovecot(t, dovecot.Options{})
	src := startMem(t, imapserver.Options{}, msgs)

	in, err := faultproxy.Start(dc.IMAPAddr, faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 300000, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	opts := dovecotOpts(dc)
	opts.Addr, opts.Security, opts.TLSConfig = in.Addr(), account.SecurityNone, nil
	sink := newSink(t, opts)
	if sum := run(t, newSource(t, connOpts(src.Addr())), sink, statePath(t), transfer.Options{}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("to Dovecot: %+v", sum)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if in.Fired() == 0 {
		t.Error("the APPEND fault never fired")
	}
	diffKeys(t, "Dovecot", dumpTLS(t, dc.IMAPSAddr, dc.TLSConfig()), corpusKeys(msgs, same))

	out, err := faultproxy.Start(dc.IMAPAddr, faultproxy.Fault{Dir: faultproxy.ToClient, Match: []byte("BODY[] {"), After: 300000, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	opts.Addr = out.Addr()
	back := startMem(t, imapserver.Options{}, nil)
	if sum := run(t, newSource(t, opts), newSink(t, connOpts(back.Addr())), statePath(t), transfer.Options{}); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Errorf("from Dovecot: %+v", sum)
	}
	if out.Fired() == 0 {
		t.Error("the FETCH fault never fired")
	}
	diffKeys(t, "back from Dovecot", dumpKeys(t, back.Addr(), nil), corpusKeys(msgs, same))
}
