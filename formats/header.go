package formats

import (
	"bytes"
	"strings"
)

// HeaderEnd returns the length of the header block of msg including the
// blank line that ends it, or len(msg) if there is none. A blank line is an
// LF with nothing but CRs before it ("\n", "\r\n", "\r\r\n"): stores keep
// runs of CRs before a line end apart differently (see ToLF), and the header
// must end at the same line in every store's copy.
func HeaderEnd(msg []byte) int {
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			return len(msg)
		}
		if len(bytes.TrimLeft(msg[i:i+j], "\r")) == 0 {
			return i + j + 1
		}
		i += j + 1
	}
	return len(msg)
}

// headerFields splits a header block into unfolded fields, each as
// lower-case name and raw value with line endings removed.
func headerFields(header []byte) [][2]string {
	var fields [][2]string
	for _, line := range strings.Split(string(header), "\n") {
		// Any run of CRs before a line end counts as nothing: stores keep
		// "\r\r\n", "\r\n" and "\n" apart differently (see ToLF).
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1][1] += line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			fields = append(fields, [2]string{"", line})
			continue
		}
		fields = append(fields, [2]string{strings.ToLower(strings.TrimSpace(name)), value})
	}
	return fields
}

// MessageID returns the Message-ID of a header block, trimmed of white
// space and angle brackets, or "" if there is none.
func MessageID(header []byte) string {
	for _, f := range headerFields(header[:HeaderEnd(header)]) {
		if f[0] == "message-id" {
			id := strings.TrimSpace(f[1])
			id = strings.TrimPrefix(id, "<")
			id = strings.TrimSuffix(id, ">")
			return strings.TrimSpace(id)
		}
	}
	return ""
}
