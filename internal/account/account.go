// Package account carries what sources and sinks need to log in to a
// server: the user name and functions that produce secrets on demand, so a
// password is read once and an OAuth2 token is fetched again for every new
// connection.
package account

import "context"

// Credentials identify a user on a server.
type Credentials struct {
	// User is the login name, already percent-decoded.
	User string
	// Password returns the password. Nil when the account uses OAuth2 only.
	Password func(ctx context.Context) (string, error)
	// OAuth2Token returns a fresh bearer token; it is called for every new
	// connection so hour-long tokens do not end long runs. Nil when unused.
	OAuth2Token func(ctx context.Context) (string, error)
}

// StaticPassword returns a Password function that always yields p.
func StaticPassword(p string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return p, nil }
}
