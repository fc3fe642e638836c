package main

import (
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
