package main

import "context"

// probeIMAP connects to an IMAP endpoint and describes what the server
// offers: capabilities, TLS, login mechanisms.
func probeIMAP(ctx context.Context, c endpointConfig) (string, error) {
	return "", errNotBuilt(c.Endpoint, "--probe")
}
