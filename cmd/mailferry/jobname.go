package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxJobName bounds a job name, so that the file names made of it fit.
const maxJobName = 200

// jobNameFrom is the name of a copy: --job-name when given, else
// "SOURCE → DEST" in their canonical spelling, which is what tells two
// copies apart (and holds no secret: endpoints carry no passwords).
func jobNameFrom(flag string, src, dst Endpoint) (string, error) {
	if flag == "" {
		return src.String() + " → " + dst.String(), nil
	}
	if err := checkJobName(flag); err != nil {
		return "", usageErrorf("--job-name %q: %v", flag, err)
	}
	return flag, nil
}

type jobNameError string

func (e jobNameError) Error() string { return string(e) }

// checkJobName refuses names that would be unreadable in a log or a
// state list.
func checkJobName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return jobNameError("a job name cannot be empty")
	case len(name) > maxJobName:
		return jobNameError("a job name has at most 200 bytes")
	case !utf8.ValidString(name):
		return jobNameError("a job name must be UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return jobNameError("a job name cannot hold control characters")
	}
	return nil
}

// jobFileName is the file name (without extension) that stands for a
// job: the name itself when it is made of letters, digits and . _ - @ +
// only, else those characters with the rest as "_", and a hash of the
// whole name so two names never share a file. "alice-backup" stays
// "alice-backup"; "imaps://alice@host:993 → maildir:/b/alice" becomes
// "imaps_alice@host_993_maildir_b_alice-3f2a9c0d1e7b5a46".
func jobFileName(job string) string {
	var b strings.Builder
	underscore := false
	for _, r := range job {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@+", r)) {
			b.WriteRune(r)
			underscore = false
			continue
		}
		if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	s := strings.Trim(b.String(), "_")
	if len(s) > 100 {
		s = s[:100]
	}
	if s == job && !strings.HasPrefix(s, ".") && s != "" {
		return s
	}
	sum := sha256.Sum256([]byte(job))
	return strings.TrimLeft(s, ".") + "-" + hex.EncodeToString(sum[:8])
}
