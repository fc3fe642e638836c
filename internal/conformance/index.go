package conformance

import (
	"context"
	"fmt"
	"sort"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/transfer"
)

// WantIndex returns, per destination folder, how many messages of want
// carry each identity key and content digest, computed from the bytes the
// store holds (Expect.Body).
func WantIndex(want []corpus.Message, e Expect) map[string]map[string]int {
	out := make(map[string]map[string]int)
	for _, m := range want {
		f := e.folder(m.Folder)
		body := e.body(m.Body)
		if out[f] == nil {
			out[f] = make(map[string]int)
		}
		out[f][indexEntry(formats.IdentityKey(body), formats.ContentDigest(body))]++
	}
	return out
}

func indexEntry(key, digest string) string { return key + " " + digest }

// CheckIndex asks an Indexer sink for its index and digests in every folder
// of want and returns one line per difference.
func CheckIndex(ctx context.Context, ix transfer.Indexer, want []corpus.Message, e Expect) ([]string, error) {
	var problems []string
	wantIdx := WantIndex(want, e)
	names := make(map[string]string)
	for _, m := range want {
		body := e.body(m.Body)
		names[indexEntry(formats.IdentityKey(body), formats.ContentDigest(body))] = m.Name
	}
	folders := make([]string, 0, len(wantIdx))
	for f := range wantIdx {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, folder := range folders {
		idx, err := ix.Index(ctx, folder)
		if err != nil {
			return nil, fmt.Errorf("conformance: Index(%q): %w", folder, err)
		}
		refs := make([]string, len(idx.Messages))
		for i, m := range idx.Messages {
			refs[i] = m.Ref
		}
		digests, err := ix.Digests(ctx, folder, refs)
		if err != nil {
			return nil, fmt.Errorf("conformance: Digests(%q): %w", folder, err)
		}
		got := make(map[string]int)
		for _, m := range idx.Messages {
			got[indexEntry(m.Key, digests[m.Ref])]++
		}
		for k, n := range wantIdx[folder] {
			if got[k] != n {
				problems = append(problems, fmt.Sprintf("folder %q: key and digest %s (%s) indexed %d times, want %d", folder, k, names[k], got[k], n))
			}
		}
		for k, n := range got {
			if _, ok := wantIdx[folder][k]; !ok {
				problems = append(problems, fmt.Sprintf("folder %q: unexpected key and digest %s (count %d)", folder, k, n))
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}
