package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/transfer"
)

// sampleSource serves the embedded sample mailbox as a transfer.Source, so
// the demo has mail to copy without any server.
type sampleSource struct {
	msgs []sample.Message
}

var _ transfer.Source = (*sampleSource)(nil)

// sampleRoles gives the sample's well-known folders their special-use role,
// as a server would.
var sampleRoles = map[string]string{"Sent": `\Sent`, "Drafts": `\Drafts`, "Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`}

func (s *sampleSource) Folders(context.Context) ([]transfer.Folder, error) {
	var out []transfer.Folder
	index := map[string]int{}
	for _, m := range s.msgs {
		i, ok := index[m.Folder]
		if !ok {
			i = len(out)
			index[m.Folder] = i
			out = append(out, transfer.Folder{Name: m.Folder, Role: sampleRoles[m.Folder]})
		}
		out[i].Messages++
		out[i].Bytes += int64(len(m.Body))
	}
	return out, nil
}

func (s *sampleSource) List(_ context.Context, folder string) ([]transfer.Message, error) {
	var out []transfer.Message
	for i, m := range s.msgs {
		if m.Folder == folder {
			out = append(out, transfer.Message{
				Folder: folder, ID: fmt.Sprintf("sample-%d", i), Flags: m.Flags,
				Date: m.Date, Size: int64(len(m.Body)), CRLF: true,
			})
		}
	}
	return out, nil
}

func (s *sampleSource) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var i int
		if _, err := fmt.Sscanf(m.ID, "sample-%d", &i); err != nil || i < 0 || i >= len(s.msgs) || s.msgs[i].Folder != folder {
			return transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: m.ID, Err: fmt.Errorf("no such sample message")})
		}
		m.Size = int64(len(s.msgs[i].Body))
		if err := fn(m, bytes.NewReader(s.msgs[i].Body)); err != nil {
			return err
		}
	}
	return nil
}

func (s *sampleSource) Close() error { return nil }
