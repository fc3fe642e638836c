package imapserver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
)

// maxLiteral bounds the literals MoveUIDAfterLiteral buffers.
const maxLiteral = 256 << 20

var (
	literalAtEnd = regexp.MustCompile(`\{([0-9]{1,10})\+?\}\r?\n$`)
	uidItem      = regexp.MustCompile(`(?i)(\(| )UID ([0-9]+)( |\))`)
	fetchStart   = regexp.MustCompile(`(?i)^\* [0-9]+ FETCH \(`)
)

// MoveUIDAfterLiteral copies an IMAP server's responses from server to
// client, moving the UID item of every FETCH response that carries a
// literal to the end of the response, as some servers send it:
// `* 1 FETCH (UID 7 BODY[] {n}…)` becomes `* 1 FETCH (BODY[] {n}… UID 7)`.
// Everything else passes unchanged.
func MoveUIDAfterLiteral(server io.Reader, client io.Writer) error {
	return rewriteResponses(server, client, rewriteFetch)
}

// rewriteResponses copies an IMAP server's responses from server to
// client, each (a line with its literals, in segments) through rewrite.
func rewriteResponses(server io.Reader, client io.Writer, rewrite func(segs [][]byte) []byte) error {
	br := bufio.NewReaderSize(server, 64*1024)
	for {
		resp, err := readResponse(br)
		if len(resp) > 0 {
			if _, werr := client.Write(rewrite(resp)); werr != nil {
				return werr
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// forwardLine writes line, one line a client sent, to server and then the
// literal it announces at its end, if any, read from br: the pass-through
// step of a filter of the client's commands. readErr is the error that
// came with line: the stream then ends (done), cleanly at io.EOF.
func forwardLine(br *bufio.Reader, server io.Writer, line []byte, readErr error) (done bool, err error) {
	if len(line) > 0 {
		if _, err := server.Write(line); err != nil {
			return true, err
		}
	}
	if readErr != nil {
		if readErr == io.EOF {
			return true, nil
		}
		return true, readErr
	}
	if m := literalAtEnd.FindSubmatch(line); m != nil {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if _, err := io.CopyN(server, br, n); err != nil {
			return true, err
		}
	}
	return false, nil
}

// readResponse reads one response line with all its literals.
func readResponse(br *bufio.Reader) ([][]byte, error) {
	var segs [][]byte
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			segs = append(segs, line)
		}
		if err != nil {
			return segs, err
		}
		m := literalAtEnd.FindSubmatch(line)
		if m == nil {
			return segs, nil
		}
		n, _ := strconv.Atoi(string(m[1]))
		if n > maxLiteral {
			return segs, fmt.Errorf("literal of %d bytes too large", n)
		}
		lit := make([]byte, n)
		k, err := io.ReadFull(br, lit)
		segs = append(segs, lit[:k])
		if err != nil {
			return segs, err
		}
	}
}

// rewriteFetch joins the segments of one response, moving the UID item of
// a FETCH response with literals after them. segs alternate line, literal,
// line, …; the first line is where go-imap and most servers put UID.
func rewriteFetch(segs [][]byte) []byte {
	if len(segs) < 3 || !fetchStart.Match(segs[0]) {
		return bytes.Join(segs, nil)
	}
	first := segs[0]
	loc := uidItem.FindSubmatchIndex(first)
	last := segs[len(segs)-1]
	end := bytes.LastIndexByte(last, ')')
	if loc == nil || end < 0 {
		return bytes.Join(segs, nil)
	}
	if first[loc[6]] != ' ' {
		return bytes.Join(segs, nil)
	}
	uid := first[loc[4]:loc[5]]
	// "(UID 7 BODY[] {n}" → "(BODY[] {n}"; " UID 7 X" → " X".
	nf := append(append([]byte(nil), first[:loc[3]]...), first[loc[7]:]...)
	var nl []byte
	nl = append(nl, last[:end]...)
	nl = append(nl, " UID "...)
	nl = append(nl, uid...)
	nl = append(nl, last[end:]...)
	out := append([]byte(nil), nf...)
	for _, s := range segs[1 : len(segs)-1] {
		out = append(out, s...)
	}
	return append(out, nl...)
}

// rewritingListener passes what the server writes on each connection it
// accepts through rewrite on its way to the client (the client's bytes
// reach the server unchanged). It is how Options.UIDAfterLiteral is served
// without a proxy in between.
type rewritingListener struct {
	net.Listener
	rewrite func(server io.Reader, client io.Writer) error
	// request, when set, passes what the client sends through it on its
	// way to the server, the same way.
	request func(client io.Reader, server io.Writer) error
}

func (l *rewritingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := l.rewrite(pr, c)
		// The server's next write fails; the client sees the end.
		pr.CloseWithError(err)
		c.Close()
	}()
	rc := &rewritingConn{Conn: c, w: pw}
	if l.request != nil {
		rpr, rpw := io.Pipe()
		go func() {
			rpw.CloseWithError(l.request(c, rpw))
		}()
		rc.r = rpr
	}
	return rc, nil
}

// rewritingConn is one accepted connection whose writes go to the
// rewriter. Close lets the rewriter send what it holds, then it closes
// the connection.
type rewritingConn struct {
	net.Conn
	w *io.PipeWriter
	r *io.PipeReader // nil when the client's bytes are not rewritten
}

func (c *rewritingConn) Write(p []byte) (int, error) { return c.w.Write(p) }

func (c *rewritingConn) Read(p []byte) (int, error) {
	if c.r == nil {
		return c.Conn.Read(p)
	}
	return c.r.Read(p)
}

func (c *rewritingConn) Close() error { return c.w.Close() }
