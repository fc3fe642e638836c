package imap

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// Put refuses a message larger than the server's APPENDLIMIT or the user's
// limit before sending it, also where the server offers MULTIAPPEND.
func TestPutRefusesWhatIsLargerThanTheLimitsWithoutSending(t *testing.T) {
	for _, multi := range []bool{false, true} {
		putRefusesLarger(t, multi)
	}
}

func putRefusesLarger(t *testing.T, multi bool) {
	for _, tc := range []struct {
		name   string
		server uint32
		user   SizeLimit
		want   string
	}{
		{"APPENDLIMIT", 150, SizeLimit{}, "not sent: the message is 200 bytes, more than the 150 bytes the server accepts (its APPENDLIMIT, RFC 7889)"},
		{"user limit", 0, SizeLimit{Bytes: 120, Why: "--preset gmail"}, "not sent: the message is 200 bytes, more than the 120 bytes allowed by --preset gmail"},
		{"both", 150, SizeLimit{Bytes: 180, Why: "--preset gmail"}, "more than the 150 bytes the server accepts"},
	} {
		srv := startServer(t, imapserver.Options{AppendLimit: tc.server, MultiAppend: multi})
		s := newSink(t, srv.Addr(), nil)
		if (s.batches != nil) != multi {
			t.Fatalf("MULTIAPPEND offered %v, batches used %v", multi, s.batches != nil)
		}
		s.SetSizeLimit(tc.user)
		small := []byte("Subject: small\r\n\r\nok\r\n")
		if err := put(t, s, transfer.Message{Folder: "INBOX", ID: "1", CRLF: true}, small); err != nil {
			t.Fatalf("%s: a small message: %v", tc.name, err)
		}
		large := []byte("Subject: large\r\n\r\n" + strings.Repeat("x", 200-18))
		err := put(t, s, transfer.Message{Folder: "INBOX", ID: "2", CRLF: true}, large)
		if err == nil || !strings.Contains(err.Error(), tc.want) || transfer.ClassOf(err) != transfer.PerMessage {
			t.Errorf("%s: %v (class %v), want a PerMessage refusal containing %q", tc.name, err, transfer.ClassOf(err), tc.want)
		}
		if got := len(dump(t, srv)["INBOX"]); got != 1 {
			t.Errorf("%s: the server holds %d messages, want only the small one", tc.name, got)
		}
	}
}
