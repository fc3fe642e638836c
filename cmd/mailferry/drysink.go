package main

import (
	"context"
	"errors"

	"github.com/mailferry/mailferry/transfer"
)

// emptySink stands in for a local destination that does not exist yet
// during a dry run, so planning creates nothing on disk. It holds nothing
// and refuses writes.
type emptySink struct{}

var (
	_ transfer.Sink    = emptySink{}
	_ transfer.Indexer = emptySink{}
)

func (emptySink) Put(context.Context, transfer.Message, transfer.Body) error {
	return transfer.FatalError(errors.New("dry run: nothing may be written"))
}

func (emptySink) Index(context.Context, string) (transfer.FolderIndex, error) {
	return transfer.FolderIndex{}, nil
}

func (emptySink) Digests(context.Context, string, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (emptySink) Close() error { return nil }
