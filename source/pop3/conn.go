package pop3

import (
	"net"
	"sync"
	"time"
)

// deadlineConn gives every Read and Write its own deadline, so a server that
// stops sending in the middle of a response fails the command after timeout
// instead of hanging it forever (go-pop3 sets no deadlines). It remembers the
// first I/O error, which is how a broken connection is told apart from a
// -ERR reply after go-pop3 has turned both into plain errors.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu  sync.Mutex
	err error
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		c.fail(err)
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.fail(err)
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

func (c *deadlineConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// ioErr returns the first I/O error the connection saw, or nil.
func (c *deadlineConn) ioErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// replayConn hands pending bytes to the reader before reading from the
// connection. After the authorization exchange done here, it replays the
// server greeting (and anything read ahead) to go-pop3, which expects to
// read the greeting itself.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// staticDialer is the go-pop3 Dialer that returns a connection already
// dialled, secured and authenticated.
type staticDialer struct{ conn net.Conn }

func (d staticDialer) Dial(network, address string) (net.Conn, error) { return d.conn, nil }
