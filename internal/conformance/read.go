package conformance

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mailferry/mailferry/transfer"
)

// Got is one message as read back from a store.
type Got struct {
	Folder string
	ID     string
	Flags  []string
	Date   time.Time
	Body   []byte
	// CRLF is the form the source declared for Body.
	CRLF bool
}

// ReadAll reads every message of every folder of src. It enforces the Source
// contract on the way and returns an error naming the folder and message
// when it is broken: IDs unique within a folder, every listed message
// fetched exactly once, the Size passed to Fetch's callback equal to the
// reader's length, folder names matching.
func ReadAll(ctx context.Context, src transfer.Source) ([]Got, error) {
	folders, err := src.Folders(ctx)
	if err != nil {
		return nil, fmt.Errorf("conformance: Folders: %w", err)
	}
	var all []Got
	seenFolder := make(map[string]bool)
	for _, f := range folders {
		if seenFolder[f.Name] {
			return nil, fmt.Errorf("conformance: folder %q listed twice", f.Name)
		}
		seenFolder[f.Name] = true
		list, err := src.List(ctx, f.Name)
		if err != nil {
			return nil, fmt.Errorf("conformance: List %q: %w", f.Name, err)
		}
		listed := make(map[string]bool, len(list))
		for _, m := range list {
			if m.ID == "" || listed[m.ID] {
				return nil, fmt.Errorf("conformance: folder %q: message ID %q empty or listed twice", f.Name, m.ID)
			}
			listed[m.ID] = true
		}
		fetched := make(map[string]bool, len(list))
		err = src.Fetch(ctx, f.Name, list, func(m transfer.Message, r io.Reader) error {
			body, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("reading message %s: %w", m.ID, err)
			}
			switch {
			case !listed[m.ID]:
				return fmt.Errorf("fetched message %s that List did not return", m.ID)
			case fetched[m.ID]:
				return fmt.Errorf("message %s fetched twice", m.ID)
			case m.Size != int64(len(body)):
				return fmt.Errorf("message %s: Size %d, but the reader gave %d bytes", m.ID, m.Size, len(body))
			case m.Folder != f.Name:
				return fmt.Errorf("message %s: Folder %q in folder %q", m.ID, m.Folder, f.Name)
			}
			fetched[m.ID] = true
			all = append(all, Got{
				Folder: f.Name,
				ID:     m.ID,
				Flags:  append([]string(nil), m.Flags...),
				Date:   m.Date,
				Body:   body,
				CRLF:   m.CRLF,
			})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("conformance: Fetch %q: %w", f.Name, err)
		}
		if len(fetched) != len(list) {
			return nil, fmt.Errorf("conformance: folder %q: listed %d messages, fetched %d", f.Name, len(list), len(fetched))
		}
	}
	return all, nil
}
