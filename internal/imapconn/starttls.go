package imapconn

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/mailferry/mailferry/internal/readbuf"
)

// startTLS reads the greeting, asks for STARTTLS and makes the TLS
// handshake on raw. It is done here rather than by go-imap's NewStartTLS so
// that the TLS connection is ours and go-imap runs on a divertConn above
// it, as with implicit TLS (see AppendPipe). Lines are read a byte at a
// time: nothing after the OK may be taken from the socket, as the next
// bytes are the server's TLS handshake.
func startTLS(ctx context.Context, raw net.Conn, cfg *tls.Config, debug io.Writer) (*tls.Conn, error) {
	greeting, err := readPlainLine(raw, debug)
	if err != nil {
		return nil, fmt.Errorf("reading the greeting: %w", err)
	}
	switch {
	case bytes.HasPrefix(greeting, []byte("* PREAUTH")):
		return nil, errors.New("the server logged us in before TLS (PREAUTH), which an attacker could have arranged")
	case !bytes.HasPrefix(greeting, []byte("* OK")):
		return nil, fmt.Errorf("greeting %q", truncate(greeting))
	}
	cmd := []byte("S1 STARTTLS\r\n")
	if debug != nil {
		debug.Write(cmd)
	}
	if _, err := raw.Write(cmd); err != nil {
		return nil, err
	}
	for {
		line, err := readPlainLine(raw, debug)
		if err != nil {
			return nil, err
		}
		r, _, err := parseResponseLine(line)
		if err != nil {
			return nil, err
		}
		if r.Tag != "S1" {
			continue
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		break
	}
	tc := tls.Client(readbuf.New(raw), cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// readPlainLine reads one line, without its CRLF, byte by byte.
func readPlainLine(r io.Reader, debug io.Writer) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 8192 {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			if debug != nil {
				debug.Write(line)
			}
			return bytes.TrimRight(line, "\r\n"), nil
		}
	}
	return nil, errLineTooLong
}
