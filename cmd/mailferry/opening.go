package main

import (
	"context"

	"github.com/mailferry/mailferry/transfer"
)

// openingSource is a source being opened in the background: its connection
// and login wait on its server while the run opens the destination and
// reads the state file, which a run with nothing to copy would otherwise
// do one after the other.
type openingSource struct {
	cancel context.CancelFunc
	done   chan struct{}
	src    transfer.Source
	err    error
}

// openInBackground starts opening the source that cfg describes.
func openInBackground(ctx context.Context, cfg endpointConfig) *openingSource {
	octx, cancel := context.WithCancel(ctx)
	o := &openingSource{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.src, o.err = openSource(octx, "source", cfg)
	}()
	return o
}

// opened is a source that is open already.
func opened(src transfer.Source) *openingSource {
	o := &openingSource{cancel: func() {}, done: make(chan struct{}), src: src}
	close(o.done)
	return o
}

// wait returns the open source, or why it could not be opened.
func (o *openingSource) wait() (transfer.Source, error) {
	<-o.done
	return o.src, o.err
}

// close gives up an open still under way (the run ended before it needed
// the source) and closes the source.
func (o *openingSource) close() error {
	select {
	case <-o.done:
	default:
		o.cancel()
	}
	<-o.done
	defer o.cancel()
	if o.src == nil {
		return nil
	}
	return o.src.Close()
}
