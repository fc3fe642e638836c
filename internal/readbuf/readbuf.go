// Package readbuf puts a read buffer between a TLS client and its socket.
//
// crypto/tls reads the socket a record at a time: to a server that sends
// 8 KiB records (Dovecot), a copy of 726 MB made 90,000 read system calls.
// Below TLS, a buffer takes in at once all that has arrived (up to its
// size), and the records are then decrypted from memory.
//
// It goes under TLS only, never under a plaintext exchange that comes
// before STARTTLS or STLS: bytes buffered there would be taken as the
// server's once TLS began.
package readbuf

import (
	"bufio"
	"net"
)

// Size is the buffer of a Conn: eight of Dovecot's records.
const Size = 64 << 10

// Conn is a net.Conn whose reads go through a buffer. Everything else
// (writes, deadlines, Close) is the underlying connection's.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

// New returns c with a read buffer of Size bytes.
func New(c net.Conn) *Conn {
	return &Conn{Conn: c, r: bufio.NewReaderSize(c, Size)}
}

// Read reads from the buffer, filling it with one read of the connection
// when it is empty.
func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }
