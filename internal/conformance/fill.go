package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

// Fill stores msgs in dst through Put, in local form (Message.CRLF false,
// the bytes exactly as in the corpus), and flushes dst if it is a Flusher.
// It does not close dst.
func Fill(ctx context.Context, dst transfer.Sink, msgs []corpus.Message) error {
	for _, m := range msgs {
		tm := transfer.Message{
			Folder: m.Folder,
			ID:     m.Name,
			Flags:  append([]string(nil), m.Flags...),
			Date:   m.Date,
			Size:   int64(len(m.Body)),
		}
		if err := dst.Put(ctx, tm, bytes.NewReader(m.Body)); err != nil {
			return fmt.Errorf("conformance: fill: put %s into %q: %w", m.Name, m.Folder, err)
		}
	}
	if f, ok := dst.(transfer.Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("conformance: fill: flush: %w", err)
		}
	}
	return nil
}

// FromSample turns sample messages into corpus messages named
// "sample-<index>", so generated corpora run through the same checks.
func FromSample(msgs []sample.Message) []corpus.Message {
	out := make([]corpus.Message, len(msgs))
	for i, m := range msgs {
		out[i] = corpus.Message{
			Name:   "sample-" + strconv.Itoa(i),
			Folder: m.Folder,
			Flags:  m.Flags,
			Date:   m.Date,
			Body:   m.Body,
		}
	}
	return out
}
