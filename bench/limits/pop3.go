package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// retrAll logs in over POP3 with TLS and RETRs every message, all the
// commands sent at once.
func retrAll(o options) (int64, int64, error) {
	c, r, err := dial(o)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	ok := func() (string, error) {
		line, err := readLine(r)
		if err == nil && !strings.HasPrefix(line, "+OK") {
			err = fmt.Errorf("server: %s", line)
		}
		return line, err
	}
	if _, err := ok(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(c, "USER %s\r\n", o.user)
	if _, err := ok(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(c, "PASS %s\r\n", o.password)
	if _, err := ok(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(c, "STAT\r\n")
	stat, err := ok()
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(stat)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("STAT: %s", stat)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("STAT: %s", stat)
	}
	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(c)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "RETR %d\r\n", i)
		}
		written <- w.Flush()
	}()
	var total int64
	for i := 1; i <= n; i++ {
		if _, err := ok(); err != nil {
			return int64(i - 1), total, err
		}
		for lineStart := true; ; {
			line, err := r.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				total += int64(len(line))
				lineStart = false
				continue
			}
			if err != nil {
				return int64(i - 1), total, err
			}
			if lineStart && string(line) == ".\r\n" {
				break
			}
			total += int64(len(line))
			lineStart = true
		}
	}
	// QUIT only now: sent behind the last RETR, it made the server close
	// before the answers were all read, as LOGOUT did over IMAP.
	if err := <-written; err != nil {
		return int64(n), total, err
	}
	fmt.Fprintf(c, "QUIT\r\n")
	_, err = ok()
	return int64(n), total, err
}
