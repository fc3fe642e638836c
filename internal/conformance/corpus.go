package conformance

import (
	"sync"
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
)

var (
	corpusOnce sync.Once
	corpusMsgs []corpus.Message
	corpusErr  error
)

// Corpus returns the hostile corpus (testdata/hostile), loaded once per
// test binary. The slice is the caller's; the bodies are shared and must
// not be modified.
func Corpus(t testing.TB) []corpus.Message {
	t.Helper()
	corpusOnce.Do(func() { corpusMsgs, corpusErr = corpus.Load() })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return append([]corpus.Message(nil), corpusMsgs...)
}
