// Command limits measures what the server itself can give, as the rows a
// client is compared with in bench/run.sh: the fastest a client could
// possibly read or write the same mail over the same connections, with
// no store at its end.
//
//	limits fetch  -addr HOST:PORT -ca FILE -user U -password P [-connections N]
//	limits append -addr HOST:PORT -ca FILE -user U -password P [-connections N] [-batch N] -maildir DIR
//	limits retr   -addr HOST:PORT -ca FILE -user U -password P
//
// fetch: IMAP over TLS, LIST, then per folder EXAMINE and one
// "UID FETCH 1:* (BODY.PEEK[])", all sent at once (the folders spread over
// the connections); the bodies are counted and dropped. append: every
// message file of the Maildir++ tree DIR is APPENDed to its folder with a
// non-synchronizing literal (LITERAL+, RFC 7888), every command written
// without waiting for any answer; with -batch N, N messages of a folder
// go in one command (MULTIAPPEND, RFC 3502), which the server stores in
// one transaction. retr: POP3 over TLS, STAT, then RETR of
// every message, all sent at once (RFC 2449 PIPELINING). Each prints
// "MESSAGES BYTES" and exits 1 with a message on any failure or refusal.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

// options are the flags every measurement takes.
type options struct {
	addr, ca, user, password string
	connections              int
	maildir                  string
	batch                    int
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: limits fetch|append|retr [options]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var o options
	fs.StringVar(&o.addr, "addr", "", "server host:port (TLS)")
	fs.StringVar(&o.ca, "ca", "", "PEM file of the server's CA")
	fs.StringVar(&o.user, "user", "", "user name")
	fs.StringVar(&o.password, "password", "", "password")
	fs.IntVar(&o.connections, "connections", 4, "IMAP connections")
	fs.StringVar(&o.maildir, "maildir", "", "append: the Maildir tree whose messages are sent")
	fs.IntVar(&o.batch, "batch", 1, "append: messages per APPEND command (more than 1: MULTIAPPEND)")
	fs.Parse(os.Args[2:])
	var (
		msgs, bytes int64
		err         error
	)
	switch os.Args[1] {
	case "fetch":
		msgs, bytes, err = fetchAll(o)
	case "append":
		msgs, bytes, err = appendAll(o)
	case "retr":
		msgs, bytes, err = retrAll(o)
	default:
		err = fmt.Errorf("unknown measurement %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "limits "+os.Args[1]+":", err)
		os.Exit(1)
	}
	fmt.Println(msgs, bytes)
}

// dial opens a TLS connection that trusts o.ca, with a deadline that
// bounds the whole measurement.
func dial(o options) (*tls.Conn, *bufio.Reader, error) {
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("%s: no certificate", o.ca)
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, nil, err
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", o.addr, &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Minute))
	return c, bufio.NewReaderSize(c, 256<<10), nil
}

// readLine reads one CRLF line without its line end.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", errors.New("line without CRLF: " + line)
	}
	return line[:len(line)-2], nil
}
