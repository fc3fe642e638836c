package conformance

import (
	"context"
	"fmt"
	"sort"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/transfer"
)

// WantFingerprints returns, per destination folder, how many messages of
// want carry each fingerprint key, computed as the Fingerprinter contract
// says: formats.FingerprintKeys of the header of the bytes the store holds
// (Expect.Body) and the date to the second.
func WantFingerprints(want []corpus.Message, e Expect) map[string]map[string]int {
	out := make(map[string]map[string]int)
	for _, m := range want {
		f := e.folder(m.Folder)
		body := e.body(m.Body)
		if out[f] == nil {
			out[f] = make(map[string]int)
		}
		for _, k := range formats.FingerprintKeys(body, m.Date) {
			out[f][k]++
		}
	}
	return out
}

// CheckFingerprints asks a Fingerprinter sink for its counts in every folder
// of want and returns one line per difference.
func CheckFingerprints(ctx context.Context, fp transfer.Fingerprinter, want []corpus.Message, e Expect) ([]string, error) {
	var problems []string
	wantFP := WantFingerprints(want, e)
	names := make(map[string]string)
	for _, m := range want {
		body := e.body(m.Body)
		for _, k := range formats.FingerprintKeys(body, m.Date) {
			names[k] = m.Name
		}
	}
	folders := make([]string, 0, len(wantFP))
	for f := range wantFP {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, folder := range folders {
		got, err := fp.Fingerprints(ctx, folder)
		if err != nil {
			return nil, fmt.Errorf("conformance: Fingerprints(%q): %w", folder, err)
		}
		for k, n := range wantFP[folder] {
			if got[k] != n {
				problems = append(problems, fmt.Sprintf("folder %q: fingerprint %s (%s) counted %d times, want %d", folder, k, names[k], got[k], n))
			}
		}
		for k, n := range got {
			if _, ok := wantFP[folder][k]; !ok {
				problems = append(problems, fmt.Sprintf("folder %q: unexpected fingerprint %s (count %d)", folder, k, n))
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}
