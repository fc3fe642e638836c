package imap

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

func TestPutRefusesWhatIsLargerThanTheLimitsWithoutSending(t *testing.T) {
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
		srv := startServer(t, imapserver.Options{AppendLimit: tc.server})
		s := newSink(t, srv.Addr(), nil)
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
