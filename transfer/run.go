package transfer

import (
	"context"
	"errors"
)

// Run copies what is new from src to dst: plan, fetch, put, commit.
// TODO: implementation.
func Run(ctx context.Context, src Source, dst Sink, opts Options) (Summary, error) {
	return Summary{}, errors.New("transfer: not implemented")
}
