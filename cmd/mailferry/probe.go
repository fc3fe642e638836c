package main

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/internal/imapconn"
)

// probeIMAP connects to an IMAP endpoint and describes what the server
// offers: capabilities, TLS, login mechanisms.
func probeIMAP(ctx context.Context, c endpointConfig) (string, error) {
	opts, err := imapOptions(c)
	if err != nil {
		return "", err
	}
	report, err := imapconn.Probe(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("probing %s: %w", c.Endpoint, err)
	}
	return report.String(), nil
}
