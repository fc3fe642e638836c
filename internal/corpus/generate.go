package corpus

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"
)

// generators build the corpus messages too large to commit. Each is
// deterministic: the same bytes on every call and every machine.
var generators = map[string]func() []byte{
	"attachment-3mb": func() []byte { return Attachment(3<<20, 2019) },
	"long-line":      longLine,
}

// Attachment returns a multipart/mixed message with a short text part and a
// base64 attachment of size random bytes drawn from seed. LF line endings.
func Attachment(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x6d61696c66657272))
	payload := make([]byte, size)
	for i := 0; i < size; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8 && i+k < size; k++ {
			payload[i+k] = byte(v >> (8 * k))
		}
	}
	var b bytes.Buffer
	boundary := fmt.Sprintf("=_att_%d_%d", seed, size)
	fmt.Fprintf(&b, "From: Billing <billing@example.com>\n")
	fmt.Fprintf(&b, "To: finance@example.net\n")
	fmt.Fprintf(&b, "Subject: Invoice archive %d (%d bytes)\n", seed, size)
	fmt.Fprintf(&b, "Date: %s\n", time.Date(2019, 6, 1, 10, 0, 0, 0, time.FixedZone("", 2*3600)).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <attachment.%d.%d@example.com>\n", seed, size)
	fmt.Fprintf(&b, "MIME-Version: 1.0\n")
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n", boundary)
	fmt.Fprintf(&b, "This is a multi-part message in MIME format.\n\n")
	fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=us-ascii\n\nThe archive is attached.\n\n", boundary)
	fmt.Fprintf(&b, "--%s\nContent-Type: application/octet-stream; name=\"archive-%d.bin\"\n", boundary, seed)
	fmt.Fprintf(&b, "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"archive-%d.bin\"\n\n", seed)
	enc := base64.StdEncoding.EncodeToString(payload)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	fmt.Fprintf(&b, "\n\n--%s--\n", boundary)
	return b.Bytes()
}

// longLine is a message whose body is one 200000-byte line.
func longLine() []byte {
	var b bytes.Buffer
	b.WriteString("From: Lars <lars@example.com>\n")
	b.WriteString("To: mona@example.com\n")
	b.WriteString("Subject: one very long line\n")
	b.WriteString("Date: Fri, 11 Nov 2011 11:11:11 -0500\n")
	b.WriteString("Message-ID: <long-line.2011@example.com>\n\n")
	const pattern = "0123456789abcdefghijklmnopqrstuvwxyz From >From "
	for b.Len() < 200000+160 {
		b.WriteString(pattern)
	}
	b.WriteString("\n")
	return b.Bytes()
}
