package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/mailferry/mailferry/internal/account"
)

// secretSource says where the secrets of one endpoint come from: the values
// of its --X-password-file, --X-password-command and
// --X-oauth2-token-command flags and the name of its environment variable.
type secretSource struct {
	role         string // "source" or "destination", for messages
	flagPrefix   string // "source" or "dest"
	passwordFile string
	passwordCmd  string
	oauth2Cmd    string
	envVar       string
	// envExplicit is whether envVar was named with --X-password-env: then
	// it must be set.
	envExplicit bool
	// otherEnvVar is the other end's password variable, which this end's
	// commands do not see.
	otherEnvVar string
	// password, when set, is used as it is (the demo's own servers).
	password string
}

// terminal is what credentials need from the process: stdin to prompt on and
// stderr to prompt to. Tests replace it.
type terminal struct {
	stdin  *os.File
	stderr io.Writer
	env    func(string) (string, bool)
}

func osTerminal() terminal {
	return terminal{stdin: os.Stdin, stderr: os.Stderr, env: os.LookupEnv}
}

// credentials returns the login of a server endpoint. A password is read
// once, here, so a missing file or a failing command is reported before any
// connection is made; an OAuth2 token command is run again for every
// connection the source or sink opens (see tokenCommand; warn receives its
// retries).
//
// Precedence: --X-password-file, --X-password-command, the environment
// variable, then a prompt when stdin is a terminal. With only an OAuth2
// token command no password is needed.
func credentials(ctx context.Context, ep Endpoint, s secretSource, t terminal, warn func(string)) (account.Credentials, error) {
	cred := account.Credentials{User: ep.User}
	if s.passwordFile != "" && s.passwordCmd != "" {
		return cred, usageErrorf("give either --%s-password-file or --%s-password-command, not both", s.flagPrefix, s.flagPrefix)
	}
	if s.oauth2Cmd != "" {
		tc := &tokenCommand{flag: "--" + s.flagPrefix + "-oauth2-token-command", cmdline: s.oauth2Cmd,
			env: secretCommandEnv(os.Environ(), s.envVar, s.otherEnvVar), stderr: t.stderr, warn: warn}
		cred.OAuth2Token = tc.Token
	}
	var password string
	switch {
	case s.password != "":
		password = s.password
	case s.passwordFile != "":
		b, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return cred, usageErrorf("--%s-password-file: %v", s.flagPrefix, err)
		}
		password = trimSecret(string(b))
		if password == "" {
			return cred, usageErrorf("--%s-password-file %s is empty", s.flagPrefix, s.passwordFile)
		}
	case s.passwordCmd != "":
		p, err := runSecretCommand(ctx, s.passwordCmd, secretCommandEnv(os.Environ(), s.envVar, s.otherEnvVar), t.stderr)
		if err != nil {
			return cred, usageErrorf("--%s-password-command: %v", s.flagPrefix, err)
		}
		password = p
	case s.oauth2Cmd != "":
		return cred, nil
	default:
		if v, ok := t.env(s.envVar); ok && v != "" {
			password = trimSecret(v)
			break
		}
		if s.envExplicit {
			return cred, usageErrorf("--%s-password-env %s: the environment variable is not set", s.flagPrefix, s.envVar)
		}
		if t.stdin == nil || !term.IsTerminal(int(t.stdin.Fd())) {
			return cred, usageErrorf("no password for %s %s: use --%s-password-file FILE, --%s-password-command CMD, "+
				"--%s-oauth2-token-command CMD or the %s environment variable (there is no terminal to ask on)",
				s.role, ep, s.flagPrefix, s.flagPrefix, s.flagPrefix, s.envVar)
		}
		fmt.Fprintf(t.stderr, "Password for %s %s: ", s.role, ep)
		b, err := term.ReadPassword(int(t.stdin.Fd()))
		fmt.Fprintln(t.stderr)
		if err != nil {
			return cred, fmt.Errorf("reading the password for %s %s: %w", s.role, ep, err)
		}
		password = trimSecret(string(b))
	}
	cred.Password = account.StaticPassword(password)
	return cred, nil
}

// trimSecret removes the line ending a file or command adds; other
// whitespace may be part of the secret and stays.
func trimSecret(s string) string { return strings.TrimRight(s, "\r\n") }

// runSecretCommand runs cmdline with sh -c in the environment env and
// returns its output without the trailing line ending. Its stderr goes to
// ours, so a password manager can ask for its passphrase; a command that
// prints nothing is an error.
func runSecretCommand(ctx context.Context, cmdline string, env []string, stderr io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	var out bytes.Buffer
	cmd.Env = env
	cmd.Stdout = &out
	cmd.Stderr = stderr
	cmd.Stdin = os.Stdin
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%q failed: %w", cmdline, err)
	}
	v := trimSecret(out.String())
	if v == "" {
		return "", fmt.Errorf("%q printed nothing", cmdline)
	}
	return v, nil
}

// passwordVars are the environment variables that hold an end's password.
var passwordVars = []string{"MAILFERRY_SOURCE_PASSWORD", "MAILFERRY_DEST_PASSWORD"}

// secretCommandEnv is environ without the password variables of the other
// ends than the one whose variable is own (the defaults, and others, the
// other end's --X-password-env): a source's password command
// (perhaps a script from the old provider's instructions) has no business
// seeing the new provider's password, nor the other way round.
func secretCommandEnv(environ []string, own string, others ...string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if name != own && (slices.Contains(passwordVars, name) || slices.Contains(others, name)) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
