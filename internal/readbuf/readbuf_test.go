package readbuf

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/testcert"
)

// countingConn counts the reads of the connection under the buffer.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// TestTLSOverTheBuffer: 4 MiB sent by a TLS server in 8 KiB records arrive
// byte for byte through a TLS client over the buffer.
func TestTLSOverTheBuffer(t *testing.T) {
	cert, err := testcert.New(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	const record = 8 << 10
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
		// One Write per 8 KiB, as Dovecot sends them.
		for off := 0; off < len(payload); off += record {
			if _, err := tc.Write(payload[off:min(off+record, len(payload))]); err != nil {
				return
			}
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tc := tls.Client(New(raw), &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	got, err := io.ReadAll(io.LimitReader(tc, int64(len(payload))))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, not the %d sent", len(got), len(payload))
	}
}

// TestReadsWhatHasArrived: what has arrived is taken in with one read of
// the connection and handed out in the small reads TLS makes (a record
// header, then a record), where reading the connection itself took one
// read each.
func TestReadsWhatHasArrived(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	sent := bytes.Repeat([]byte("r"), Size)
	go server.Write(sent)
	counted := &countingConn{Conn: client}
	c := New(counted)
	var got []byte
	for len(got) < len(sent) {
		p := make([]byte, 5)
		if len(got)%(8<<10+5) != 0 {
			p = make([]byte, 8<<10)
		}
		n, err := c.Read(p[:min(len(p), len(sent)-len(got))])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("read other bytes than were sent")
	}
	if counted.reads != 1 {
		t.Errorf("%d reads of the connection for %d bytes that had arrived; want 1", counted.reads, len(sent))
	}
}
