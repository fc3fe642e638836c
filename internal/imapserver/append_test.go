package imapserver

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// A client that goes away in the middle of an APPEND literal leaves
// nothing behind (unless KeepPartialAppend asks for it), as real servers
// do: go-imap's literal reader ends early without an error, so the server
// must count the bytes.
func TestBrokenAppendStoresNothing(t *testing.T) {
	for _, keep := range []bool{false, true} {
		s := startTest(t, Options{KeepPartialAppend: keep})
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		expect := func(prefix string) {
			t.Helper()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("waiting for %q: %v", prefix, err)
				}
				if strings.HasPrefix(line, prefix) {
					return
				}
			}
		}
		expect("* OK")
		conn.Write([]byte("a LOGIN alice secret\r\n"))
		expect("a OK")
		conn.Write([]byte("b APPEND INBOX {100}\r\n"))
		expect("+")
		conn.Write([]byte("Subject: cut\r\n\r\nonly a part"))
		conn.Close()

		time.Sleep(200 * time.Millisecond)
		boxes, err := Dump(s.Addr(), nil, "alice", "secret")
		if err != nil {
			t.Fatal(err)
		}
		n := len(boxes["INBOX"])
		if want := map[bool]int{false: 0, true: 1}[keep]; n != want {
			t.Errorf("KeepPartialAppend %v: INBOX holds %d messages after a broken APPEND, want %d", keep, n, want)
		}
	}
}
