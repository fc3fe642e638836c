package imapserver

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/corpus"
)

func startTest(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Users = []User{{Name: "alice", Password: "secret"}}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func flagStrings(flags []imap.Flag) []string {
	var out []string
	for _, f := range flags {
		out = append(out, string(f))
	}
	sortFlags(out)
	return out
}

// The whole hostile corpus, stored with AddMessage and with APPEND, comes
// back byte for byte from BODY.PEEK[], with its keywords spelled as given
// and RFC822.SIZE the stored length.
func TestWholeMessageBytesAndKeywordsExact(t *testing.T) {
	msgs, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, Options{})
	c := dial(t, s)
	if err := c.Create("Appended", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := s.AddMessage("alice", "Added", m.Flags, m.Date, m.Body); err != nil {
			t.Fatal(err)
		}
		var flags []imap.Flag
		for _, f := range m.Flags {
			flags = append(flags, imap.Flag(f))
		}
		cmd := c.Append("Appended", int64(len(m.Body)), &imap.AppendOptions{Flags: flags, Time: m.Date})
		if _, err := cmd.Write(m.Body); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND %s: %v", m.Name, err)
		}
	}
	for _, folder := range []string{"Added", "Appended"} {
		if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		got, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(msgs) {
			t.Fatalf("%s: %d messages, want %d", folder, len(got), len(msgs))
		}
		for i, m := range msgs {
			g := got[i]
			var body []byte
			for _, b := range g.BodySection {
				body = b.Bytes
			}
			if !bytes.Equal(body, m.Body) {
				t.Errorf("%s %s: BODY[] is %d bytes %.40q, want %d bytes %.40q", folder, m.Name, len(body), body, len(m.Body), m.Body)
			}
			if g.RFC822Size != int64(len(m.Body)) {
				t.Errorf("%s %s: RFC822.SIZE %d, want %d", folder, m.Name, g.RFC822Size, len(m.Body))
			}
			want := append([]string(nil), m.Flags...)
			sortFlags(want)
			if gf := flagStrings(g.Flags); strings.Join(gf, " ") != strings.Join(want, " ") {
				t.Errorf("%s %s: flags %q, want %q", folder, m.Name, gf, want)
			}
			if !g.InternalDate.Equal(m.Date) {
				t.Errorf("%s %s: INTERNALDATE %v, want %v", folder, m.Name, g.InternalDate, m.Date)
			}
		}
	}
}

func TestSectionsAndPartial(t *testing.T) {
	s := startTest(t, Options{})
	body := []byte("From x@y Thu Jan  1 00:00:00 2004\r\nSubject: hi\r\n\r\nbody\r\n")
	plain := []byte("Subject: hi\r\nX-A: b\r\n\r\nbody text\r\n")
	headersOnly := []byte("Subject: only\r\n")
	for _, b := range [][]byte{body, plain, headersOnly} {
		if err := s.AddMessage("alice", "INBOX", nil, time.Time{}, b); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, s)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq     uint32
		section imap.FetchItemBodySection
		want    string
	}{
		{1, imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 5, Size: 9}}, "x@y Thu J"},
		{1, imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 500, Size: 9}}, ""},
		{2, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader}, "Subject: hi\r\nX-A: b\r\n\r\n"},
		{1, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader}, "From x@y Thu Jan  1 00:00:00 2004\r\nSubject: hi\r\n\r\n"},
		{1, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierText}, "body\r\n"},
		{3, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader}, "Subject: only\r\n"},
		{3, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierText}, ""},
		{3, imap.FetchItemBodySection{Peek: true}, "Subject: only\r\n"},
		{2, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierText}, "body text\r\n"},
		{2, imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"X-A"}}, "X-A: b\r\n\r\n"},
	}
	for _, tt := range tests {
		sec := tt.section
		got, err := c.Fetch(imap.SeqSetNum(tt.seq), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{&sec}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].BodySection) != 1 {
			t.Fatalf("%+v: %d responses", tt.section, len(got))
		}
		if b := string(got[0].BodySection[0].Bytes); b != tt.want {
			t.Errorf("message %d %+v = %q, want %q", tt.seq, tt.section, b, tt.want)
		}
	}
	// BODY[] without PEEK sets \Seen and says so.
	got, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || strings.Join(flagStrings(got[0].Flags), " ") != `\Seen` {
		t.Errorf("FETCH BODY[] flags = %v, want \\Seen", got)
	}
}

