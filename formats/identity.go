package formats

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sort"
	"strings"
)

// KeyFields are the header fields an identity key is made of when a message
// has no Message-ID.
var KeyFields = []string{"Message-ID", "Date", "From", "To", "Cc", "Subject", "In-Reply-To", "References"}

// IdentityKey is the cheap half of a message's identity: a hash of its
// Message-ID or, without one, of its KeyFields. It finds candidates; it does
// not prove two messages equal (real mail shares Message-IDs: a message that
// reaches you directly and through a list has one Message-ID and two bodies).
// A ContentDigest confirms whenever the key is ambiguous.
//
// header may be the whole message or its header block: the key is the
// same. The key survives every header rewrite
// ContentDigest tolerates (line endings, 8-bit and NUL bytes replaced), so a
// message stored by a rewriting server still finds its candidates.
func IdentityKey(header []byte) string {
	header = header[:HeaderEnd(header)]
	h := sha256.New()
	fields := headerFields(header)
	if id := MessageID(header); id != "" {
		h.Write([]byte("id\x00"))
		h.Write(neutral8bit([]byte(id)))
		return "k" + hex.EncodeToString(h.Sum(nil)[:12])
	}
	want := make(map[string]bool, len(KeyFields))
	for _, f := range KeyFields {
		want[strings.ToLower(f)] = true
	}
	var kept [][2]string
	for _, f := range fields {
		if want[f[0]] {
			kept = append(kept, [2]string{f[0], strings.Join(strings.Fields(f[1]), " ")})
		}
	}
	// Servers return HEADER.FIELDS in stored order, which is the order of
	// the message; sorting by name (stably) makes the key independent of
	// that detail anyway.
	sort.SliceStable(kept, func(i, j int) bool { return kept[i][0] < kept[j][0] })
	h.Write([]byte("hdr\x00"))
	for _, f := range kept {
		h.Write([]byte(f[0]))
		h.Write([]byte{0})
		h.Write(neutral8bit([]byte(f[1])))
		h.Write([]byte{0})
	}
	return "k" + hex.EncodeToString(h.Sum(nil)[:12])
}

// neutral8bit replaces every byte that a server may rewrite in a header
// (NUL, and any byte of 0x80 or above, which Cyrus 3.6 turns into 'X') with
// 'X'.
func neutral8bit(b []byte) []byte {
	out := b
	copied := false
	for i, c := range b {
		if c == 0 || c >= 0x80 {
			if !copied {
				out = bytes.Clone(b)
				copied = true
			}
			out[i] = 'X'
		}
	}
	return out
}

// Digester computes a ContentDigest and the virtual size of a message
// written to it in any number of pieces. It normalises exactly the rewrites
// servers are known to make when they store a message:
//
//   - line endings: every run of CRs before an LF counts as one line end
//     (LF stores drop the CR, Dovecot turns "\r\r\n" into "\r\n");
//   - in the header block, NUL and every byte of 0x80 or above count as 'X'
//     (Cyrus 3.6 replaces 8-bit header bytes with 'X');
//   - in the body, NUL counts as 0x80 (Dovecot stores NUL as 0x80);
//   - line ends at the very end of the message are not counted (Courier adds
//     a final CRLF to a message without one; mbox cannot hold a message that
//     lacks one).
//
// Two messages get the same digest only when they are equal after these
// rules. See docs/architecture.md for why none of them can merge two
// messages a person would call distinct.
type Digester struct {
	h         hash.Hash
	inBody    bool
	lineEmpty bool  // nothing but CRs since the last LF (or the start)
	crs       int   // CRs seen and not yet written
	ends      int   // line ends seen and not yet written (trailing ones wait)
	vsize     int64 // bytes with every line end counted as CRLF
	// chunk gathers the short runs (lines) for the hash, in chunkBuf: one
	// allocation per Digester, which every message copied makes.
	chunk    []byte
	chunkBuf [1 << 10]byte
}

// NewDigester returns an empty Digester.
func NewDigester() *Digester {
	d := &Digester{h: sha256.New(), lineEmpty: true}
	d.chunk = d.chunkBuf[:0]
	return d
}

