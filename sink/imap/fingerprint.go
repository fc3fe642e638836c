package imap

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/formats"
)

type imapclientBuffer = imapclient.FetchMessageBuffer

// Fingerprints counts the messages of folder per formats.Fingerprint, from
// one FETCH of INTERNALDATE and BODY.PEEK[HEADER] over the
// whole folder (by sequence number, which go-imap routes whatever the
// order of the items). A folder that does not exist gives an empty map.
func (s *Sink) Fingerprints(ctx context.Context, folder string) (map[string]int, error) {
	f := s.folder(folder)
	out := make(map[string]int)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	exists, err := folderExists(ctx, c, f.server)
	if err != nil || !exists {
		return out, err
	}
	c.Unselected() // a fresh EXAMINE: a cached one may predate new messages
	sel, err := c.Select(ctx, f.server, true)
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", folder, err)
	}
	if sel.NumMessages == 0 {
		return out, nil
	}
	what := fmt.Sprintf("folder %q: FETCH (INTERNALDATE BODY.PEEK[HEADER])", folder)
	end := c.Begin(ctx)
	cmd := c.C.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: sel.NumMessages}}, &imap.FetchOptions{
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}},
	})
	for {
		c.Arm()
		msg := cmd.Next()
		c.Disarm()
		if msg == nil {
			break
		}
		var (
			date   time.Time
			header []byte
		)
		for {
			c.Arm()
			item := msg.Next()
			c.Disarm()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataInternalDate:
				date = it.Time
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					header, err = io.ReadAll(c.WatchedReader(it.Literal))
					if err != nil {
						end()
						c.MarkBroken()
						return nil, c.Err(what, err)
					}
				}
			}
		}
		for _, k := range formats.FingerprintKeys(header, date) {
			out[k]++
		}
	}
	c.Arm()
	err = cmd.Close()
	end()
	if err != nil {
		return nil, c.Err(what, err)
	}
	return out, nil
}
