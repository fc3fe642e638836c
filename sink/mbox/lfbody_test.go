package mbox

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
)

// TestLFBody: the LF view of a CRLF body has ToLF's length and bytes, read
// as the mbox writer reads it (the header, then all of it from the start),
// at any offset, and in pieces that split CRLF pairs.
func TestLFBody(t *testing.T) {
	crlf := "Subject: x\r\nA: b\r\n\r\n" + strings.Repeat("body line\r\n", 9000) + "lone\rcr\r\r\nend\r"
	want := formats.ToLF([]byte(crlf))
	lf, err := newLFBody(strings.NewReader(crlf))
	if err != nil {
		t.Fatal(err)
	}
	if lf.Size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", lf.Size(), len(want))
	}
	for pass := range 2 {
		var got bytes.Buffer
		buf := make([]byte, 4093) // odd, so pieces end between CR and LF
		for off := int64(0); ; {
			n, err := lf.ReadAt(buf, off)
			got.Write(buf[:n])
			off += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("pass %d: ReadAt(%d): %v", pass, off, err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("pass %d: LF view differs from ToLF", pass)
		}
	}
	for _, off := range []int64{int64(len(want)) - 10, 17, 5000, 0} {
		p := make([]byte, 10)
		n, err := lf.ReadAt(p, off)
		if n != 10 || (err != nil && err != io.EOF) || !bytes.Equal(p, want[off:off+10]) {
			t.Errorf("ReadAt(%d) = %d %v %q, want %q", off, n, err, p[:n], want[off:off+10])
		}
	}
}
