package dovecot

import (
	"fmt"
	"net"
)

// freePorts asks the kernel for four unused ports on 127.0.0.1. All four
// are held open together so they differ, then released for Dovecot.
func freePorts() (ports, error) {
	var got [4]int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := range got {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("dovecot: finding a free port: %w", err)
		}
		lns = append(lns, ln)
		got[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{imap: got[0], imaps: got[1], pop3: got[2], pop3s: got[3]}, nil
}
