package transfer

import (
	"errors"
	"slices"
	"strings"
)

// event reports e to the run's Progress.
func (r *runner) event(e Event) { r.progress.Event(e) }

// folderFailed handles an error that ended a folder: a PerMessage one fails
// only the folder (counted as one failure), anything else is returned,
// naming the folder.
func (r *runner) folderFailed(ctx interface{ Err() error }, job *folderJob, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if ClassOf(err) != PerMessage {
		var me *MessageError
		if errors.As(err, &me) {
			return err
		}
		return &MessageError{Folder: job.folder.Name, Err: err}
	}
	job.failures.Add(1)
	me := &MessageError{Folder: job.folder.Name, Err: cause(err)}
	r.mu.Lock()
	r.sum.Failed++
	r.folderLocked(job.folder.Name, job.dest).Failed++
	r.sum.Failures = append(r.sum.Failures, me)
	r.mu.Unlock()
	r.event(Event{Kind: EventFailed, Folder: job.folder.Name, Err: me})
	return nil
}

// groupFailed is folderFailed for a plan that failed: every source folder of
// the group is reported, the first error is returned when it is not
// PerMessage.
func (r *runner) groupFailed(ctx interface{ Err() error }, g *destGroup, err error) error {
	for _, job := range g.jobs {
		job.failures.Add(1)
	}
	if ctx.Err() != nil || ClassOf(err) != PerMessage {
		return err
	}
	var me *MessageError
	if errors.As(err, &me) {
		// It names the one folder it concerns.
		dest := g.dest
		for _, job := range g.jobs {
			if job.folder.Name == me.Folder {
				dest = job.dest
			}
		}
		r.mu.Lock()
		r.sum.Failed++
		r.folderLocked(me.Folder, dest).Failed++
		r.sum.Failures = append(r.sum.Failures, me)
		r.mu.Unlock()
		r.event(Event{Kind: EventFailed, Folder: me.Folder, Err: me})
		return nil
	}
	for _, job := range g.jobs {
		_ = r.folderFailed(ctx, job, err)
	}
	return nil
}

// failMessage counts one message as failed.
func (r *runner) failMessage(job *folderJob, m Message, err error) {
	r.failStored(job, m, "", "", err)
}

// failStored counts one message as failed at the destination: dest names
// the destination folder, subject the message (both may be "").
func (r *runner) failStored(job *folderJob, m Message, dest, subject string, err error) {
	job.failures.Add(1)
	me := &MessageError{Folder: job.folder.Name, ID: m.ID, Dest: dest, Subject: subject, Err: cause(err)}
	r.mu.Lock()
	r.sum.Failed++
	r.folderLocked(job.folder.Name, job.dest).Failed++
	r.sum.Failures = append(r.sum.Failures, me)
	r.mu.Unlock()
	r.event(Event{Kind: EventFailed, Folder: job.folder.Name, Message: &m, Err: me})
}

// skipped counts n messages of a folder that are not copied, with why.
func (r *runner) skipped(job *folderJob, n int, why string) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	r.sum.Skipped += n
	r.folderLocked(job.folder.Name, job.dest).Skipped += n
	r.mu.Unlock()
	r.event(Event{Kind: EventSkipped, Folder: job.folder.Name, Count: n, Text: why})
}

// filtered counts n messages of a folder that Since, Before or MaxSize
// leave out; m is the message when there is one (a date known only once
// it was fetched).
func (r *runner) filtered(job *folderJob, n int, m *Message) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	r.sum.Filtered += n
	r.folderLocked(job.folder.Name, job.dest).Filtered += n
	r.mu.Unlock()
	r.event(Event{Kind: EventSkipped, Folder: job.folder.Name, Message: m, Count: n, Text: "filtered"})
}

// folderSeen puts a planned folder into the per-folder counts, so a folder
// with nothing to do is listed too.
func (r *runner) folderSeen(job *folderJob) {
	r.mu.Lock()
	r.folderLocked(job.folder.Name, job.dest)
	r.mu.Unlock()
}

// folderLocked is the per-folder tally of a source folder. Callers hold
// r.mu.
func (r *runner) folderLocked(folder, dest string) *FolderSummary {
	if r.folders == nil {
		r.folders = make(map[string]*FolderSummary)
	}
	f := r.folders[folder]
	if f == nil {
		f = &FolderSummary{Folder: folder, Dest: dest}
		r.folders[folder] = f
	}
	return f
}

// folderSummaries is the per-folder tally, sorted by source folder.
// Callers hold r.mu.
func (r *runner) folderSummaries() []FolderSummary {
	out := make([]FolderSummary, 0, len(r.folders))
	for _, f := range r.folders {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b FolderSummary) int { return strings.Compare(a.Folder, b.Folder) })
	return out
}

// copied counts a message that is durable and journaled.
func (r *runner) copied(it *item) {
	r.mu.Lock()
	r.sum.Copied++
	r.sum.Bytes += it.msg.Size
	f := r.folderLocked(it.job.folder.Name, it.job.dest)
	f.Copied++
	f.Bytes += it.msg.Size
	r.mu.Unlock()
	m := it.msg
	subject := ""
	if it.sp != nil {
		subject = it.sp.subject()
	}
	r.event(Event{Kind: EventCopied, Folder: it.job.folder.Name, Message: &m, Bytes: m.Size, Text: it.job.dest, Subject: subject})
}
