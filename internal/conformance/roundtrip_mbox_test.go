package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/sample"
)

func TestRoundTripMaildirMboxMaildir(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), MboxDir(), Maildir())
}

func TestRoundTripMboxMaildirMbox(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), MboxDir(), Maildir(), MboxDir())
}

func TestRoundTripMaildirMboxFileMaildir(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), MboxFile(), Maildir())
}

func TestRoundTripMboxFileMaildirMboxFile(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), MboxFile(), Maildir(), MboxFile())
}

// A generated corpus: hundreds of realistic messages, threads and
// attachments, CRLF bodies stored as they are.
func TestRoundTripGenerated(t *testing.T) {
	t.Parallel()
	msgs := FromSample(sample.Generate(300, 7, 5000))
	Chain(t, msgs, Maildir(), MboxDir(), Maildir())
}

// The demo mailbox survives every local store.
func TestRoundTripDemoMailbox(t *testing.T) {
	t.Parallel()
	Chain(t, FromSample(sample.Mailbox()), MboxDir(), Maildir(), MboxFile())
}