func TestStoreKeepsKeywordSpelling(t *testing.T) {
	s := startTest(t, Options{})
	if err := s.AddMessage("alice", "INBOX", []string{"Work", `\seen`}, time.Time{}, []byte("Subject: a\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := func(op imap.StoreFlagsOp, flags ...imap.Flag) []string {
		t.Helper()
		got, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: op, Flags: flags}, nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("STORE answered %d FETCH responses, want 1", len(got))
		}
		return flagStrings(got[0].Flags)
	}
	tests := []struct {
		op    imap.StoreFlagsOp
		flags []imap.Flag
		want  string
	}{
		{imap.StoreFlagsAdd, []imap.Flag{"$MailFlagBit0", "WORK"}, `$MailFlagBit0 \Seen Work`},
		{imap.StoreFlagsDel, []imap.Flag{"work", `\SEEN`}, `$MailFlagBit0`},
		{imap.StoreFlagsSet, []imap.Flag{"NonJunk", `\flagged`, `\Recent`}, `\Flagged NonJunk`},
	}
	for _, tt := range tests {
		if got := strings.Join(store(tt.op, tt.flags...), " "); got != tt.want {
			t.Errorf("STORE %v %v: flags %q, want %q", tt.op, tt.flags, got, tt.want)
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fl := flagStrings(sel.Flags); !strings.Contains(strings.Join(fl, " "), "NonJunk") {
		t.Errorf("SELECT FLAGS %v lacks NonJunk", fl)
	}
}

func TestCopyMoveExpungeSearch(t *testing.T) {
	s := startTest(t, Options{})
	bodies := []string{"Subject: one\r\n\r\nalpha\r\n", "no header line\r\n", "Subject: three\r\n"}
	for i, b := range bodies {
		flags := []string{"Keep"}
		if i == 1 {
			flags = append(flags, `\Deleted`)
		}
		if err := s.AddMessage("alice", "INBOX", flags, time.Date(2020, 1, 1+i, 0, 0, 0, 0, time.UTC), []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddMessage("alice", "Other", nil, time.Time{}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	search := func(criteria *imap.SearchCriteria) []imap.UID {
		t.Helper()
		data, err := c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return data.AllUIDs()
	}
	for _, tt := range []struct {
		name     string
		criteria imap.SearchCriteria
		want     []imap.UID
	}{
		{"deleted", imap.SearchCriteria{Flag: []imap.Flag{`\deleted`}}, []imap.UID{2}},
		{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"keep"}}, []imap.UID{1, 2, 3}},
		{"since", imap.SearchCriteria{Since: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)}, []imap.UID{2, 3}},
		{"header", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "THREE"}}}, []imap.UID{3}},
		{"body", imap.SearchCriteria{Body: []string{"alpha"}}, []imap.UID{1}},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Larger: 17}}}, []imap.UID{2, 3}},
	} {
		if got := search(&tt.criteria); !equalUIDs(got, tt.want) {
			t.Errorf("SEARCH %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	cp, err := c.Copy(imap.SeqSetNum(2, 3), "Other").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := cp.DestUIDs.String(); got != "2:3" {
		t.Errorf("COPYUID dest %s, want 2:3", got)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	mv, err := c.Move(imap.SeqSetNum(1), "Other").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := mv.DestUIDs.String(); got != "4" {
		t.Errorf("MOVE dest %s, want 4", got)
	}
	d, err := Dump(s.Addr(), nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	var inbox []string
	for _, m := range d["INBOX"] {
		inbox = append(inbox, string(m.Body))
	}
	if strings.Join(inbox, "|") != bodies[2] {
		t.Errorf("INBOX holds %q, want only %q", inbox, bodies[2])
	}
	var other []string
	for _, m := range d["Other"] {
		other = append(other, string(m.Body)+" "+strings.Join(m.Flags, ","))
	}
	want := []string{"x ", bodies[1] + ` \Deleted,Keep`, bodies[2] + " Keep", bodies[0] + " Keep"}
	if strings.Join(other, "|") != strings.Join(want, "|") {
		t.Errorf("Other holds %q, want %q", other, want)
	}
}

func equalUIDs(a, b []imap.UID) bool {
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServeBodyFault(t *testing.T) {
	stored := []byte("Subject: a\r\n\r\nfull body\r\n")
	s := startTest(t, Options{ServeBody: func(folder string, uid imap.UID, body []byte) []byte {
		if folder == "Lossy" && uid == 1 {
			return nil
		}
		return body
	}})
	for _, f := range []string{"Lossy", "Fine"} {
		if err := s.AddMessage("alice", f, nil, time.Time{}, stored); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Dump(s.Addr(), nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if len(d["Lossy"]) != 1 || len(d["Lossy"][0].Body) != 0 {
		t.Errorf("Lossy served %v, want one empty body", d["Lossy"])
	}
	if len(d["Fine"]) != 1 || !bytes.Equal(d["Fine"][0].Body, stored) {
		t.Errorf("Fine served %v, want the stored body", d["Fine"])
	}
}
