package transfer

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestMapFolder(t *testing.T) {
	maps := []FolderMapping{
		{Old: "Sent Items", New: "Sent"},
		{Old: "Archive/2019", New: "Kept"},
		{Pattern: regexp.MustCompile(`Archive/(\d+)`), New: "Old/$1"},
		{Pattern: regexp.MustCompile(`(?P<top>[^/]+)/Drafts`), New: "Drafts/${top}"},
	}
	for in, want := range map[string]string{
		"Sent Items":       "Sent",
		"Sent Items/2020":  "Sent/2020",
		"Archive/2019":     "Kept", // a prefix mapping comes first
		"Archive/2021":     "Old/2021",
		"Archive/2021/Q1":  "", // the pattern must match the whole name
		"Work/Drafts":      "Drafts/Work",
		"INBOX":            "",
		"Archive/abc":      "",
		"XArchive/2021":    "",
		"Archive/2021Beta": "",
	} {
		got, ok := mapFolder(in, maps)
		if want == "" {
			if ok {
				t.Errorf("%q mapped to %q, want unmapped", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%q mapped to %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestStartLargeFirst(t *testing.T) {
	plan := func(sizes ...int64) *folderJob {
		job := &folderJob{}
		for i, n := range sizes {
			job.addTodo(Message{ID: fmt.Sprint(i + 1), Size: n}, 3)
		}
		job.startLargeFirst()
		return job
	}
	ids := func(job *folderJob) string {
		var chunks []string
		for _, chunk := range job.todo {
			var c []string
			for _, m := range chunk {
				c = append(c, m.ID)
			}
			chunks = append(chunks, strings.Join(c, " "))
		}
		return strings.Join(chunks, " | ")
	}
	for _, tc := range []struct {
		name  string
		sizes []int64
		want  string
	}{
		{"a large message last moves to a chunk of its own, first", []int64{10, 10, 10, 10, 10, 10, 10, 1000}, "8 | 1 2 3 | 4 5 6 | 7"},
		{"two large ones, in their order", []int64{500, 10, 10, 10, 10, 900, 10}, "1 | 6 | 2 3 | 4 5 | 7"},
		{"a chunk emptied by it goes", []int64{10, 10, 10, 1000}, "4 | 1 2 3"},
		{"no message outweighs a chunk", []int64{10, 20, 30, 40, 50, 60}, "1 2 3 | 4 5 6"},
		{"one chunk keeps its order", []int64{10, 10, 1000}, "1 2 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := plan(tc.sizes...)
			if got := ids(job); got != tc.want {
				t.Errorf("chunks %q, want %q", got, tc.want)
			}
			if job.todoCount != len(tc.sizes) {
				t.Errorf("todoCount %d, want %d", job.todoCount, len(tc.sizes))
			}
		})
	}
}
