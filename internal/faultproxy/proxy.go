// Package faultproxy is a loopback TCP proxy for tests that cuts or stalls
// connections at chosen points of the byte stream, so clients can be tested
// against servers that drop mid-transfer or stop answering.
package faultproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
)

// Direction is which way bytes flow through the proxy.
type Direction int

const (
	// ToServer is client → server.
	ToServer Direction = iota
	// ToClient is server → client.
	ToClient
)

// Action is what a fault does.
type Action int

const (
	// Cut closes both sides of the connection.
	Cut Action = iota
	// Stall stops forwarding in both directions but keeps the sockets
	// open, like a server that never answers.
	Stall
)

// Fault describes one failure. It fires in the stream of Dir once Match
// has been seen (immediately when Match is empty) and After more bytes have
// passed. Times bounds how many connections it fires on (0 means every
// connection), so a client that reconnects gets through. The first Skip
// connections pass untouched, so a server can answer a client once and
// then fail it.
type Fault struct {
	Dir    Direction
	Match  []byte
	After  int64
	Action Action
	Times  int
	Skip   int
}

// Proxy forwards connections from its own 127.0.0.1 listener to a target.
type Proxy struct {
	target string
	ln     net.Listener

	mu       sync.Mutex
	faults   []*faultState
	conns    map[net.Conn]bool
	accepted int
	fired    int
	closed   bool
	wg       sync.WaitGroup
}

type faultState struct {
	Fault
	fired int
}

// Start listens on 127.0.0.1 and forwards to target.
func Start(target string, faults ...Fault) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]bool)}
	for _, f := range faults {
		p.faults = append(p.faults, &faultState{Fault: f})
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Fired is how many times any fault has fired.
func (p *Proxy) Fired() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fired
}

// Accepted is how many client connections the proxy has accepted.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		n := p.accepted
		p.mu.Unlock()
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client) || !p.track(server) {
			client.Close()
			server.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(client, server, n)
	}
}

// link is one proxied connection.
type link struct {
	p              *Proxy
	client, server net.Conn
	mu             sync.Mutex
	stalled        bool
	stallCh        chan struct{}
	faults         []*connFault
}

type connFault struct {
	f       *faultState
	matched bool
	tail    []byte // last bytes, to find Match across reads
	passed  int64
	done    bool
}

// serve proxies the n-th accepted connection (counting from 1).
func (p *Proxy) serve(client, server net.Conn, n int) {
	defer p.wg.Done()
	l := &link{p: p, client: client, server: server, stallCh: make(chan struct{})}
	p.mu.Lock()
	for _, f := range p.faults {
		l.faults = append(l.faults, &connFault{f: f, done: n <= f.Skip})
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.pump(ToServer, client, server)
	}()
	go func() {
		defer wg.Done()
		l.pump(ToClient, server, client)
	}()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (l *link) closeBoth() {
	l.client.Close()
	l.server.Close()
}

// pump copies src to dst, applying faults for dir.
func (l *link) pump(dir Direction, src, dst net.Conn) {
	defer l.closeBoth()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			cut, act := l.check(dir, chunk)
			if cut >= 0 {
				if cut > 0 {
					dst.Write(chunk[:cut])
				}
				if act == Stall {
					l.mu.Lock()
					if !l.stalled {
						l.stalled = true
						close(l.stallCh)
					}
					l.mu.Unlock()
					// Keep both sockets open and swallow further input until
					// the proxy closes.
					io.Copy(io.Discard, src)
					return
				}
				return
			}
			l.mu.Lock()
			stalled := l.stalled
			l.mu.Unlock()
			if stalled {
				io.Copy(io.Discard, src)
				return
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// check returns the offset in chunk where a fault fires (or -1) and its
// action.
func (l *link) check(dir Direction, chunk []byte) (int, Action) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	for _, cf := range l.faults {
		f := cf.f
		if cf.done || f.Dir != dir || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		start := 0
		if !cf.matched {
			if len(f.Match) == 0 {
				cf.matched = true
			} else {
				hay := append(append([]byte(nil), cf.tail...), chunk...)
				i := bytes.Index(hay, f.Match)
				if i < 0 {
					keep := len(f.Match) - 1
					if len(hay) > keep {
						hay = hay[len(hay)-keep:]
					}
					cf.tail = hay
					continue
				}
				cf.matched = true
				start = i + len(f.Match) - len(cf.tail)
				if start < 0 {
					start = 0
				}
			}
		}
		avail := int64(len(chunk) - start)
		if cf.passed+avail < f.After {
			cf.passed += avail
			continue
		}
		off := start + int(f.After-cf.passed)
		cf.done = true
		f.fired++
		l.p.fired++
		return off, f.Action
	}
	return -1, Cut
}
