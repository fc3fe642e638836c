package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/transfer"
)

func TestRoundTripMaildirLayouts(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), MaildirFS(), Maildir())
}

// Local stores must be able to find what they already hold and say where
// their state file lives; without these a lost state file means duplicates.
func TestLocalSinksAddOns(t *testing.T) {
	t.Parallel()
	for _, s := range localStores {
		t.Run(s.Name, func(t *testing.T) {
			sink, err := s.NewSink(s.Path(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			if _, ok := sink.(transfer.Indexer); !ok {
				t.Error("sink is no transfer.Indexer")
			}
			if _, ok := sink.(transfer.StateLocator); !ok {
				t.Error("sink is no transfer.StateLocator")
			}
		})
	}
}