// Write adds p to the message. It never fails.
func (d *Digester) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if d.inBody && plainBodyByte(c) {
			// Most of a message is body bytes the rules leave alone:
			// they go to the hash as one run, not one by one.
			j := i + 1 + plainBodyRun(p[i+1:])
			d.flushPending()
			d.writeRun(p[i:j])
			d.vsize += int64(j - i)
			d.lineEmpty = false
			i = j - 1
			continue
		}
		switch c {
		case '\r':
			d.crs++
			continue
		case '\n':
			d.crs = 0
			d.ends++
			d.vsize += 2
			if d.lineEmpty && !d.inBody {
				d.inBody = true
			}
			d.lineEmpty = true
			continue
		}
		d.flushPending()
		if !d.inBody {
			if c == 0 || c >= 0x80 {
				c = 'X'
			}
		} else if c == 0 {
			c = 0x80
		}
		d.chunk = append(d.chunk, c)
		d.vsize++
		d.lineEmpty = false
		if len(d.chunk) == cap(d.chunk) {
			d.h.Write(d.chunk)
			d.chunk = d.chunk[:0]
		}
	}
	return len(p), nil
}

// plainBodyByte reports whether a body byte is hashed as it is.
func plainBodyByte(c byte) bool { return c != '\r' && c != '\n' && c != 0 }

// plainBodyRun returns how many bytes at the start of p are plainBodyBytes.
// It finds the line end and then any CR or NUL before it with
// bytes.IndexByte, which scans many bytes per step, instead of testing
// each byte: the digest sees every byte of every message copied.
func plainBodyRun(p []byte) int {
	end := bytes.IndexByte(p, '\n')
	if end < 0 {
		end = len(p)
	}
	if k := bytes.IndexByte(p[:end], '\r'); k >= 0 {
		end = k
	}
	if k := bytes.IndexByte(p[:end], 0); k >= 0 {
		end = k
	}
	return end
}

// writeRun adds bytes that need no rewriting to the hash, in order after
// what chunk holds.
func (d *Digester) writeRun(run []byte) {
	if len(d.chunk)+len(run) <= cap(d.chunk) {
		d.chunk = append(d.chunk, run...)
		return
	}
	d.h.Write(d.chunk)
	d.chunk = d.chunk[:0]
	if len(run) >= cap(d.chunk) {
		d.h.Write(run)
		return
	}
	d.chunk = append(d.chunk, run...)
}

// flushPending writes the line ends and lone CRs held back, now that
// something follows them.
func (d *Digester) flushPending() {
	for ; d.ends > 0; d.ends-- {
		d.chunk = append(d.chunk, '\n')
		if len(d.chunk) == cap(d.chunk) {
			d.h.Write(d.chunk)
			d.chunk = d.chunk[:0]
		}
	}
	// CRs not followed by an LF are content.
	for ; d.crs > 0; d.crs-- {
		d.chunk = append(d.chunk, '\r')
		d.vsize++
		if len(d.chunk) == cap(d.chunk) {
			d.h.Write(d.chunk)
			d.chunk = d.chunk[:0]
		}
	}
}

// Sum returns the digest of everything written so far.
func (d *Digester) Sum() string {
	h := d.h
	h.Write(d.chunk)
	d.chunk = d.chunk[:0]
	if d.crs > 0 {
		// Trailing CRs without LF: content, as above.
		h.Write(bytes.Repeat([]byte{'\r'}, d.crs))
	}
	return "d" + hex.EncodeToString(h.Sum(nil)[:16])
}

// VirtualSize is the size of the message with every line end counted as
// CRLF: what an IMAP server reports as RFC822.SIZE for it, within the two
// bytes of a final CRLF some servers add.
func (d *Digester) VirtualSize() int64 { return d.vsize + int64(d.crs) }

// ContentDigest returns the digest a Digester computes for msg.
func ContentDigest(msg []byte) string {
	d := NewDigester()
	d.Write(msg)
	return d.Sum()
}

// VirtualSize returns the size of msg with every line end counted as CRLF.
func VirtualSize(msg []byte) int64 {
	d := NewDigester()
	d.Write(msg)
	return d.VirtualSize()
}

// SizesAgree reports whether two virtual sizes of stored copies can belong to
// one message: equal, or apart by the final CRLF a server may add. A
// truncated copy does not agree with the whole message.
func SizesAgree(a, b int64) bool {
	if a <= 0 || b <= 0 {
		return false
	}
	d := a - b
	return d >= -2 && d <= 2
}
