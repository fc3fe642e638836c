package transfer

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/formats"
)

// selection is what Options choose: which folders (Include, Exclude), where
// each lands (FlattenTo, Map, special-use roles), and which messages (Since,
// Before, MaxSize). Run and Verify apply the same selection.
type selection struct {
	include, exclude []*regexp.Regexp
	since, before    time.Time
	maxSize          int64
	maps             []FolderMapping
	flattenTo        string
}

func newSelection(opts Options) selection {
	return selection{
		include: opts.Include, exclude: opts.Exclude,
		since: opts.Since, before: opts.Before, maxSize: opts.MaxSize,
		maps: opts.Map, flattenTo: opts.FlattenTo,
	}
}

// SelectsFolder reports whether Include and Exclude select the source folder
// name, as Run applies them.
func (o Options) SelectsFolder(name string) bool { return newSelection(o).folder(name) }

// folder applies Include and Exclude to a source folder name.
func (s selection) folder(name string) bool {
	if len(s.include) > 0 {
		ok := false
		for _, re := range s.include {
			if re.MatchString(name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range s.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}

// message applies Since, Before and MaxSize.
func (s selection) message(m Message) bool {
	return s.date(m) && (s.maxSize <= 0 || m.Size <= s.maxSize)
}

// date applies Since and Before; a message of unknown date passes.
func (s selection) date(m Message) bool {
	if m.Date.IsZero() {
		return true
	}
	if !s.since.IsZero() && m.Date.Before(s.since) {
		return false
	}
	return s.before.IsZero() || m.Date.Before(s.before)
}

// filtersDates reports whether Since or Before is set: a message listed
// without a date must then be fetched to be filtered.
func (s selection) filtersDates() bool { return !s.since.IsZero() || !s.before.IsZero() }

// mapped applies FlattenTo and the longest matching Map entry to a source
// folder name; ok is false when neither applies.
func (s selection) mapped(name string) (string, bool) {
	if s.flattenTo != "" {
		return s.flattenTo, true
	}
	return mapFolder(name, s.maps)
}

// mapFolder applies the longest matching prefix mapping to name, else the
// first pattern mapping that matches the whole name.
func mapFolder(name string, maps []FolderMapping) (string, bool) {
	best := -1
	for i, m := range maps {
		if m.Old == "" || m.Pattern != nil {
			continue
		}
		if name != m.Old && !strings.HasPrefix(name, m.Old+"/") {
			continue
		}
		if best < 0 || len(m.Old) > len(maps[best].Old) {
			best = i
		}
	}
	if best < 0 {
		for _, m := range maps {
			if m.Pattern == nil {
				continue
			}
			if match := m.Pattern.FindStringSubmatchIndex(name); match != nil && match[0] == 0 && match[1] == len(name) {
				return string(m.Pattern.ExpandString(nil, m.New, name, match)), true
			}
		}
		return "", false
	}
	m := maps[best]
	return m.New + name[len(m.Old):], true
}

// folderJob is one source folder on its way to one destination folder.
type folderJob struct {
	folder Folder
	dest   string
	// selected are the listed messages that passed the filters: the ones
	// --delete-source may delete once their copies are confirmed. They are
	// kept only for --delete-source (a run without it would hold a second
	// copy of the folder's listing to the end for nothing); selectedCount
	// counts them always, for the folder record.
	selected      []Message
	selectedCount int
	// todo are the messages the plan decided to copy, in chunks of at
	// most ChunkSize, one Fetch each; copyFolder drops a chunk once it is
	// fetched, so the list shrinks as the folder is copied. todoCount is
	// the number of messages in it as planned.
	todo      [][]Message
	todoCount int
	// inFlight counts messages handed to the put workers and not done yet.
	inFlight sync.WaitGroup
	// failures counts what failed in this folder; a folder record (see
	// recordFolders) is written only for a folder without any.
	failures atomic.Int32
	// unchanged: the folder was skipped, its state being the one recorded.
	unchanged bool
	// flagsOnly: only flags changed since the folder record; the plan
	// read the changed ones (FlagChanges), and count is the record's.
	flagsOnly bool
	count     int
}

// addTodo puts m at the end of the todo list. A chunk grows by append, so
// a full chunk of a power-of-two ChunkSize (the default 256) wastes nothing
// and a folder of a few messages takes no more than it needs.
func (job *folderJob) addTodo(m Message, chunkSize int) {
	if n := len(job.todo); n == 0 || len(job.todo[n-1]) >= chunkSize {
		job.todo = append(job.todo, nil)
	}
	last := &job.todo[len(job.todo)-1]
	*last = append(*last, m)
	job.todoCount++
}

// startLargeFirst gives each message that alone outweighs an average
// chunk of the todo list a chunk of its own, ahead of the others, when the
// folder is fetched in more than one chunk. Chunks start in order and run
// side by side, so a large message fetched last is the run's tail: one
// connection streams its 100 MiB while the others have nothing left to do
// (the bench's POP3 INBOX ended with 0.56 s of it). Started first, it
// streams while the other connections fetch the rest. A folder fetched in
// one chunk keeps its order: an mbox written from it stays in the source's
// order.
func (job *folderJob) startLargeFirst() {
	if len(job.todo) < 2 {
		return
	}
	var total int64
	for _, chunk := range job.todo {
		for _, m := range chunk {
			total += m.Size
		}
	}
	mean := total / int64(len(job.todo))
	var large [][]Message
	for i, chunk := range job.todo {
		kept := chunk[:0]
		for _, m := range chunk {
			if m.Size > mean {
				large = append(large, []Message{m})
				continue
			}
			kept = append(kept, m)
		}
		job.todo[i] = kept
	}
	if len(large) == 0 {
		return
	}
	todo := large
	for _, chunk := range job.todo {
		if len(chunk) > 0 {
			todo = append(todo, chunk)
		}
	}
	job.todo = todo
}

// destGroup is one destination folder and every source folder that lands in
// it: they are planned together, so a destination message counts once.
type destGroup struct {
	dest   string
	jobs   []*folderJob
	failed bool
	// shrank: the destination holds fewer messages than the journal
	// records as copied into it.
	shrank bool
	// plan is what planGroup decided, finished once every group is
	// planned (finishGroups): a move joins two groups.
	plan *groupPlan
}

// groupPlan is one group's plan before it becomes the folders' todo lists.
type groupPlan struct {
	entries []*planEntry
	idx     FolderIndex
	gone    []Record
}

// selectFolders lists the source folders, applies the selection and groups
// the chosen ones by destination folder, in source order.
func (r *runner) selectFolders(ctx context.Context) ([]*destGroup, error) {
	var folders []Folder
	err := r.retrier.do(ctx, "", nil, "listing source folders", func() error {
		var err error
		folders, err = r.src.Folders(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing source folders: %w", err)
	}
	rr, _ := r.dst.(RoleResolver)
	pairs, err := pairFolders(ctx, r.sel, folders, rr, r.retrier)
	if err != nil {
		return nil, err
	}
	groups := make([]*destGroup, len(pairs))
	for i, p := range pairs {
		g := &destGroup{dest: p.dest}
		for _, f := range p.sources {
			g.jobs = append(g.jobs, &folderJob{folder: f, dest: p.dest})
		}
		groups[i] = g
	}
	return groups, nil
}

// folderPair is one destination folder and the source folders that land in
// it (several with FlattenTo or overlapping mappings), in source order.
type folderPair struct {
	dest    string
	sources []Folder
}

// pairFolders is the one folder pairing of Run and Verify: it applies the
// selection's Include and Exclude to the source folders and groups the
// chosen ones by destination folder. Run resolves special-use roles with its
// sink, Verify with the destination's folder list (listedRoles); roles may
// be nil.
func pairFolders(ctx context.Context, sel selection, folders []Folder, roles RoleResolver, rt retrier) ([]folderPair, error) {
	var pairs []folderPair
	byDest := make(map[string]int)
	cache := make(map[string]string)
	for _, f := range folders {
		if !sel.folder(f.Name) {
			continue
		}
		dest, err := destFolder(ctx, sel, f, roles, cache, rt)
		if err != nil {
			return nil, err
		}
		i, ok := byDest[dest]
		if !ok {
			i = len(pairs)
			byDest[dest] = i
			pairs = append(pairs, folderPair{dest: dest})
		}
		pairs[i].sources = append(pairs[i].sources, f)
	}
	return pairs, nil
}

// destFolder names the destination folder of a source folder: FlattenTo,
// else the longest matching Map entry (subfolders follow), else the
// destination's folder for the folder's special-use role, else the same
// name. cache keeps the answers per role.
func destFolder(ctx context.Context, sel selection, f Folder, roles RoleResolver, cache map[string]string, rt retrier) (string, error) {
	if dest, ok := sel.mapped(f.Name); ok {
		return dest, nil
	}
	if f.Role == "" || roles == nil {
		return f.Name, nil
	}
	dest, ok := cache[f.Role]
	if !ok {
		var found bool
		err := rt.do(ctx, f.Name, nil, "finding the destination folder for "+f.Role, func() error {
			var err error
			dest, found, err = roles.FolderForRole(ctx, f.Role)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("destination folder for %s (source folder %q): %w", f.Role, f.Name, err)
		}
		if !found {
			dest = ""
		}
		cache[f.Role] = dest
	}
	if dest == "" {
		return f.Name, nil
	}
	return dest, nil
}

// RoleFolder picks a store's folder for a special-use role from its folder
// list: the first folder marked with role, else the first existing folder
// with a common name for it (formats.RoleNames: "Sent Items" for \Sent, …). The IMAP sink
// resolves roles by it when copying, and Verify when it looks for the
// copies, so both pair folders alike.
func RoleFolder(folders []Folder, role string) (string, bool) {
	for _, f := range folders {
		if f.Role != "" && strings.EqualFold(f.Role, role) {
			return f.Name, true
		}
	}
	for r, names := range formats.RoleNames {
		if !strings.EqualFold(r, role) {
			continue
		}
		for _, name := range names {
			for _, f := range folders {
				if strings.EqualFold(f.Name, name) {
					return f.Name, true
				}
			}
		}
	}
	return "", false
}

// listedRoles is a RoleResolver over a store's folder list (RoleFolder).
type listedRoles []Folder

func (l listedRoles) FolderForRole(ctx context.Context, role string) (string, bool, error) {
	name, ok := RoleFolder(l, role)
	return name, ok, ctx.Err()
}
